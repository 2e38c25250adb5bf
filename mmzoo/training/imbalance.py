"""Class weights for imbalanced classification, and a dataset that carries them as sample weights.

`class_weights` computes scikit-learn's "balanced" weights
(`n_examples / (n_classes * count(c))`) from the training labels;
`with_class_weights` adds each example's class weight as the third element of
a `(features, labels)` dataset, which `model.fit` (and so `mmzoo.train`,
unchanged) uses as the sample weight of the loss and metrics. `mmzoo.fit`
does both with `class_weight="balanced"`.
"""

import numpy as np
import tensorflow as tf


def _labels(data):
    """Integer labels from an array-like or a dataset of `(features, labels, ...)` batches."""
    if isinstance(data, tf.data.Dataset):
        element = data.element_spec
        if not isinstance(element, tuple) or len(element) < 2:
            raise ValueError("class_weights needs a dataset of (features, labels); this one yields no labels.")
        parts = [np.asarray(y).reshape(-1) for y in data.map(lambda *e: e[1]).as_numpy_iterator()]
        labels = np.concatenate(parts) if parts else np.zeros((0,), np.int64)
    else:
        labels = np.asarray(data).reshape(-1)
    if labels.size == 0:
        raise ValueError("class_weights received no labels.")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(
                f"class_weights needs integer class ids; received {labels.dtype} labels such as {labels[:3].tolist()}."
            )
        labels = labels.astype(np.int64)
    return labels


def class_weights(labels, mode="balanced"):
    """`{class_id: weight}` for the classes present in the training labels.

    Args:
        labels: integer class ids (any array-like), or a `tf.data.Dataset`
            of `(features, labels)` batches (read once).
        mode: "balanced": scikit-learn's `compute_class_weight("balanced")`,
            `n_examples / (n_classes_present * count(class))`, so every class
            contributes the same total weight.

    Returns:
        A dict from class id (int) to weight (float); classes absent from
        `labels` are left out (they never weigh an example).

    Raises:
        ValueError: an unknown mode, no labels, or labels that are not class ids.

    Example:
        >>> class_weights([0, 0, 0, 1])
        {0: 0.6666666666666666, 1: 2.0}
    """
    if mode != "balanced":
        raise ValueError(
            f"class_weights mode must be 'balanced'; received {mode!r}. "
            f"Pass a dict {{class_id: weight}} for weights of your own."
        )
    from sklearn.utils.class_weight import compute_class_weight

    labels = _labels(labels)
    classes = np.unique(labels)
    weights = compute_class_weight("balanced", classes=classes, y=labels)
    return {int(c): float(w) for c, w in zip(classes, weights)}


def with_class_weights(dataset, weights):
    """`dataset` of `(features, labels)` yielding `(features, labels, sample_weights)`, each its class's weight.

    Args:
        dataset: batches of `(features, integer labels)`.
        weights: `{class_id: weight}` (e.g. from `class_weights`); classes
            not in it weigh 1.

    Returns:
        The mapped dataset (mmzoo's epoch-seeded shuffles inside it still
        follow `mmzoo.train`'s epochs).

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices(({"x": [[1.0], [2.0]]}, [0, 1])).batch(2)
        >>> [w.tolist() for _, _, w in with_class_weights(ds, {1: 3.0}).as_numpy_iterator()]
        [[1.0, 3.0]]
    """
    if not isinstance(dataset.element_spec, tuple) or len(dataset.element_spec) != 2:
        raise ValueError(
            f"with_class_weights needs a dataset of (features, labels); this one yields {dataset.element_spec}."
        )
    if any(int(c) < 0 for c in weights):
        raise ValueError(f"with_class_weights: class ids must be >= 0; received {sorted(weights)}.")
    table = np.ones(max(int(c) for c in weights) + 1 if weights else 1, np.float32)
    for c, w in weights.items():
        table[int(c)] = float(w)
    table = tf.constant(table)

    def add(features, labels):
        ids = tf.reshape(tf.cast(labels, tf.int32), [-1])
        known = ids < tf.shape(table)[0]
        weight = tf.where(known, tf.gather(table, tf.minimum(ids, tf.shape(table)[0] - 1)), 1.0)
        return features, labels, weight

    return dataset.map(add, num_parallel_calls=tf.data.AUTOTUNE)
