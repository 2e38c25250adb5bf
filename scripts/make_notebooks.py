"""Writes the notebooks in notebooks/ from the cell lists in scripts/notebooks/<name>.py (outputs stripped).

Edit the cells there, then run, from the repository root,

    python -m scripts.make_notebooks

(`python scripts/make_notebooks.py` reruns itself that way). Each module holds
`CELLS`; exactly one cell is tagged `parameters` (the settings
tests/docs/test_notebooks.py replaces with small ones). `tests/docs/test_notebooks.py`
checks that the committed notebooks are what this script writes.
"""

import importlib
import os
import subprocess
import sys

import nbformat
from nbformat.v4 import new_notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "notebooks")
CELLS = "scripts.notebooks"  # the package of cell lists, imported from the repository root
NAMES = ("quickstart", "zoo_tour", "own_data_csv", "deploy", "pretrain_finetune", "video")
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def build(name):
    """The notebook `name` as an `nbformat` node (no outputs, no execution counts)."""
    cells = importlib.import_module(f"{CELLS}.{name}").CELLS
    for number, cell in enumerate(cells):
        cell.id = f"{name}-{number}"  # stable ids: re-running the script changes nothing it need not
    return new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC)})


def main():
    for name in NAMES:
        nbformat.write(build(name), os.path.join(HERE, f"{name}.ipynb"))
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    if not __package__:  # run as a file: the cell package imports from the repository root
        sys.exit(subprocess.call([sys.executable, "-m", "scripts.make_notebooks"], cwd=ROOT))
    main()
