"""Evaluating models on a dataset: the task's metrics as plain floats, and the MOSI metrics.

`evaluate(model, dataset)` predicts batch by batch (so predictions and labels
stay paired even on a reshuffling dataset) and returns a dict of floats:
text generation gives sacrebleu's BLEU-4 and chrF and exact match with one
row per example (`text_metrics`); classification gives accuracy, precision, recall and F1 per class (keyed by
class name) and as macro and weighted averages (plus binary F1 with 2
classes) and the confusion matrix; regression MAE, MSE and Pearson correlation (plus the
MOSI metrics for a MOSI task or `metrics="mosi"`); multi-label micro and
macro F1. Metrics are computed with NumPy and scikit-learn.
"""

import numpy as np


def _f1_per_class(y_true, y_pred, classes):
    """F1 of each class in `classes` (0 where it is never true nor predicted)."""
    f1 = []
    for c in classes:
        tp = np.sum((y_pred == c) & (y_true == c))
        wrong = np.sum((y_pred == c) != (y_true == c))  # false positives + false negatives
        f1.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return np.asarray(f1, np.float64)


def weighted_f1(y_true, y_pred):
    """F1 per class averaged with the class's support in `y_true` as weight (sklearn's "weighted").

    Example:
        >>> round(weighted_f1([1, 1, 1, 0], [1, 1, 0, 0]), 4)
        0.7667
    """
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    classes = np.union1d(y_true, y_pred)
    support = np.array([np.sum(y_true == c) for c in classes], np.float64)
    if support.sum() == 0:
        return 0.0
    return float(np.sum(support * _f1_per_class(y_true, y_pred, classes)) / support.sum())


def pearson(y_true, y_pred):
    """Pearson correlation of the flattened arrays (NaN when either is constant)."""
    a = np.asarray(y_true, np.float64).ravel()
    b = np.asarray(y_pred, np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / denominator) if denominator > 0 else float("nan")


def mosi_metrics(y_true, y_pred):
    """The standard CMU-MOSI sentiment metrics of predicted scores in [-3, 3].

    As in the MMSA toolkit (thuiar/MMSA, `MetricsTop`) and the MulT code
    (`eval_mosei_senti`), which the MOSI literature reports:

    - "acc2_has0", "f1_has0": negative (< 0) vs non-negative (>= 0), all examples;
    - "acc2_non0", "f1_non0": negative vs positive (> 0), examples whose true
      score is 0 left out (the number usually quoted as "Acc-2"/"F1" since MulT);
    - "acc7": predictions and targets clipped to [-3, 3] and rounded to
      integers (NumPy's `round`, halves to even, as both codes do);
    - "mae", "corr": mean absolute error and Pearson correlation.

    Binary F1 is the weighted F1 (each class's F1 weighted by its true
    support, sklearn `f1_score(average="weighted")`): the average MMSA and
    MulT pass, so numbers compare with published tables.

    Args:
        y_true, y_pred: arrays of scores, any shape (flattened).

    Returns:
        A dict of floats.

    Example:
        >>> m = mosi_metrics([-2.0, 0.0, 1.0, 2.6], [-1.0, 0.4, -0.2, 3.4])
        >>> m["acc2_has0"], m["acc2_non0"], m["acc7"]
        (0.75, 0.6666666666666666, 0.5)
    """
    y_true = np.asarray(y_true, np.float64).ravel()
    y_pred = np.asarray(y_pred, np.float64).ravel()
    nonzero = y_true != 0
    has0_true, has0_pred = y_true >= 0, y_pred >= 0
    non0_true, non0_pred = y_true[nonzero] > 0, y_pred[nonzero] > 0
    seven_true = np.round(np.clip(y_true, -3.0, 3.0))
    seven_pred = np.round(np.clip(y_pred, -3.0, 3.0))
    return {
        "acc2_has0": float(np.mean(has0_true == has0_pred)),
        "f1_has0": weighted_f1(has0_true, has0_pred),
        "acc2_non0": float(np.mean(non0_true == non0_pred)) if nonzero.any() else float("nan"),
        "f1_non0": weighted_f1(non0_true, non0_pred),
        "acc7": float(np.mean(seven_true == seven_pred)),
        "mae": float(np.mean(np.abs(y_true - y_pred))),
        "corr": pearson(y_true, y_pred),
    }


