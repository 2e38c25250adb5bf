"""Single-purpose Keras callbacks that `mmzoo.train` composes; each works on its own with `model.fit`.

- `NaNStop`: stops at the first batch whose loss or updated weights are not finite, and says what failed.
- `BestWeights`: tracks the best monitored value, stops early after `patience`, restores the best weights.
- `CheckpointWriter`: resumable epoch checkpoints (with `BestWeights`' state), `restore` before `fit`.
- `MagnitudePruning`: zeroes the smallest kernel weights during fit, to a target sparsity on a schedule.
- `EpochDataOrder`: an mmzoo dataset's shuffle order depends only on its seed and the epoch.

List `NaNStop` and `BestWeights` before `CheckpointWriter`.
"""

from mmzoo.training.callbacks.best_weights import BestWeights
from mmzoo.training.callbacks.checkpoint_writer import CheckpointWriter
from mmzoo.training.callbacks.epoch_data_order import EpochDataOrder
from mmzoo.training.callbacks.nan_stop import NaNStop, NonFinite
from mmzoo.training.callbacks.pruning import MagnitudePruning

__all__ = ["BestWeights", "CheckpointWriter", "EpochDataOrder", "MagnitudePruning", "NaNStop", "NonFinite"]
