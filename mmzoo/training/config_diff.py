"""What a training run's configuration is, and a readable diff between two of them.

`run_signature` turns a compiled model into plain JSON (its config and its
compile config); `config_diff` lists what changed between two such records,
one `path: old -> new` line per difference. `mmzoo.training.checkpoint` uses them to
refuse resuming a run with a different model.
"""

import json
import re

import numpy as np


def run_signature(model):
    """The JSON-comparable configuration of a compiled model: `{"model": ..., "compile": ...}`.

    Names Keras generated (`dense_3`) are replaced by their order of
    appearance, so the same model built twice in one process compares equal.

    Example:
        >>> import keras
        >>> def make():
        ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        ...     model.compile(optimizer="sgd", loss="mse")
        ...     return model
        >>> run_signature(make()) == run_signature(make())
        True
    """
    compile_config = model.get_compile_config() if getattr(model, "compiled", False) else None
    record = json.loads(json.dumps({"model": model.get_config(), "compile": compile_config}, default=jsonable))
    names = {}
    _collect_auto_names({"class_name": type(model).__name__, "config": record["model"]}, names)
    _collect_auto_names(record, names)
    return _rename(record, names)


def config_diff(old, new, path="", limit=20):
    """Readable lines `path: old -> new` for every entry that differs between two JSON values.

    Example:
        >>> config_diff({"a": 1, "b": [1, 2]}, {"a": 2, "b": [1, 2, 3]})
        ['a: 1 -> 2', 'b: 2 items -> 3 items', 'b[2]: (absent) -> 3']
    """
    lines = []
    _diff(old, new, path, lines)
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more differences"]
    return lines


def jsonable(value):
    """JSON fallback for config values: NumPy arrays and scalars as lists and numbers, anything else as repr."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


def _snake(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _collect_auto_names(value, names):
    """Names that Keras generated from a class name (`dense`, `dense_3`), in order of appearance."""
    if isinstance(value, dict):
        inner = value.get("config")
        if isinstance(value.get("class_name"), str) and isinstance(inner, dict):
            name = inner.get("name")
            base = _snake(value["class_name"])
            if isinstance(name, str) and re.fullmatch(rf"{re.escape(base)}(_\d+)?", name) and name not in names:
                names[name] = f"<{base} #{sum(1 for n in names.values() if n.startswith('<' + base + ' '))}>"
        for item in value.values():
            _collect_auto_names(item, names)
    elif isinstance(value, list):
        for item in value:
            _collect_auto_names(item, names)


def _rename(value, names):
    if isinstance(value, dict):
        return {k: _rename(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    if isinstance(value, str):
        return names.get(value, value)
    return value


def _label(item):
    """`:name` for a list entry that is a named layer or spec config, else ""."""
    if not isinstance(item, dict):
        return ""
    name = item.get("name")
    if not isinstance(name, str) and isinstance(item.get("config"), dict):
        name = item["config"].get("name")
    return f":{name}" if isinstance(name, str) else ""


def _diff(old, new, path, lines):
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            where = f"{path}.{key}" if path else str(key)
            if key not in new:
                lines.append(f"{where}: {_short(old[key])} -> (absent)")
            elif key not in old:
                lines.append(f"{where}: (absent) -> {_short(new[key])}")
            else:
                _diff(old[key], new[key], where, lines)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            lines.append(f"{path}: {len(old)} items -> {len(new)} items")
        for i in range(max(len(old), len(new))):
            item = old[i] if i < len(old) else new[i]
            where = f"{path}[{i}{_label(item)}]"
            if i >= len(new):
                lines.append(f"{where}: {_short(old[i])} -> (absent)")
            elif i >= len(old):
                lines.append(f"{where}: (absent) -> {_short(new[i])}")
            else:
                _diff(old[i], new[i], where, lines)
    elif old != new:
        lines.append(f"{path}: {_short(old)} -> {_short(new)}")


def _short(value, width=60):
    text = f"{value:.7g}" if isinstance(value, float) else json.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."
