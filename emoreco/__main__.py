"""``python -m emoreco``: see :func:`emoreco.cli.main_module`."""

import sys

from emoreco.cli import main_module

if __name__ == "__main__":
    sys.exit(main_module())
