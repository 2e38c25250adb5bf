"""`NaNStop`: stops training at the first batch whose loss, or whose updated weights, are not finite."""

import dataclasses

import keras
import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class NonFinite:
    """What stopped being finite, and where (0-based `epoch`; `batch` None: found at the epoch's end)."""

    epoch: int
    batch: object
    what: str

    def __str__(self):
        where = f"epoch {self.epoch + 1}" + ("" if self.batch is None else f", batch {self.batch + 1}")
        return f"{self.what} at {where} (counting from 1)"


def non_finite_variables(variables):
    """The paths of the `variables` holding NaN or Inf, as one line (empty when all are finite).

    Example:
        >>> non_finite_variables([keras.Variable([1.0, float("nan")], name="w")])
        'w'
    """
    names = [
        v.path for v in variables if not np.isfinite(keras.ops.convert_to_numpy(v).astype("float64", copy=False)).all()
    ]
    return ", ".join(names[:3]) + (f" (and {len(names) - 3} more)" if len(names) > 3 else "")


def float_variables(model):
    """The model's floating-point variables (the ones that can hold NaN)."""
    return [v for v in model.variables if "float" in str(v.dtype)]


class NaNStop(keras.callbacks.Callback):
    """Stops training at the first batch whose loss or updated trainable weights are not finite.

    A NaN input can leave the loss finite (ReLU and max-pooling map NaN to 0
    on CPU) and still turn the gradients, hence the weights, into NaN, so the
    weights are checked after every batch as well; at the end of an epoch
    every floating-point variable is (BatchNormalization statistics too).
    Unlike `keras.callbacks.TerminateOnNaN` it says what failed: `failure`
    is a `NonFinite` (epoch, batch, what), None while all is well. It stops
    training and does not raise; `mmzoo.train` raises a `FloatingPointError`.

    Example:
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> x = np.array([[1.0], [np.nan], [1.0], [1.0]], "float32")
        >>> stop = NaNStop()
        >>> _ = model.fit(x, np.ones(4), batch_size=1, epochs=3, shuffle=False, callbacks=[stop], verbose=0)
        >>> str(stop.failure)
        'the loss became nan at epoch 1, batch 2 (counting from 1)'
    """

    def __init__(self):
        super().__init__()
        self.failure = None
        self._epoch = 0
        self._weights_finite = None

    def on_train_begin(self, logs=None):
        self.failure = None
        trainable = [v.value for v in self.model.trainable_variables]
        self._weights_finite = tf.function(
            lambda: tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in trainable])
        )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.failure is not None:
            return
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self._fail(batch, f"the loss became {float(loss)}")
        elif self._weights_finite is not None and not bool(self._weights_finite()):
            self._fail(
                batch,
                f"the weights {non_finite_variables(self.model.trainable_variables)} "
                f"became NaN/Inf while the loss stayed finite",
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._epoch = epoch
        if self.failure is None and "loss" in logs and not np.isfinite(float(logs["loss"])):
            self._fail(None, f"the loss became {float(logs['loss'])}")
        if self.failure is None:
            bad = non_finite_variables(float_variables(self.model))
            if bad:
                self._fail(None, f"the variables {bad} became NaN/Inf")

    def _fail(self, batch, what):
        self.failure = NonFinite(self._epoch, batch, what)
        self.model.stop_training = True
