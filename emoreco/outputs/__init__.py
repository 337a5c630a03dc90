"""Layer 4, the files people read: tables (CSV, Parquet, JSON), PNG pictures and the
interactive HTML page, each derived from the targets.

Imports ``emoreco.core`` and ``emoreco.model``. matplotlib is imported only to draw
pictures, pyarrow only for Parquet (the ``catalog`` extra).
"""
