"""Train and evaluate the valence model. Run `python MAIN_valence.py --help` for the options."""

import sys

from emoreco.cli import main_valence

if __name__ == "__main__":
    sys.exit(main_valence())
