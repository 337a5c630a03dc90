"""Train and evaluate the arousal model. Run `python MAIN_arousal.py --help` for the options."""

import sys

from emoreco.cli import main_arousal

if __name__ == "__main__":
    sys.exit(main_arousal())