def classification_metrics(y_true, y_pred, num_classes, class_names=None):
    """Accuracy, precision/recall/F1 per class and averaged, binary F1 (2 classes), the confusion matrix.

    Precision, recall and F1 are scikit-learn's `precision_recall_fscore_support`
    (`zero_division=0`): per class over all `num_classes` classes, and as
    "macro" (plain mean) and "weighted" (weighted by true support) averages
    over the classes that occur in `y_true` or the predictions.

    Args:
        y_true: integer labels (n,).
        y_pred: class probabilities (n, num_classes) or predicted labels (n,).
        num_classes: number of classes.
        class_names: names keying `per_class` (default the class ids as strings).

    Returns:
        `{"accuracy", "macro_precision", "macro_recall", "macro_f1",
        "weighted_precision", "weighted_recall", "weighted_f1", ["binary_f1",]
        "per_class", "class_names", "confusion_matrix"}`: `per_class` maps each
        class name to `{"precision", "recall", "f1", "support"}`; the confusion
        matrix is a nested list, rows true class, columns predicted, in the
        order of `class_names`.

    Example:
        >>> m = classification_metrics([0, 1, 1], [[.9, .1], [.4, .6], [.8, .2]], 2, ["neg", "pos"])
        >>> round(m["accuracy"], 4), m["confusion_matrix"], m["per_class"]["pos"]["recall"]
        (0.6667, [[1, 0], [1, 1]], 0.5)
    """
    from sklearn.metrics import precision_recall_fscore_support

    y_true = np.asarray(y_true).astype(np.int64).ravel()
    y_pred = np.asarray(y_pred)
    y_pred = (
        y_pred.reshape(len(y_true), -1).argmax(-1)
        if y_pred.ndim > 1 and y_pred.shape[-1] > 1
        else y_pred.astype(np.int64).ravel()
    )
    names = [str(c) for c in class_names] if class_names is not None else [str(c) for c in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f"classification_metrics: {num_classes} classes but {len(names)} class_names.")
    confusion = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    metrics = {"accuracy": float(np.mean(y_true == y_pred))}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        metrics.update({f"{average}_precision": float(p), f"{average}_recall": float(r), f"{average}_f1": float(f)})
    if num_classes == 2:
        metrics["binary_f1"] = float(_f1_per_class(y_true, y_pred, [1])[0])
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=np.arange(num_classes), zero_division=0)
    metrics["per_class"] = {
        name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])}
        for i, name in enumerate(names)
    }
    metrics["class_names"] = names
    metrics["confusion_matrix"] = confusion.tolist()
    return metrics


def regression_metrics(y_true, y_pred):
    """MAE, MSE and Pearson correlation, all outputs pooled (as the `Regression` task's metrics)."""
    y_true = np.asarray(y_true, np.float64).ravel()
    y_pred = np.asarray(y_pred, np.float64).ravel()
    error = y_pred - y_true
    return {"mae": float(np.mean(np.abs(error))), "mse": float(np.mean(error**2)), "corr": pearson(y_true, y_pred)}


def multilabel_metrics(y_true, y_prob, threshold=0.5):
    """Micro and macro F1 (and per-label accuracy) of thresholded multi-label probabilities."""
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_prob) >= np.asarray(threshold, np.float64)
    tp = np.sum(y_true & y_pred, axis=0)
    wrong = np.sum(y_true != y_pred, axis=0)
    per_label = np.where(tp + wrong > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0)
    micro = 2 * tp.sum() / (2 * tp.sum() + wrong.sum()) if tp.sum() + wrong.sum() else 0.0
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "micro_f1": float(micro),
        "macro_f1": float(np.mean(per_label)),
    }


