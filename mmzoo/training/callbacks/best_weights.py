"""`BestWeights`: tracks the best value of a monitored metric, stops early (optional), restores the best weights."""

import keras


class BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the best `monitor` value; with `patience`, stops early.

    Keras `EarlyStopping` semantics (restore_best_weights), plus what a
    resumed run needs: its state (`state()`, `resume(state)`) survives in a
    checkpoint (`CheckpointWriter(best=...)` saves and restores it), and
    after a resume the best epoch's weights can come from `load_weights`.

    Args:
        monitor: the log to watch (default "val_loss"; epochs without it are skipped).
        mode: "min" or "max".
        patience: epochs without improvement before training stops (None: never stops).
        restore: put the best weights back into the model when training ends.
        load_weights: `callable(epoch) -> weights or None` for the best epoch's
            weights when they are not in memory (1-based epoch, after a resume).
        verbose: 0 is silent; otherwise the stop and the restore are printed.

    Attributes:
        best: the best value so far; best_epoch: its 0-based epoch (None before
        the first); wait: epochs since it; stopped: True once patience ran out.

    Example:
        >>> import numpy as np
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        >>> x, y = np.ones((4, 1), "float32"), np.ones(4, "float32")
        >>> best = BestWeights(monitor="loss", patience=2)
        >>> _ = model.fit(x, y, epochs=5, callbacks=[best], verbose=0)
        >>> best.best_epoch is not None and best.best == min(model.history.history["loss"])
        True
    """

    def __init__(self, monitor="val_loss", mode="min", patience=None, restore=True, load_weights=None, verbose=0):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"BestWeights(mode=...) must be 'min' or 'max'; received {mode!r}.")
        self.monitor, self.mode, self.patience, self.restore = monitor, mode, patience, restore
        self.load_weights, self.verbose = load_weights, verbose
        self.resume({})
        self.last_epoch = None

    def state(self):
        """The JSON-able state a resumed run needs (`best_value`, `best_epoch`, `wait`, `stopped`)."""
        return {"best_value": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "stopped": self.stopped}

    def resume(self, state):
        """Continues from `state` (from `state()`, e.g. a checkpoint's); missing keys start afresh."""
        self.best = state.get("best_value", float("inf") if self.mode == "min" else -float("inf"))
        self.best_epoch = state.get("best_epoch")
        self.wait = state.get("wait", 0)
        self.stopped = bool(state.get("stopped", False))
        self._weights = None

    def _better(self, current):
        return current < self.best if self.mode == "min" else current > self.best

    def on_epoch_end(self, epoch, logs=None):
        self.last_epoch = epoch
        current = (logs or {}).get(self.monitor)
        if current is None:
            return
        if self.best_epoch is None:
            self.best_epoch, self._weights = epoch, self.model.get_weights()
        self.wait += 1
        if self._better(current):
            self.best, self.best_epoch, self.wait = float(current), epoch, 0
            self._weights = self.model.get_weights()
        elif self.patience is not None and self.wait >= self.patience and epoch > 0:
            self.model.stop_training = True
            self.stopped = True
            if self.verbose != 0:
                print(f"Epoch {epoch + 1}: early stopping")

    def best_weights(self):
        """The best epoch's weights: kept in memory, or from `load_weights` after a resume (None if neither)."""
        if self._weights is None and self.best_epoch is not None and self.load_weights is not None:
            self._weights = self.load_weights(self.best_epoch + 1)
        return self._weights

    def restore_best(self):
        """Puts the best epoch's weights into the model; returns True if there were any."""
        weights = self.best_weights()
        if weights is None:
            return False
        if self.verbose != 0:
            print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
        self.model.set_weights(weights)
        return True

    def on_train_end(self, logs=None):
        if self.restore:
            self.restore_best()
