"""Helpers for writing notebook cells as plain triple-quoted text (dedented, outer blank lines dropped)."""

import textwrap

from nbformat.v4 import new_code_cell, new_markdown_cell


def _text(source):
    return textwrap.dedent(source).strip("\n")


def md(source):
    """A markdown cell."""
    return new_markdown_cell(_text(source))


def code(source):
    """A code cell."""
    return new_code_cell(_text(source))


def parameters(source):
    """A code cell tagged `parameters`: the settings the tests replace with small ones (papermill style)."""
    cell = new_code_cell(_text(source))
    cell.metadata["tags"] = ["parameters"]
    return cell
