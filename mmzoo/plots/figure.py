"""One way to make and finish a figure: a `matplotlib.figure.Figure` outside pyplot.

A `Figure` made directly belongs to no pyplot state and needs no backend, so
plotting changes nothing global (a notebook keeps its inline backend and still
shows the returned figure); `savefig` renders with Agg on its own.
"""


def new_figure(rows=1, columns=1, figsize=None):
    """A new `Figure` and its `rows x columns` axes (always a 2-D array)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, columns, squeeze=False)


def finish(fig, path=None):
    """Lays `fig` out, saves it as PNG when `path` is given, and returns it."""
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=100)
    return fig
