"""Matplotlib figures that compare: zoo models side by side, and retrieval results per query."""

import numpy as np

from mmzoo.plots.figure import finish, new_figure


def plot_zoo_comparison(results, path=None, metric="accuracy", title=None, sort=True, reference=None):
    """Horizontal bars of one metric per model, with the spread over seeds as error bars.

    Args:
        results: `{model_name: (mean, std)}` or `{model_name: mean}`.
        path: if given, the figure is saved there as PNG.
        metric: axis label.
        title: optional title.
        sort: order bars by mean, best on top (higher is better).
        reference: optional value drawn as a dashed line (e.g. chance or a published number).

    Returns:
        The matplotlib `Figure`.

    Example:
        >>> fig = plot_zoo_comparison({"tfn": (0.81, 0.02), "lmf": (0.79, 0.01), "early_fusion": 0.77})
        >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
        ['early_fusion', 'lmf', 'tfn']
    """
    if not isinstance(results, dict) or not results:
        raise ValueError(f"plot_zoo_comparison needs a non-empty dict {{model: (mean, std)}}; received {results!r}.")
    rows = []
    for name, value in results.items():
        pair = tuple(value) if isinstance(value, (tuple, list)) else (value, 0.0)
        if len(pair) != 2 or not all(np.isscalar(v) for v in pair):
            raise ValueError(
                f"plot_zoo_comparison: model {name!r} needs a mean or a (mean, std) pair; received {value!r}."
            )
        rows.append((str(name), float(pair[0]), float(pair[1])))
    if sort:
        rows.sort(key=lambda r: r[1])
    fig, ax = new_figure(figsize=(6.5, 0.4 * len(rows) + 1.4))
    ax = ax[0, 0]
    positions = np.arange(len(rows))
    ax.barh(positions, [r[1] for r in rows], xerr=[r[2] for r in rows], color="tab:blue", alpha=0.8, capsize=3)
    ax.set_yticks(positions, [r[0] for r in rows])
    for y, (_, mean, std) in zip(positions, rows):
        ax.text(mean + std, y, f" {mean:.3f}" + (f" ± {std:.3f}" if std else ""), va="center", fontsize=8)
    if reference is not None:
        ax.axvline(reference, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel(metric)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or f"zoo comparison: {metric}")
    return finish(fig, path)


def _show(ax, item, frame=None):
    if isinstance(item, str):
        ax.text(0.5, 0.5, item, ha="center", va="center", wrap=True, fontsize=8, transform=ax.transAxes)
    else:
        image = np.asarray(item)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        if image.ndim not in (2, 3):
            raise ValueError(
                f"plot_retrieval_examples: items must be strings or images (H, W[, C]); "
                f"received an array of shape {image.shape}."
            )
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    ax.set_xticks([])
    ax.set_yticks([])
    if frame is not None:
        for spine in ax.spines.values():
            spine.set_color(frame)
            spine.set_linewidth(3)


def plot_retrieval_examples(queries, retrieved, path=None, correct=None, scores=None, title=None):
    """A grid: one row per query, the query then its retrieved items in rank order.

    Items are strings (shown as text) or images (arrays `(H, W)` or `(H, W, C)`),
    so text-to-image, image-to-text and same-modality retrieval all fit.

    Args:
        queries: Q query items.
        retrieved: Q lists of k retrieved items each (best first).
        path: if given, the figure is saved there as PNG.
        correct: optional Q x k booleans; matches are framed green, misses red.
        scores: optional Q x k similarity scores shown above each item.
        title: optional title.

    Returns:
        The matplotlib `Figure` (Q * (k + 1) axes).

    Example:
        >>> import numpy as np
        >>> fig = plot_retrieval_examples(["a red square", "a blue disc"],
        ...     [[np.zeros((8, 8)), np.ones((8, 8))], [np.ones((8, 8)), np.zeros((8, 8))]],
        ...     correct=[[True, False], [False, True]])
        >>> len(fig.axes)
        6
    """
    queries, retrieved = list(queries), [list(r) for r in retrieved]
    if not queries or len(retrieved) != len(queries):
        raise ValueError(
            f"plot_retrieval_examples needs one list of retrieved items per query; received "
            f"{len(queries)} queries and {len(retrieved)} lists."
        )
    k = len(retrieved[0])
    if k == 0 or any(len(r) != k for r in retrieved):
        raise ValueError(
            f"plot_retrieval_examples needs the same number (>= 1) of retrieved items per query; "
            f"received {[len(r) for r in retrieved]}."
        )
    for name, grid in (("correct", correct), ("scores", scores)):
        if grid is not None and np.shape(grid) != (len(queries), k):
            raise ValueError(
                f"plot_retrieval_examples: {name} must be {len(queries)} x {k}; received shape {np.shape(grid)}."
            )
    fig, axes = new_figure(len(queries), k + 1, figsize=(1.8 * (k + 1), 1.9 * len(queries)))
    for i, (query, items) in enumerate(zip(queries, retrieved)):
        _show(axes[i][0], query)
        axes[i][0].set_title("query", fontsize=8)
        for j, item in enumerate(items):
            frame = None if correct is None else ("tab:green" if correct[i][j] else "tab:red")
            _show(axes[i][j + 1], item, frame)
            label = f"#{j + 1}" + (f" {float(scores[i][j]):.2f}" if scores is not None else "")
            axes[i][j + 1].set_title(label, fontsize=8)
    if title:
        fig.suptitle(title)
    return finish(fig, path)
