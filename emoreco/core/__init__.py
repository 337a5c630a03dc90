"""Layer 1, the foundations every other package uses: parameters (``config``), errors,
digests, crash-safe files (``atomic``), the engine that runs per-song work (this process
or Dask), the optional extras, and the facts of the DEAM dataset.

Imports nothing else of emoreco. Installed with the core install.
"""
