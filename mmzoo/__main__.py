"""`python -m mmzoo` entry point."""

import sys

from mmzoo.cli import main

sys.exit(main())
