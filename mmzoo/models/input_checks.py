"""Checks on a model's input dict that Keras does not make: names, batch sizes, finite values, UTF-8.

Keras flattens a dict of inputs by sorted key, so an extra key shifts every
input after it by one and the model silently computes on the wrong arrays;
NaN audio passes through a spectrogram as zeros; inputs of different batch
sizes fail deep inside Keras. These functions fail first, in Python, with a
message naming the input, what was expected, what was received and the fix.
They are cheap (key sets, static shapes, `np.isfinite` on float arrays
only), because they run on every call of the latency-tuned predict path.

Example:
    >>> import numpy as np
    >>> check_keys("Model 'm'", ["a", "b"], {"a": 1, "c": 2})
    Traceback (most recent call last):
    ...
    ValueError: Model 'm' received unknown input 'c' and is missing input 'b'; it takes inputs 'a', 'b'. Inputs are matched by name, not position: rename or drop the unknown key and give every input.
"""

import numpy as np

from mmzoo.specs.presence import PRESENT_SUFFIX


def optional_presence(names):
    """The `<input>_present` names among `names` whose input is also in `names` (they may be left out)."""
    names = set(names)
    return {n for n in names if n.endswith(PRESENT_SUFFIX) and n[: -len(PRESENT_SUFFIX)] in names}


def _quoted(names):
    return ", ".join(repr(n) for n in names)


def _plural(word, names):
    return f"{word}{'s' if len(names) > 1 else ''} {_quoted(names)}"


def check_keys(subject, expected, received, optional=()):
    """Raises a `ValueError` naming unknown and missing keys of `received` against `expected` names.

    Args:
        subject: what takes the inputs, as the message starts, e.g. "Model 'early_fusion'".
        expected: the model's input names.
        received: the dict (or its keys) the caller gave.
        optional: expected names that may be left out (presence masks).
    """
    expected, keys = list(expected), set(received)
    unknown = sorted(k for k in keys if k not in set(expected))
    missing = sorted(set(expected) - keys - set(optional))
    if not unknown and not missing:
        return
    problems = []
    if unknown:
        problems.append(f"received unknown {_plural('input', unknown)}")
    if missing:
        problems.append(f"is missing {_plural('input', missing)}")
    takes = _quoted(sorted(n for n in expected if n not in set(optional)))
    if optional:
        takes += f" (optional: {_quoted(sorted(optional))})"
    fixes = (["rename or drop the unknown key" + ("s" if len(unknown) > 1 else "")] if unknown else []) + (
        ["give every input"] if missing else []
    )
    raise ValueError(
        f"{subject} {' and '.join(problems)}; it takes inputs {takes}. Inputs are matched "
        f"by name, not position: {' and '.join(fixes)}."
    )


def check_batch_sizes(model_name, inputs):
    """Raises a `ValueError` naming the inputs and sizes when their known batch sizes differ.

    Only static first dimensions are compared (NumPy arrays, eager tensors);
    unknown ones (`None`, dataset specs) are skipped.
    """
    sizes = {}
    for name, value in inputs.items():
        shape = getattr(value, "shape", None)
        if shape is not None and len(shape) and shape[0] is not None:
            sizes[name] = int(shape[0])
    if len(set(sizes.values())) > 1:
        described = ", ".join(f"'{n}': {s}" for n, s in sorted(sizes.items()))
        raise ValueError(
            f"Model '{model_name}' received inputs with different batch sizes ({described}); every "
            f"input needs one row per example. Give all inputs the same number of examples."
        )


def check_finite(inputs, describe):
    """Raises a `ValueError` naming the input and the first example holding NaN or Inf.

    Only float NumPy arrays and eager float tensors are looked at (ints,
    bools and strings cannot hold NaN). `describe(name)` returns how to name
    the input, e.g. "Audio input 'voice'".
    """
    for name, value in inputs.items():
        array = _float_values(value)
        if array is None or array.size == 0:
            continue
        finite = np.isfinite(array)
        if finite.all():
            continue
        bad = ~finite.reshape(len(array), -1).all(axis=1) if array.ndim else np.array([True])
        rows = np.flatnonzero(bad)
        first = array[rows[0]] if array.ndim else array
        what = "NaN" if np.isnan(first).any() else "Inf"
        more = f" (and {len(rows) - 1} more example{'s' if len(rows) > 2 else ''})" if len(rows) > 1 else ""
        raise ValueError(
            f"{describe(name)} has {what} at example {int(rows[0])}{more}; expected finite "
            f"{array.dtype} values. Replace or drop such examples (e.g. np.nan_to_num, or fix the "
            f"source) before predicting."
        )


def _float_values(value):
    """`value` as a float NumPy array, or None when it is not float data held in memory."""
    if isinstance(value, np.ndarray):
        return value if value.dtype.kind == "f" else None
    dtype = getattr(value, "dtype", None)
    if getattr(dtype, "is_floating", False) and hasattr(value, "numpy"):
        try:
            return value.numpy()  # an eager tensor: no copy on CPU
        except (AttributeError, NotImplementedError, ValueError):
            return None  # a graph tensor holds no values
    return None


def utf8_strings(describe, name, array):
    """An object array of `str` from a NumPy str/bytes/object `array`; text that is not UTF-8 raises.

    Bytes are decoded as UTF-8 and `str` must encode to it (a lone surrogate,
    left by `surrogateescape` decoding, cannot); other items pass unchanged.

    The `ValueError` names the input (`describe(name)`), the example and the
    byte offset of the first invalid byte.
    """
    flat = array.reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    for i, item in enumerate(flat):
        if isinstance(item, (bytes, np.bytes_)):
            try:
                item = bytes(item).decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"{describe(name)} expects UTF-8 text; example {i} has the byte "
                    f"0x{bytes(item)[error.start]:02x} at byte offset {error.start}, which is not valid UTF-8 "
                    f"({error.reason}). Decode the text with its real encoding first (e.g. "
                    f"data.decode('latin-1')) and pass str."
                ) from None
        elif isinstance(item, str):
            _check_encodable(describe, name, i, item)
        out[i] = item
    return out.reshape(array.shape)


def _check_encodable(describe, name, index, text):
    """Strings holding lone surrogates (undecodable bytes kept by `surrogateescape`) cannot become UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"{describe(name)} expects UTF-8 text; example {index} has an undecodable character at position "
            f"{error.start} ({text[error.start]!r}, often a byte that was not UTF-8). Decode the text with its "
            f"real encoding first and pass str."
        ) from None
