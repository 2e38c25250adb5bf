"""Metrics Keras lacks in the form mmzoo tasks need."""

import keras
from keras import ops


class _CountingF1(keras.metrics.Metric):
    """Shared mechanism: accumulate per-class tp/fp/fn, then reduce to an F1."""

    def __init__(self, num_classes, average, name, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.average = average
        shape = (num_classes,)
        self.tp = self.add_variable(shape=shape, initializer="zeros", name="tp")
        self.fp = self.add_variable(shape=shape, initializer="zeros", name="fp")
        self.fn = self.add_variable(shape=shape, initializer="zeros", name="fn")

    def _count(self, true, pred, sample_weight):
        if sample_weight is not None:
            w = ops.reshape(ops.cast(sample_weight, true.dtype), (-1, 1))
            true, pred = true * w, pred * w
        self.tp.assign_add(ops.sum(true * pred, axis=0))
        self.fp.assign_add(ops.sum((1 - true) * pred, axis=0))
        self.fn.assign_add(ops.sum(true * (1 - pred), axis=0))

    def result(self):
        if self.average == "micro":
            tp, fp, fn = ops.sum(self.tp), ops.sum(self.fp), ops.sum(self.fn)
            return ops.divide_no_nan(2 * tp, 2 * tp + fp + fn)
        f1 = ops.divide_no_nan(2 * self.tp, 2 * self.tp + self.fp + self.fn)
        return f1[1] if self.average == "binary" else ops.mean(f1)

    def reset_state(self):
        for v in (self.tp, self.fp, self.fn):
            v.assign(ops.zeros_like(v))


@keras.saving.register_keras_serializable(package="mmzoo")
class F1Score(_CountingF1):
    """F1 from integer class labels and class probabilities.

    Binary tasks (`num_classes=2`) report the F1 of class 1; multiclass tasks
    the unweighted mean over classes (macro F1). Unlike `keras.metrics.F1Score`
    this takes sparse integer labels, as `Classification` datasets yield.

    Args:
        num_classes: number of classes.
        average: "macro", "micro" or "binary" (F1 of class 1); default by `num_classes`.

    Example:
        >>> m = F1Score(num_classes=2)
        >>> m.update_state([1, 0, 1, 1], [[.2, .8], [.9, .1], [.6, .4], [.3, .7]])
        >>> round(float(m.result()), 4)
        0.8
    """

    def __init__(self, num_classes, average=None, name="f1", dtype=None):
        average = average or ("binary" if num_classes == 2 else "macro")
        if average not in ("binary", "macro", "micro"):
            raise ValueError(f"F1Score average must be 'binary', 'macro' or 'micro'; received {average!r}.")
        super().__init__(num_classes, average, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        y_pred = ops.argmax(ops.reshape(y_pred, (-1, self.num_classes)), axis=-1)
        true = ops.one_hot(y_true, self.num_classes)
        pred = ops.one_hot(ops.cast(y_pred, "int32"), self.num_classes)
        self._count(true, pred, sample_weight)

    def get_config(self):
        return {"num_classes": self.num_classes, "average": self.average, "name": self.name, "dtype": self.dtype}


CLASS_SCORES = ("macro_precision", "macro_recall", "weighted_precision", "weighted_recall", "weighted_f1")


@keras.saving.register_keras_serializable(package="mmzoo")
class ClassScore(F1Score):
    """Precision, recall or F1 per class from integer labels, averaged "macro" or "weighted".

    Scikit-learn's `precision_recall_fscore_support(labels=range(num_classes),
    average=..., zero_division=0)`: macro is the plain mean over all classes,
    weighted weights each class by its number of true examples.

    Args:
        num_classes: number of classes.
        name: one of `CLASS_SCORES` ("macro_recall", "weighted_f1", ...).

    Example:
        >>> m = ClassScore(3, "macro_recall")
        >>> m.update_state([0, 0, 1, 2], [[.9, .1, 0], [.2, .7, .1], [.1, .8, .1], [.3, .3, .4]])
        >>> round(float(m.result()), 4)  # recalls 1/2, 1, 1
        0.8333
    """

    def __init__(self, num_classes, name="macro_recall", dtype=None):
        if name not in CLASS_SCORES:
            raise ValueError(f"ClassScore name must be one of {', '.join(CLASS_SCORES)}; received {name!r}.")
        super().__init__(num_classes, average="macro", name=name, dtype=dtype)
        self.weighting, self.score = name.split("_", 1)

    def result(self):
        found, true = self.tp + self.fp, self.tp + self.fn
        per_class = {
            "precision": ops.divide_no_nan(self.tp, found),
            "recall": ops.divide_no_nan(self.tp, true),
            "f1": ops.divide_no_nan(2 * self.tp, found + true),
        }[self.score]
        if self.weighting == "macro":
            return ops.mean(per_class)
        return ops.divide_no_nan(ops.sum(per_class * true), ops.sum(true))

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="mmzoo")
class MultiLabelF1(_CountingF1):
    """Micro or macro F1 of multi-label predictions, thresholded per label.

    Args:
        num_labels: number of labels.
        average: "micro" (pooled counts) or "macro" (mean of per-label F1).
        threshold: a float, or one float per label.

    Example:
        >>> m = MultiLabelF1(num_labels=2, average="micro")
        >>> m.update_state([[1, 0], [1, 1]], [[.9, .2], [.4, .8]])
        >>> round(float(m.result()), 4)
        0.8
    """

    def __init__(self, num_labels, average="micro", threshold=0.5, name=None, dtype=None):
        if average not in ("micro", "macro"):
            raise ValueError(f"MultiLabelF1 average must be 'micro' or 'macro'; received {average!r}.")
        super().__init__(num_labels, average, name=name or f"{average}_f1", dtype=dtype)
        self.threshold = list(threshold) if isinstance(threshold, (list, tuple)) else float(threshold)

    def update_state(self, y_true, y_pred, sample_weight=None):
        true = ops.cast(ops.reshape(y_true, (-1, self.num_classes)), "float32")
        threshold = ops.convert_to_tensor(self.threshold, "float32")
        pred = ops.cast(ops.reshape(ops.cast(y_pred, "float32"), (-1, self.num_classes)) >= threshold, "float32")
        self._count(true, pred, sample_weight)

    def get_config(self):
        return {
            "num_labels": self.num_classes,
            "average": self.average,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }


@keras.saving.register_keras_serializable(package="mmzoo")
class PearsonCorrelation(keras.metrics.Metric):
    """Pearson correlation between targets and predictions, accumulated over batches.

    Multi-output regressions are pooled (all outputs flattened).

    Example:
        >>> m = PearsonCorrelation()
        >>> m.update_state([1.0, 2.0, 3.0], [2.0, 4.0, 6.5])
        >>> round(float(m.result()), 4)
        0.9979
    """

    def __init__(self, name="corr", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.sums = self.add_variable(shape=(6,), initializer="zeros", name="sums")  # n, x, y, xx, yy, xy

    def update_state(self, y_true, y_pred, sample_weight=None):
        x = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        y = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
        n = ops.cast(ops.shape(x)[0], "float32")
        self.sums.assign_add(ops.stack([n, ops.sum(x), ops.sum(y), ops.sum(x * x), ops.sum(y * y), ops.sum(x * y)]))

    def result(self):
        n, sx, sy, sxx, syy, sxy = [self.sums[i] for i in range(6)]
        cov = sxy - sx * sy / ops.maximum(n, 1.0)
        vx = sxx - sx * sx / ops.maximum(n, 1.0)
        vy = syy - sy * sy / ops.maximum(n, 1.0)
        return ops.divide_no_nan(cov, ops.sqrt(ops.maximum(vx * vy, 0.0)))

    def reset_state(self):
        self.sums.assign(ops.zeros_like(self.sums))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="mmzoo")
class RecallAtK(keras.metrics.Metric):
    """Retrieval recall@k from a `(batch, batch)` similarity matrix, both directions averaged.

    Row `i` (a query of the first modality) should rank column `y_i` first;
    with `y = arange(batch)` (matched pairs) the columns are the queries of
    the second modality too. Recall depends on the batch size: evaluate on
    large batches (chance is `k / batch`).

    Example:
        >>> m = RecallAtK(k=1)
        >>> m.update_state([0, 1], [[0.9, 0.1], [0.8, 0.2]])
        >>> float(m.result())  # rows: 1 of 2 hit; columns: 2 of 2
        0.75
    """

    def __init__(self, k=1, name=None, dtype=None):
        super().__init__(name=name or f"recall@{k}", dtype=dtype)
        self.k = k
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def _hits(self, logits, target):
        score = ops.take_along_axis(logits, ops.expand_dims(target, 1), axis=1)
        rank = ops.sum(ops.cast(logits > score, "float32"), axis=1)
        return ops.sum(ops.cast(rank < self.k, "float32"))

    def update_state(self, y_true, y_pred, sample_weight=None):
        logits = ops.cast(y_pred, "float32")
        target = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        hits = self._hits(logits, target) + self._hits(ops.transpose(logits), target)
        self.hits.assign_add(hits)
        self.count.assign_add(2 * ops.cast(ops.shape(target)[0], "float32"))

    def result(self):
        return ops.divide_no_nan(self.hits, self.count)

    def reset_state(self):
        self.hits.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"k": self.k, "name": self.name, "dtype": self.dtype}
