"""Training: `train` (trainer), checkpoints, atomic writes, distribution strategies and placement,
the split optimizer, transfer learning and class weights."""

from mmzoo.training.class_weights import class_weights, with_class_weights
from mmzoo.training.trainer import save_artifacts, train

__all__ = ["class_weights", "save_artifacts", "train", "with_class_weights"]
