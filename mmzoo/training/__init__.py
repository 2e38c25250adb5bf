"""Training: `train` (trainer) and the callbacks it composes, checkpoints, atomic writes, distribution
strategies and placement, the split optimizer, transfer learning, distillation
(`mmzoo.training.distillation`) and class weights for imbalanced data.
A run's artifacts are written by the experiment runner (`mmzoo.experiments.artifacts`), so training never
imports export."""

from mmzoo.training.imbalance import class_weights, with_class_weights
from mmzoo.training.trainer import train

__all__ = ["class_weights", "train", "with_class_weights"]
