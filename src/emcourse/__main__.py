"""``python -m emcourse``: the same command line as the ``emcourse`` script."""

import sys

from emcourse.cli import main

if __name__ == "__main__":
    sys.exit(main())
