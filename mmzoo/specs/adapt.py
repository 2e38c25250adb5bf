"""Fit the preprocessing state of input specs (vocabularies, statistics) on data."""

import json

import numpy as np
import tensorflow as tf


def _frame_column(data, spec):
    """Input `spec.name`'s column of a pandas DataFrame: strings, or stacked numbers for Features."""
    if spec.name not in data.columns:
        raise ValueError(
            f"Cannot adapt input '{spec.name}': the DataFrame has no column "
            f"'{spec.name}' (columns: {', '.join(map(str, data.columns))}). Name the "
            f"column like the input, e.g. df.rename(columns={{<column>: '{spec.name}'}})."
        )
    values = data[spec.name].dropna()
    if spec.modality == "text" and not getattr(spec, "token_ids", False):
        return np.asarray([str(v) for v in values], dtype=object)
    rows = [json.loads(v) if isinstance(v, str) else v for v in values]
    return np.stack([np.asarray(r, "float32").reshape(spec.shape) for r in rows])


def _column(data, name):
    """The values of input `name` from a dict of arrays or a tf.data dataset."""
    if isinstance(data, dict):
        if name not in data:
            raise ValueError(
                f"Cannot adapt input '{name}': the data has no key '{name}' (keys: {', '.join(sorted(data))})."
            )
        return (
            np.asarray(data[name], dtype=object)
            if np.asarray(data[name]).dtype.kind in "US"
            else np.asarray(data[name])
        )
    if isinstance(data, tf.data.Dataset):
        element = data.element_spec
        features = element[0] if isinstance(element, tuple) else element
        if not isinstance(features, dict) or name not in features:
            raise ValueError(
                f"Cannot adapt input '{name}': the dataset must yield ({{name: tensor}}, label) "
                f"with a '{name}' key; its elements are {element}."
            )
        if isinstance(element, tuple):
            return data.map(lambda x, *_: x[name])
        return data.map(lambda x: x[name])
    raise TypeError(
        f"adapt() takes a dict of arrays, a DataFrame or a tf.data.Dataset; received {type(data).__name__}."
    )


def adapt(inputs, data):
    """Adapts every spec in `inputs` that needs it (Text vocabularies, Features stats).

    Args:
        inputs: a list of specs.
        data: a dict `{name: array}`, a pandas DataFrame with a column per
            input name (text cells; Features cells as numbers, lists or JSON
            lists; missing cells are left out), or a `tf.data.Dataset`
            yielding `({name: tensor}, label)` (batched or not).

    Returns:
        `inputs`, for chaining.

    Example:
        >>> import mmzoo
        >>> text = mmzoo.Text("review", vocabulary_size=50, sequence_length=4)
        >>> _ = mmzoo.adapt([text], {"review": ["good film", "bad film"]})
        >>> text.adapted
        True
        >>> import pandas as pd
        >>> size = mmzoo.Features("size", shape=(1,))
        >>> _ = mmzoo.adapt([size], pd.DataFrame({"size": [1.0, 3.0]}))
        >>> size.adapted
        True
    """
    frame = type(data).__name__ == "DataFrame" and hasattr(data, "columns")
    for spec in inputs:
        if spec.needs_adapt:
            column = _frame_column(data, spec) if frame else _column(data, spec.name)
            if isinstance(column, tf.data.Dataset) and column.take(1).cardinality() == 0:
                raise ValueError(f"Cannot adapt input '{spec.name}': the dataset is empty.")
            spec.adapt(column)
    return inputs
