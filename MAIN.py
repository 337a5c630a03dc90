"""Predict valence and arousal curves of songs. Run `python MAIN.py --help` for the options."""

import sys

from emoreco.cli import main_predict

if __name__ == "__main__":
    sys.exit(main_predict())
