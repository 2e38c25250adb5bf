"""`python -m mmzoo` entry point."""

import sys

from mmzoo.cli.commands import main, quiet_tensorflow_logs

quiet_tensorflow_logs()
sys.exit(main())