def predict_all(model, dataset):
    """`(y_true, y_pred)` over `dataset`, predicting batch by batch (or one `(x, y)` pair of arrays)."""
    if isinstance(dataset, tuple) and len(dataset) == 2:
        return np.asarray(dataset[1]), np.asarray(model.predict(dataset[0], verbose=0))
    truths, predictions = [], []
    for element in dataset:
        if not isinstance(element, tuple) or len(element) < 2:
            raise ValueError("evaluate needs a dataset of (features, labels); this one yields no labels.")
        features, labels = element[0], element[1]
        predictions.append(np.asarray(model.predict(features, verbose=0)))
        truths.append(np.asarray(labels))
    if not truths:
        raise ValueError("evaluate received an empty dataset.")
    return np.concatenate(truths), np.concatenate(predictions)


def evaluate(model, dataset, task=None, metrics=None):
    """Runs `model` over `dataset` and returns the task's metrics as a dict of floats.

    Args:
        model: a Keras model (an mmzoo model carries its task).
        dataset: a `tf.data.Dataset` (or iterable) of `(features, labels)`
            batches, or a `(features, labels)` pair of arrays.
        task: the mmzoo task; default `model.task`.
        metrics: "mosi" adds `mosi_metrics` to a regression's (automatic for
            the task of `mmzoo.datasets.mosi`).

    Returns:
        Classification: accuracy; macro and weighted precision, recall and
        F1; binary_f1 (2 classes); per_class (`{class name: {"precision",
        "recall", "f1", "support"}}`), class_names and confusion_matrix
        (nested list, rows true class; see `classification_metrics`); regression: mae, mse, corr (plus the
        MOSI metrics); multi-label: accuracy, micro_f1, macro_f1; text
        generation (greedy `model.generate`): bleu (BLEU-4), chrf,
        exact_match and per_example rows (`mmzoo.analysis.text_metrics`).
        Also "num_examples".

    Example:
        >>> import numpy as np, keras, mmzoo
        >>> spec = mmzoo.Features("x", shape=(3,), normalize=False)
        >>> model = mmzoo.build_model("early_fusion", [spec], task=mmzoo.Classification(2))
        >>> x = {"x": np.zeros((4, 3), "float32")}
        >>> sorted(evaluate(model, (x, np.array([0, 1, 0, 1]))))[:6]
        ['accuracy', 'binary_f1', 'class_names', 'confusion_matrix', 'macro_f1', 'macro_precision']
    """
    task = task if task is not None else getattr(model, "task", None)
    if task is None:
        raise ValueError("evaluate needs a task: pass task=mmzoo.Classification(...) (the model has none).")
    if task.kind == "text_generation":
        from mmzoo.analysis.text_metrics import evaluate_generation

        return evaluate_generation(model, dataset, task)
    y_true, y_pred = predict_all(model, dataset)
    return score(task, y_true, y_pred, metrics)


def score(task, y_true, y_pred, metrics=None):
    """The task's metrics from targets and predictions (see `evaluate`)."""
    if task.kind == "classification":
        result = classification_metrics(y_true, y_pred, task.num_classes, task.class_names)
    elif task.kind == "regression":
        result = regression_metrics(y_true, y_pred)
        if metrics == "mosi" or getattr(task, "evaluation_metrics", None) == "mosi":
            result.update(mosi_metrics(y_true, y_pred))
    elif task.kind == "multilabel":
        result = multilabel_metrics(y_true, y_pred, task.threshold)
    else:
        raise ValueError(
            f"evaluate supports classification, regression and multi-label tasks; "
            f"received a {task.kind} task (use model.evaluate for its metrics)."
        )
    result["num_examples"] = int(len(y_true))
    return result
