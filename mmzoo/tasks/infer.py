"""The task a label column asks for: classification, multi-label or regression."""

import numpy as np
import pandas as pd

from mmzoo.data.labels import is_missing, label_key, split_label_set
from mmzoo.tasks.task import Classification, MultiLabel, Regression

MAX_INTEGER_CLASSES = 50  # integer labels with at most this many distinct values are classes


def infer_task(df, label):
    """Picks the task for `label` from its values, with the reason.

    - several label columns, or cells holding lists or "a|b" strings ->
      `MultiLabel` (label names sorted);
    - strings, booleans, or integers with at most 50 distinct values ->
      `Classification` with the sorted class names (integers sorted as numbers);
    - other numbers -> `Regression`.

    Args:
        df: a pandas DataFrame.
        label: the label column, or a list of 0/1 label columns.

    Returns:
        `(task, why)`.

    Raises:
        ValueError: a label column with fewer than two distinct values, or none at all.

    Example:
        >>> import pandas as pd
        >>> task, why = infer_task(pd.DataFrame({"y": ["cat", "dog", "cat"]}), "y")
        >>> task.class_names, why
        (['cat', 'dog'], '2 distinct strings: classification')
    """
    if not isinstance(label, str):
        names = [str(c) for c in label]
        return MultiLabel(num_labels=len(names), label_names=names), f"{len(names)} label columns: multi-label"
    values = [v for v in df[label] if isinstance(v, (list, tuple, np.ndarray)) or not is_missing(v)]
    if not values:
        raise ValueError(f"Label column '{label}' has no values (every cell is empty). Fill it in.")
    if any(isinstance(v, (list, tuple, np.ndarray)) or (isinstance(v, str) and "|" in v) for v in values):
        names = sorted({name for v in values for name in split_label_set(v)})
        if not names:
            raise ValueError(f"Label column '{label}' holds label sets but every set is empty.")
        return MultiLabel(
            num_labels=len(names), label_names=names
        ), f"label sets (lists or 'a|b'): multi-label over {len(names)} labels"
    series = pd.Series(values)
    distinct = series.unique()
    if len(distinct) < 2:
        raise ValueError(
            f"Label column '{label}' holds a single value ({distinct[0]!r}); a model needs at "
            f"least two classes or varying targets to learn from."
        )
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.isna().any() or pd.api.types.is_bool_dtype(series):
        names = sorted({label_key(v) for v in values})
        return Classification(
            num_classes=len(names), class_names=names
        ), f"{len(names)} distinct strings: classification"
    integral = bool(np.all(np.mod(numeric.to_numpy(float), 1) == 0))
    integer = pd.api.types.is_integer_dtype(series) or (integral and not pd.api.types.is_float_dtype(series))
    if integer and len(distinct) <= MAX_INTEGER_CLASSES:
        names = [label_key(v) for v in sorted(numeric.unique())]
        return Classification(
            num_classes=len(names), class_names=names
        ), f"{len(names)} distinct integers: classification"
    why = f"numbers ({len(distinct)} distinct): regression"
    return Regression(units=1), why
