"""Cell lists of the notebooks in notebooks/, one module per notebook (see scripts/make_notebooks.py)."""
