"""`python -m benchmarks.accuracy`: see `benchmarks/accuracy/__init__.py` for the protocol and the flags."""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main())
