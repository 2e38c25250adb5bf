"""`CheckpointWriter`: a resumable checkpoint after every epoch, through `mmzoo.training.checkpoint.Checkpoints`."""

import warnings

import keras
import numpy as np

from mmzoo.training.callbacks.nan_stop import float_variables, non_finite_variables
from mmzoo.training.checkpoint import CheckpointError, Checkpoints


class CheckpointWriter(keras.callbacks.Callback):
    """Writes `epoch-<k>/` (model, optimizer and RNG state, the history, `best`'s state) after every epoch.

    An epoch whose loss or variables are not finite is not written, so the
    newest checkpoint is always a good one. `restore(model)` loads the newest
    usable checkpoint before training and returns the epoch to continue from
    (`initial_epoch` of `model.fit`); `history` then holds the logs of every
    epoch written so far, in this run and the earlier ones.

    Args:
        directory: the checkpoint folder, or a `Checkpoints` store.
        keep: how many of the newest checkpoints to keep (with a folder).
        best: an optional `BestWeights` listed before this callback: its
            state is saved and restored, and its best epoch is never pruned.

    Attributes:
        store: the `Checkpoints`; history: `{log: [values]}`; restored: the
        state `restore` loaded (None: nothing to resume).

    Example:
        >>> import tempfile
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> x, y = np.ones((4, 1), "float32"), np.ones(4, "float32")
        >>> writer = CheckpointWriter(tempfile.mkdtemp())
        >>> _ = model.fit(x, y, epochs=2, callbacks=[writer], verbose=0)
        >>> again = CheckpointWriter(writer.store)
        >>> again.restore(model), len(again.history["loss"])
        (2, 2)
    """

    def __init__(self, directory, keep=2, best=None):
        super().__init__()
        self.store = directory if isinstance(directory, Checkpoints) else Checkpoints(directory, keep=keep)
        self.best = best
        self.history = {}
        self.restored = None
        if best is not None and best.load_weights is None:
            best.load_weights = self._best_epoch_weights

    def restore(self, model):
        """Loads the newest usable checkpoint into `model`; returns the number of finished epochs (0: none)."""
        self.restored = self.store.restore(model)
        state = self.restored or {}
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        if self.best is not None:
            self.best.resume(state)
        return int(state.get("epoch", 0))

    @property
    def stopped(self):
        """True when the restored run had already stopped early (nothing is left to train)."""
        return bool(self.restored and self.restored.get("stopped"))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if "loss" in logs and not np.isfinite(float(logs["loss"])):
            return
        if non_finite_variables(float_variables(self.model)):
            return
        if self.best is not None and self.best.last_epoch != epoch:
            raise ValueError(
                f"CheckpointWriter(best=...) saves the state of {type(self.best).__name__} after it "
                f"saw the epoch; list it before the CheckpointWriter in callbacks."
            )
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        state = {"history": self.history}
        protect = []
        if self.best is not None:
            state.update(self.best.state())
            protect = [None if self.best.best_epoch is None else self.best.best_epoch + 1]
        self.store.save(self.model, epoch + 1, state, protect=protect)

    def _best_epoch_weights(self, epoch):
        try:
            return self.store.model_weights(self.model, epoch)
        except CheckpointError as error:
            warnings.warn(
                f"Cannot restore the weights of the best epoch ({epoch}) from {self.store.path(epoch)}: "
                f"{error} Keeping the final weights.",
                stacklevel=3,
            )
            return None
