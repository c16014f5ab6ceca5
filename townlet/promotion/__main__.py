"""``python -m townlet.promotion`` is the same tool as ``python -m townlet.promote``."""

import sys

from townlet.promote import main

if __name__ == "__main__":
    sys.exit(main())
