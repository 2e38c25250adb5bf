"""tf.data pipelines from in-memory arrays."""

import numpy as np
import tensorflow as tf

from mmzoo.data.pipeline import finalize


def _as_array(name, value):
    array = np.asarray(value)
    if array.dtype.kind in "USO":
        array = array.astype(object)
    return array


def check_arrays(features, labels=None, inputs=None):
    """Validates a dict of arrays against the specs; returns `(features, labels, n)`.

    Raises a `ValueError` naming the input when a key is missing, the data is
    empty, lengths differ, or a shape or dtype does not fit the spec.
    """
    if not isinstance(features, dict) or not features:
        raise ValueError(f"Expected a non-empty dict {{input_name: array}}; received {type(features).__name__}.")
    features = {k: _as_array(k, v) for k, v in features.items()}
    lengths = {k: len(v) for k, v in features.items()}
    if labels is not None:
        labels = np.asarray(labels)
        lengths["<labels>"] = len(labels)
    if len(set(lengths.values())) != 1:
        raise ValueError(f"All inputs and labels need the same number of examples; received {lengths}.")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError(f"The dataset is empty (inputs: {', '.join(sorted(features))}).")
    for spec in inputs or []:
        if spec.name not in features:
            raise ValueError(
                f"{spec.modality.capitalize()} input '{spec.name}' is missing from the data; "
                f"keys: {', '.join(sorted(features))}."
            )
        array = features[spec.name]
        want = tuple(spec.shape)
        if tuple(array.shape[1:]) != want:
            raise ValueError(
                f"{spec.modality.capitalize()} input '{spec.name}' expects {spec.describe()}; "
                f"received an array of shape {array.shape}."
            )
        is_string = array.dtype == object
        if (spec.dtype == "string") != is_string:
            raise ValueError(
                f"{spec.modality.capitalize()} input '{spec.name}' expects {spec.describe()}; received {array.dtype}."
            )
        if not is_string and np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            bad = int((~np.isfinite(array)).reshape(n, -1).any(axis=1).sum())
            raise ValueError(
                f"{spec.modality.capitalize()} input '{spec.name}' has NaN or Inf values in {bad} examples."
            )
        if not is_string:
            features[spec.name] = array.astype(spec.dtype, copy=False)
    return features, labels, n


def from_arrays(
    features, labels=None, inputs=None, batch_size=32, shuffle=False, seed=None, cache=False, drop_remainder=False
):
    """A batched `tf.data.Dataset` of `({name: x}, y)` from in-memory arrays.

    Args:
        features: `{input_name: array}`; strings may be lists or NumPy arrays.
        labels: optional array of labels.
        inputs: optional list of specs to validate against (names, shapes, dtypes).
        batch_size, shuffle, seed, cache, drop_remainder: see `mmzoo.data.finalize`.

    Returns:
        A `tf.data.Dataset`.

    Example:
        >>> import numpy as np
        >>> ds = from_arrays({"x": np.zeros((10, 3), "float32")}, np.arange(10), batch_size=4)
        >>> [int(b[1].shape[0]) for b in ds]
        [4, 4, 2]
    """
    features, labels, n = check_arrays(features, labels, inputs)
    element = (features, labels) if labels is not None else features
    ds = tf.data.Dataset.from_tensor_slices(element)
    return finalize(
        ds,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        cache=cache,
        drop_remainder=drop_remainder,
        num_examples=n,
    )
