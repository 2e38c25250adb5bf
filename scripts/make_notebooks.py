"""Writes the notebooks in notebooks/ from the cell lists in scripts/notebooks/<name>.py (outputs stripped).

Edit the cells there, then run `python scripts/make_notebooks.py`. Each module
holds `CELLS`; exactly one cell is tagged `parameters` (the settings
tests/test_notebooks.py replaces with small ones). `tests/test_notebooks.py`
checks that the committed notebooks are what this script writes.
"""

import importlib
import os
import sys

import nbformat
from nbformat.v4 import new_notebook

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
HERE = os.path.join(SCRIPTS, "..", "notebooks")
NAMES = ("quickstart", "zoo_tour", "own_data_csv", "deploy", "pretrain_finetune")
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def build(name):
    """The notebook `name` as an `nbformat` node (no outputs, no execution counts)."""
    if SCRIPTS not in sys.path:
        sys.path.insert(0, SCRIPTS)
    cells = importlib.import_module(f"notebooks.{name}").CELLS
    for number, cell in enumerate(cells):
        cell.id = f"{name}-{number}"  # stable ids: re-running the script changes nothing it need not
    return new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC)})


def main():
    for name in NAMES:
        nbformat.write(build(name), os.path.join(HERE, f"{name}.ipynb"))
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main()
