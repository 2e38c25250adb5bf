"""Matplotlib figures of evaluation results: confusion matrices and regression scatters."""

import numpy as np  # noqa: E402

from mmzoo.plots.figure import finish, new_figure


def plot_confusion_matrix(cm, class_names=None, path=None, normalize=True, title=None):
    """A confusion matrix as a heat map, rows true class, columns predicted.

    Args:
        cm: square matrix of counts (nested list or array), e.g.
            `evaluate(...)["confusion_matrix"]`.
        class_names: tick labels; default the class indices.
        path: if given, the figure is saved there as PNG.
        normalize: colour by the share of each true class (counts are still written).
        title: optional title.

    Returns:
        The matplotlib `Figure`.

    Example:
        >>> fig = plot_confusion_matrix([[5, 1], [2, 7]], ["neg", "pos"])
        >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
        ['neg', 'pos']
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix needs a square matrix; received shape {cm.shape}.")
    n = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    if len(names) != n:
        raise ValueError(f"plot_confusion_matrix: {n} classes but {len(names)} class_names.")
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    size = max(3.5, 0.45 * n + 2)
    fig, ax = new_figure(figsize=(size + 1, size))
    ax = ax[0, 0]
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), names, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 20:
        threshold = shown.max() / 2 if shown.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shown[i, j] > threshold else "black",
                )
    ax.set_title(title or "confusion matrix")
    return finish(fig, path)


def plot_regression_scatter(y_true, y_pred, path=None, title=None):
    """Predictions against targets, with the identity line and MAE / Pearson r in the title.

    Args:
        y_true, y_pred: arrays of the same size (flattened).
        path: if given, the figure is saved there as PNG.
        title: optional title (the MAE and correlation are appended).

    Returns:
        The matplotlib `Figure`.

    Example:
        >>> fig = plot_regression_scatter([0.0, 1.0, 2.0], [0.1, 0.9, 2.2])
        >>> len(fig.axes[0].collections)
        1
    """
    y_true = np.asarray(y_true, np.float64).ravel()
    y_pred = np.asarray(y_pred, np.float64).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"plot_regression_scatter needs two non-empty arrays of the same size; "
            f"received {y_true.size} and {y_pred.size} values."
        )
    fig, ax = new_figure(figsize=(4.5, 4.2))
    ax = ax[0, 0]
    ax.scatter(y_true, y_pred, s=8, alpha=0.5)
    low, high = min(y_true.min(), y_pred.min()), max(y_true.max(), y_pred.max())
    ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
    mae = np.mean(np.abs(y_true - y_pred))
    corr = np.corrcoef(y_true, y_pred)[0, 1] if y_true.std() > 0 and y_pred.std() > 0 else float("nan")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(f"{title + ': ' if title else ''}MAE {mae:.3f}, r {corr:.3f}")
    ax.grid(alpha=0.3)
    return finish(fig, path)
