"""The command line, `python -m mmzoo`: `commands` parses and dispatches, `predict` runs one example,
`tables` runs a whole CSV (`evaluate --data`, `predict --data`), `own_data` trains on one (`train --data`)."""

from mmzoo.cli.commands import main

__all__ = ["main"]
