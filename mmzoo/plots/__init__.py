"""Matplotlib figures. Every function returns a `Figure` and saves it only when given a path;
matplotlib is imported on first use, and its backend is left as the user set it."""

from mmzoo.plots.attribution import plot_attribution
from mmzoo.plots.comparison import plot_retrieval_examples, plot_zoo_comparison
from mmzoo.plots.evaluation import plot_confusion_matrix, plot_regression_scatter
from mmzoo.plots.history import plot_history

__all__ = [
    "plot_attribution",
    "plot_confusion_matrix",
    "plot_history",
    "plot_regression_scatter",
    "plot_retrieval_examples",
    "plot_zoo_comparison",
]
