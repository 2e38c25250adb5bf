"""Labels of a manifest: numbers, class names, label sets ("a|b" or lists) and 0/1 columns.

`read_labels` turns a DataFrame's label column(s) into the array a task
trains on and records each bad row (missing label, unknown class name) on
the manifest's rows, so that they raise or are skipped like any bad row.
"""

import math

import numpy as np
import pandas as pd


def is_missing(value):
    """True for None, pandas NA and float NaN (not for lists or empty strings)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def label_names(class_names, task):
    """`(names, multi_label)` from `class_names=` or a task's class or label names."""
    if class_names is not None:
        return [str(c) for c in class_names], False
    if task is not None and getattr(task, "kind", None) == "multilabel":
        return (None if task.label_names is None else list(task.label_names)), True
    names = getattr(task, "class_names", None)
    return (None if names is None else list(names)), False


def read_labels(rows, df, label, names=None, multi_label=False):
    if not isinstance(label, str):
        return _read_label_columns(rows, df, list(label))
    if names is not None:
        read = _read_label_sets if multi_label else _read_label_names
        return read(rows, df[label], label, names)
    if multi_label:
        raise ValueError(
            f"Label column '{label}': a MultiLabel task needs label_names to read "
            f"label sets; received label_names=None. Pass "
            f"MultiLabel(num_labels=..., label_names=[...])."
        )
    return _read_numeric_labels(rows, df[label], label)


def _read_numeric_labels(rows, series, column):
    numeric = pd.to_numeric(series, errors="coerce")
    strange = numeric.isna() & ~series.isna()
    if strange.any():
        example = series[strange].iloc[0]
        raise ValueError(
            f"Label column '{column}' holds non-numeric values (e.g. {example!r}); labels must "
            f"be ints or floats, or class names with class_names=[...] (or task=). Or map them "
            f"to class ids, e.g. df['{column}'] = df['{column}'].astype('category').cat.codes."
        )
    for i in np.flatnonzero(numeric.isna().to_numpy()):
        _missing_label(rows, int(i), column)
    integer = pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(series)
    return numeric.fillna(0).to_numpy().astype("int64" if integer else "float32")


def _missing_label(rows, position, column):
    rows.add(
        position,
        column,
        column,
        None,
        "missing label",
        "the label is missing",
        f"Fill it in or drop the row (df.dropna(subset=['{column}'])).",
    )


def label_key(value):
    """The text a label value is matched by against class names: 3, 3.0 and "3" give "3"."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value).strip()


def _unknown_label(rows, position, column, value, names):
    shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
    row = rows.labels[position]  # a CSV read by pandas: row k is line k + 2 (after the header)
    line = f" (line {row + 2} of the CSV file)" if rows.source.endswith(".csv'") and isinstance(row, int) else ""
    rows.add(
        position,
        column,
        column,
        None,
        "unknown label",
        f"the label {value!r}{line} is not one of the {len(names)} class names ({shown})",
        "Fix the label or drop the row; a model predicts only the classes it was trained on.",
    )


def _read_label_names(rows, series, column, names):
    index = {name: i for i, name in enumerate(names)}
    labels = np.zeros(len(series), "int64")
    for i, value in enumerate(series):
        if is_missing(value):
            _missing_label(rows, i, column)
        elif label_key(value) not in index:
            _unknown_label(rows, i, column, value, names)
        else:
            labels[i] = index[label_key(value)]
    return labels


def split_label_set(value):
    """A multi-label cell as a list of names: a list/tuple/array, or a "a|b" string ("" is none)."""
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [label_key(v) for v in value]
    text = str(value).strip()
    return [part.strip() for part in text.split("|") if part.strip()] if text else []


def _read_label_sets(rows, series, column, names):
    index = {name: i for i, name in enumerate(names)}
    labels = np.zeros((len(series), len(names)), "float32")
    for i, value in enumerate(series):
        if not isinstance(value, (list, tuple, set, np.ndarray)) and is_missing(value):
            _missing_label(rows, i, column)
            continue
        for name in split_label_set(value):
            if name not in index:
                _unknown_label(rows, i, column, name, names)
                break
            labels[i, index[name]] = 1.0
    return labels


def _read_label_columns(rows, df, columns):
    """Several 0/1 label columns: one multi-hot float32 vector per row."""
    labels = np.zeros((len(df), len(columns)), "float32")
    for j, column in enumerate(columns):
        numeric = pd.to_numeric(df[column], errors="coerce")
        for i, (value, raw) in enumerate(zip(numeric, df[column])):
            if is_missing(raw):
                _missing_label(rows, i, column)
            elif value not in (0, 1):
                rows.add(
                    i,
                    column,
                    column,
                    None,
                    "bad label",
                    f"a multi-label column holds 0 or 1; received {raw!r}",
                    "Write 1 where the label applies and 0 elsewhere, or drop the row.",
                )
            else:
                labels[i, j] = value
    return labels
