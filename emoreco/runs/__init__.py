"""Layer 5, prediction runs: which files (``inputs``), the resumable run over any number
of songs (``catalog``: the work of ``MAIN.py``), its crash-safe parts (``parts``) and the
output folder it commits as one set (``output_set``), and live curves (``listen``: the
work of ``emoreco listen``; ``live_server``: its page and events).

Imports the layers below, never ``emoreco.training``.
"""
