"""Training: `train` (trainer) and the callbacks it composes, checkpoints, atomic writes, distribution
strategies and placement, the split optimizer and transfer learning. A run's artifacts are written by
the experiment runner (`mmzoo.experiments.artifacts`), so training never imports export."""

from mmzoo.training.trainer import train

__all__ = ["train"]
