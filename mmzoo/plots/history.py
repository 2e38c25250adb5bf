"""Matplotlib figures for training runs."""

from mmzoo.plots.figure import finish, new_figure


def plot_history(history, path=None, title=None):
    """Training curves: one panel per metric, train and validation per epoch.

    Args:
        history: a `keras.callbacks.History` or its `.history` dict.
        path: if given, the figure is saved there as PNG.
        title: optional figure title.

    Returns:
        The matplotlib `Figure`.

    Example:
        >>> fig = plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
        >>> len(fig.axes)
        1
    """
    logs = getattr(history, "history", history)
    names = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    if not names:
        raise ValueError("plot_history needs at least one metric in the history.")
    fig, axes = new_figure(1, len(names), figsize=(4 * len(names), 3.2))
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], marker="o", label="train")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return finish(fig, path)
