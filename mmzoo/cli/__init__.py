"""The command line, `python -m mmzoo`: `commands` parses and dispatches, `predict` runs one example."""

from mmzoo.cli.commands import main

__all__ = ["main"]
