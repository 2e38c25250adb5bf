"""Training: `train` (trainer), checkpoints, atomic writes, distribution strategies and placement,
the split optimizer and transfer learning."""

from mmzoo.training.trainer import save_artifacts, train

__all__ = ["save_artifacts", "train"]
