"""`python -m benchmarks.generation`: see the package docstring."""

import sys

from .harness import main

if __name__ == "__main__":
    sys.exit(main())
