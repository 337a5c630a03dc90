"""Layer 3, data and corpora: DEAM annotation files, corpus layouts, the feature cache
and its extraction, what a model was trained on (``provenance``), the DEAM download
(``fetch``) and the synthetic demo corpus (``demo``).

Imports only ``emoreco.core`` and ``emoreco.audio`` (never ``emoreco.model``). Reading
annotations needs pandas (the ``training`` extra); ``provenance`` and ``fetch`` do not.
"""
