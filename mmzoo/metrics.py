"""Metrics Keras lacks in the form mmzoo tasks need."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmzoo")
class F1Score(keras.metrics.Metric):
    """F1 from integer class labels and class probabilities.

    Binary tasks (`num_classes=2`) report the F1 of class 1; multiclass tasks
    the unweighted mean over classes (macro F1). Unlike `keras.metrics.F1Score`
    this takes sparse integer labels, as `Classification` datasets yield.

    Args:
        num_classes: number of classes.
        average: "macro", or "binary" (F1 of class 1); default by `num_classes`.

    Example:
        >>> m = F1Score(num_classes=2)
        >>> m.update_state([1, 0, 1, 1], [[.2, .8], [.9, .1], [.6, .4], [.3, .7]])
        >>> round(float(m.result()), 4)
        0.8
    """

    def __init__(self, num_classes, average=None, name="f1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.average = average or ("binary" if num_classes == 2 else "macro")
        if self.average not in ("binary", "macro"):
            raise ValueError(f"F1Score average must be 'binary' or 'macro'; received {average!r}.")
        shape = (num_classes,)
        self.tp = self.add_variable(shape=shape, initializer="zeros", name="tp")
        self.fp = self.add_variable(shape=shape, initializer="zeros", name="fp")
        self.fn = self.add_variable(shape=shape, initializer="zeros", name="fn")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        y_pred = ops.cast(ops.argmax(ops.reshape(y_pred, (-1, self.num_classes)), axis=-1), "int32")
        true = ops.one_hot(y_true, self.num_classes)
        pred = ops.one_hot(y_pred, self.num_classes)
        if sample_weight is not None:
            w = ops.reshape(ops.cast(sample_weight, true.dtype), (-1, 1))
            true, pred = true * w, pred * w
        self.tp.assign_add(ops.sum(true * pred, axis=0))
        self.fp.assign_add(ops.sum((1 - true) * pred, axis=0))
        self.fn.assign_add(ops.sum(true * (1 - pred), axis=0))

    def result(self):
        f1 = ops.divide_no_nan(2 * self.tp, 2 * self.tp + self.fp + self.fn)
        return f1[1] if self.average == "binary" else ops.mean(f1)

    def reset_state(self):
        for v in (self.tp, self.fp, self.fn):
            v.assign(ops.zeros_like(v))

    def get_config(self):
        return {"num_classes": self.num_classes, "average": self.average, "name": self.name, "dtype": self.dtype}
