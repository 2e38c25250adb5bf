"""Strict checking of plain YAML/JSON values against dataclass type hints, with key-path errors.

`parse(cls, value)` turns nested dicts and lists into the dataclass `cls`,
checking every value against the field's type hint (`int`, `float`, `str`,
`bool`, `Optional`, `Union`, `Literal`, `List`, `Dict`, nested dataclasses,
`Any`). A wrong type or an unknown key raises `ConfigError` whose message
starts with the key path; after construction a dataclass's
`validate(path)` method, if it has one, checks value ranges. A dataclass
with a `_SHORTHAND` attribute also takes a string (`"gru"` ->
`{"name": "gru"}`), one with `_LIST_SHORTHAND` a list. `bool` is never
accepted as a number; an `int` is accepted (and converted) for `float`.

Example:
    >>> import dataclasses
    >>> from typing import Optional
    >>> @dataclasses.dataclass
    ... class Training:
    ...     epochs: int = 8
    ...     patience: Optional[int] = None
    >>> parse(Training, {"epochs": 3}, "training")
    Training(epochs=3, patience=None)
    >>> parse(Training, {"epochs": "3"}, "training")
    Traceback (most recent call last):
    ...
    mmzoo.experiments.typecheck.ConfigError: training.epochs: expected int, got str ('3')
"""

import dataclasses
import difflib
import typing
from typing import Any, Dict, List, Literal, Union

__all__ = ["ConfigError", "join", "parse"]


class ConfigError(ValueError):
    """A config that does not parse or validate; the message starts with the key path (or file)."""


def join(path, key):
    """`path.key`, or `path[key]` for keys holding dots (search-space keys)."""
    key = str(key)
    if "." in key:
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(tp):
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None):
        return "null"
    if origin is Union:
        return " or ".join(_type_name(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, List):
        return "a list"
    if origin in (dict, Dict) or dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _wrong(tp, value, path):
    shown = f" ({value!r})" if isinstance(value, (str, int, float)) else ""
    return ConfigError(f"{path}: expected {_type_name(tp)}, got {type(value).__name__}{shown}")


def _parse(tp, value, path):
    """`value` checked (and normalised) against type `tp`; errors name `path`."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Union:
        if value is None:
            if type(None) in args:
                return None
            raise _wrong(tp, value, path)
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            try:
                return _parse(options[0], value, path)
            except ConfigError as error:
                if str(error).startswith(f"{path}: expected "):  # say that null is fine too
                    raise _wrong(tp, value, path) from None
                raise
        for option in options:
            try:
                return _parse(option, value, path)
            except ConfigError:
                continue
        raise _wrong(tp, value, path)
    if origin is Literal:
        if value not in args or isinstance(value, bool) != any(isinstance(a, bool) for a in args):
            raise _wrong(tp, value, path)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise _wrong(tp, value, path)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(tp, value, path)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(tp, value, path)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _wrong(tp, value, path)
        return value
    if origin in (list, List):
        if not isinstance(value, (list, tuple)):
            raise _wrong(tp, value, path)
        return [_parse(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin in (dict, Dict):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _wrong(tp, value, path)
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"{join(path, key)}: keys must be strings; got {type(key).__name__} {key!r}")
            out[key] = _parse(args[1], item, join(path, key))
        return out
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, path)
    raise TypeError(f"mmzoo.experiments.typecheck cannot check type {tp!r} at {path}")  # a schema bug, not user input


def parse(cls, value, path=""):
    """`value` (a dict, None for all defaults, or a shorthand) as dataclass `cls`; errors name `path`."""
    if value is None:
        value = {}
    elif isinstance(value, str) and hasattr(cls, "_SHORTHAND"):
        value = {cls._SHORTHAND: value}
    elif isinstance(value, (list, tuple)) and hasattr(cls, "_LIST_SHORTHAND"):
        value = {cls._LIST_SHORTHAND: list(value)}
    if isinstance(value, cls):
        value = dataclasses.asdict(value)
    if not isinstance(value, dict):
        raise _wrong(cls, value, path or "config")
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, item in value.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{join(path, key)}: unknown key.{hint} {path or 'The config'} takes: {', '.join(fields)}"
            )
        kwargs[key] = _parse(hints[key], item, join(path, key))
    config = cls(**kwargs)
    if hasattr(config, "validate"):
        config.validate(path)
    return config
