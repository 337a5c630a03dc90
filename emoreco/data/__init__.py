"""Layer 3, data and corpora: the corpus kinds (``sources``: DEAM, PMEmo, the user's CSV)
and their annotation files, the feature cache and its extraction, what a model was
trained on (``provenance``), the DEAM download (``fetch``) and the synthetic demo corpora
(``demo``).

Imports only ``emoreco.core`` and ``emoreco.audio`` (never ``emoreco.model``). Reading
annotations needs pandas (the ``training`` extra); ``provenance`` and ``fetch`` do not.
"""
