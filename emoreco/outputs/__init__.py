"""Layer 4, the files people read: tables (CSV, Parquet, JSON), PNG pictures and the
interactive HTML page, each derived from the targets, and the live page of
``emoreco listen --serve``.

Imports ``emoreco.core`` and ``emoreco.model``. matplotlib is imported only to draw
pictures, pyarrow only for Parquet (the ``catalog`` extra).
"""
