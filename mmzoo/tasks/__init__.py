"""Tasks: a head plus its loss and metrics (`task`), and the metrics Keras lacks (`metrics`)."""

from mmzoo.tasks.generation import TextGeneration
from mmzoo.tasks.task import (
    Classification,
    ContrastiveLoss,
    MultiLabel,
    Regression,
    Retrieval,
    SigmoidLoss,
    Task,
    task_from_config,
)

__all__ = [
    "Classification",
    "ContrastiveLoss",
    "MultiLabel",
    "Regression",
    "Retrieval",
    "SigmoidLoss",
    "Task",
    "TextGeneration",
    "task_from_config",
]
