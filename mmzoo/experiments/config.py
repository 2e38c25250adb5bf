"""Experiment configs: one YAML file -> validated dataclasses, dotted overrides, and back to YAML.

An experiment config names everything a training run needs: the data (a
registered dataset, `dataset:`, or your own CSV, `data:`), which of its inputs
to use (and spec options for them), the architecture, its encoders and fusion,
task options, training and export settings, and optionally a hyperparameter
search space (`mmzoo.tune`). Every section and
field has a default, so an empty file is the default run
(`python -m mmzoo train` with no flags).

Parsing is strict: an unknown key or a value of the wrong type is a
`ConfigError` whose message starts with the key path
(`training.epochs: expected int, got str ('three')`). YAML is read with a
`yaml.SafeLoader` subclass, which never builds Python objects; the one
difference from `yaml.safe_load` is that `1e-3` reads as a float (YAML 1.2),
not as the string PyYAML's YAML 1.1 rules make of it. Nothing is `eval`ed.

Overrides (`--set training.epochs=3` on the command line) are dotted keys
whose values are parsed as YAML, then type-checked like the file.

Example:
    >>> from mmzoo.experiments.config import ExperimentConfig, apply_overrides, from_dict
    >>> config = from_dict({"architecture": "gmu", "training": {"epochs": 3, "learning_rate": 1e-3}})
    >>> config.architecture.name, config.training.epochs, config.dataset.name
    ('gmu', 3, 'avmnist_sample')
    >>> apply_overrides(config, ["training.epochs=5", "encoders.voice=gru"]).encoders["voice"].name
    'gru'
    >>> apply_overrides(config, ["training.epochs=three"])
    Traceback (most recent call last):
    ...
    mmzoo.experiments.typecheck.ConfigError: training.epochs: expected int, got str ('three')
"""

import dataclasses
import os
import re
from typing import Any, Dict, List, Literal, Optional, Union

import yaml

from mmzoo.experiments.typecheck import ConfigError, join, parse

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "apply_overrides",
    "config_from_args",
    "dump_config",
    "from_dict",
    "get_path",
    "load_config",
    "parse_overrides",
    "parse_yaml",
    "save_config",
    "to_dict",
]


class _Loader(yaml.SafeLoader):
    """`yaml.SafeLoader` that also reads `1e-3` / `5E+2` as floats (YAML 1.2); builds no Python objects."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text, source="<string>"):
    """Parses YAML text safely (no Python objects); syntax errors become `ConfigError` naming `source`."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a yaml.SafeLoader subclass
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML: {error}") from None


# --- the schema -----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class DatasetConfig:
    """`dataset:` which loader of `mmzoo.datasets` to use (see `python -m mmzoo list`)."""

    name: str = "avmnist_sample"
    data_dir: Optional[str] = None  # real data folder (default $MMZOO_DATA)
    limit_batches: Optional[int] = None  # only the first N batches of every split: a quick trial run
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)  # loader keyword arguments

    def validate(self, path):
        if self.limit_batches is not None and self.limit_batches < 1:
            raise ConfigError(f"{join(path, 'limit_batches')}: must be at least 1; received {self.limit_batches}")


@dataclasses.dataclass
class DataConfig:
    """`data:` your own CSV, one row per example (texts, file paths, numbers, the label); instead of `dataset:`.

    The inputs are inferred from the columns (`mmzoo.infer_inputs`); relative
    file paths inside a CSV resolve against that CSV's folder, and relative
    `csv`/`test` paths in a YAML file against the YAML file's folder.
    """

    csv: Optional[str] = None  # the training CSV (required)
    label: Optional[str] = None  # its label column (required)
    test: Optional[str] = None  # a test CSV with the same columns (default: none)
    validation: float = 0.1  # share of the training rows held out for validation

    def validate(self, path):
        if not 0 <= self.validation < 1:
            raise ConfigError(
                f"{join(path, 'validation')}: expected a share of the rows in [0, 1), e.g. 0.1; "
                f"received {self.validation}"
            )


@dataclasses.dataclass
class InputsConfig:
    """`inputs:` which of the dataset's inputs the model takes, and spec options per input."""

    names: Optional[List[str]] = None  # default: all of the dataset's inputs
    options: Dict[str, Dict[str, Any]] = dataclasses.field(default_factory=dict)  # {input: {spec field: value}}

    def validate(self, path):
        if self.names is not None and not self.names:
            raise ConfigError(f"{join(path, 'names')}: name at least one input, or null for all of them")


@dataclasses.dataclass
class ArchitectureConfig:
    """`architecture:` a zoo entry (`mmzoo.list_models()`) and its `build_model` options."""

    _SHORTHAND = "name"
    name: str = "early_fusion"
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)  # head_units, dropout, missing_modalities, ...


@dataclasses.dataclass
class EncoderConfig:
    """One entry of `encoders:`; a plain string is shorthand for the name. Null name: the input's default."""

    _SHORTHAND = "name"
    name: Optional[str] = None
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class FusionConfig:
    """`fusion:` override of the architecture's fusion layer; null name keeps it (options still apply)."""

    _SHORTHAND = "name"
    name: Optional[str] = None
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TaskConfig:
    """`task:` options replacing fields of the dataset's task (e.g. `class_names`, a MultiLabel `threshold`).

    `kind: text_generation` trains a `TextGeneration` task instead: `target`
    names a text input of the dataset (its strings become the target and it
    leaves the model's inputs) or is `label` (the class names of the labels);
    `options` are then `TextGeneration` fields (max_length, units, ...).
    """

    kind: Optional[Literal["text_generation"]] = None
    target: Optional[str] = None
    options: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TrainingConfig:
    """`training:` what `mmzoo.train` gets."""

    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_schedule: Literal["cosine", "constant"] = "cosine"  # cosine: decays to 0 over all epochs
    early_stopping_patience: Optional[int] = None
    keep_checkpoints: bool = False  # keep <run>/checkpoints/ after a successful run
    # None: Keras's global policy; "auto": by device (mmzoo.training.precision)
    precision: Optional[Literal["auto", "float32", "mixed_float16", "mixed_bfloat16"]] = None

    def validate(self, path):
        for key in ("epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{join(path, key)}: must be at least 1; received {getattr(self, key)}")
        if not self.learning_rate > 0:
            raise ConfigError(f"{join(path, 'learning_rate')}: must be positive; received {self.learning_rate}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ConfigError(
                f"{join(path, 'early_stopping_patience')}: must be at least 1 (or null for none); "
                f"received {self.early_stopping_patience}"
            )


@dataclasses.dataclass
class ExportConfig:
    """`export:` where the run folder goes, and extra export formats beside model.keras and savedmodel/."""

    output: str = "saved_models"
    run_name: Optional[str] = None  # default: <dataset>-<architecture>-<timestamp>
    formats: List[str] = dataclasses.field(default_factory=list)  # registered export formats, e.g. tflite, onnx

    def validate(self, path):
        import mmzoo.artifacts.formats  # noqa: F401  (registers the built-in export formats)
        from mmzoo.registry import EXPORT_FORMATS

        for index, name in enumerate(self.formats):
            if name not in EXPORT_FORMATS:
                known = ", ".join(repr(n) for n in EXPORT_FORMATS.names())
                raise ConfigError(
                    f"{join(path, 'formats')}[{index}]: expected a registered export format ({known}); "
                    f"received {name!r}"
                )


@dataclasses.dataclass
class SearchParam:
    """One dimension of `search.space`: `choices` (a list is shorthand), or an int/float range, or a boolean."""

    _LIST_SHORTHAND = "choices"
    choices: Optional[List[Any]] = None
    type: Optional[Literal["int", "float", "bool"]] = None  # default: int if min and max are ints, else float
    min: Optional[Union[int, float]] = None
    max: Optional[Union[int, float]] = None
    step: Optional[Union[int, float]] = None
    sampling: Literal["linear", "log", "reverse_log"] = "linear"

    @property
    def kind(self):
        if self.choices is not None:
            return "choice"
        if self.type is not None:
            return self.type
        return "int" if isinstance(self.min, int) and isinstance(self.max, int) else "float"

    def validate(self, path):
        if self.choices is not None:
            if self.type is not None or self.min is not None or self.max is not None:
                raise ConfigError(f"{path}: give either choices or a type/min/max range, not both")
            if not self.choices:
                raise ConfigError(f"{path}.choices: give at least one value")
            return
        if self.kind == "bool":
            return
        if self.min is None or self.max is None:
            raise ConfigError(f"{path}: a range needs min and max (or give choices: [...])")
        if self.kind == "int" and not all(isinstance(v, int) for v in (self.min, self.max, self.step or 1)):
            raise ConfigError(
                f"{path}: type int needs int min, max and step; received "
                f"min={self.min!r}, max={self.max!r}, step={self.step!r}"
            )
        if not self.min < self.max:
            raise ConfigError(f"{path}: min must be below max; received min={self.min}, max={self.max}")
        if self.sampling != "linear" and self.min <= 0:
            raise ConfigError(f"{path}: {self.sampling} sampling needs min > 0; received {self.min}")

    def candidates(self):
        """The values to check a search key with: every choice, or the range's ends."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "bool":
            return [False, True]
        return [self.min, self.max]


@dataclasses.dataclass
class SearchConfig:
    """`search:` a KerasTuner search over dotted config keys (`mmzoo.tune`)."""

    space: Dict[str, SearchParam] = dataclasses.field(default_factory=dict)
    tuner: Literal["random", "bayesian", "hyperband"] = "random"
    max_trials: int = 10  # random and bayesian
    max_epochs: Optional[int] = None  # hyperband (default training.epochs)
    factor: int = 3  # hyperband
    objective: str = "val_loss"
    direction: Optional[Literal["min", "max"]] = None  # default: from the objective's name
    executions_per_trial: int = 1
    directory: Optional[str] = None  # default: <export.output>/<export.run_name or tune-...>

    def validate(self, path):
        if not self.space:
            raise ConfigError(
                f"{join(path, 'space')}: map at least one dotted config key to its values, "
                f"e.g. training.learning_rate: {{min: 1e-4, max: 1e-2, sampling: log}}"
            )
        for key in ("max_trials", "factor", "executions_per_trial"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{join(path, key)}: must be at least 1; received {getattr(self, key)}")
        for key in self.space:
            if key == "search" or key.startswith("search."):
                raise ConfigError(f"{join(path, 'space')}[{key}]: the search section cannot be searched")


@dataclasses.dataclass
class ExperimentConfig:
    """A whole experiment: every section of the YAML file."""

    seed: int = 0
    dataset: DatasetConfig = dataclasses.field(default_factory=DatasetConfig)
    data: Optional[DataConfig] = None  # your own CSV instead of a registered dataset
    inputs: InputsConfig = dataclasses.field(default_factory=InputsConfig)
    architecture: ArchitectureConfig = dataclasses.field(default_factory=ArchitectureConfig)
    encoders: Dict[str, EncoderConfig] = dataclasses.field(default_factory=dict)
    # {input: augmentations} in training only, as a spec's augment= (docs/augmentation.md)
    augment: Dict[str, Any] = dataclasses.field(default_factory=dict)
    fusion: FusionConfig = dataclasses.field(default_factory=FusionConfig)
    task: TaskConfig = dataclasses.field(default_factory=TaskConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    export: ExportConfig = dataclasses.field(default_factory=ExportConfig)
    search: Optional[SearchConfig] = None

    def validate(self, path):
        if self.data is not None and self.dataset != DatasetConfig():
            raise ConfigError(_BOTH_DATA_KEYS)
        from mmzoo.augmentation.plan import normalize

        for name, augment in self.augment.items():
            where = join(join(path, "augment"), name)
            try:  # names and their form here; whether they suit the input's modality, when the model is built
                self.augment[name] = normalize(augment, where)
            except ValueError as error:
                raise ConfigError(str(error)) from None


_BOTH_DATA_KEYS = (
    "data and dataset: both are set; expected one of them. data: trains on your own CSV "
    "(data.csv, data.label), dataset: on a registered dataset (dataset.name). Remove one section."
)


# --- parsing ----------------------------------------------------------------------------------------------------
def from_dict(data, source=None):
    """An `ExperimentConfig` from a plain dict (as YAML gives); `ConfigError` names the bad key.

    Args:
        data: dict of sections (`dataset` or `data`, `inputs`, `architecture`, `encoders`, `fusion`, `task`,
            `training`, `export`, `search`, `seed`); missing ones take their defaults.
        source: a file name to start error messages with.
    """
    try:
        if data is not None and not isinstance(data, dict):
            raise ConfigError(
                f"expected a mapping of sections ({', '.join(_section_names())}), got {type(data).__name__}"
            )
        return parse(ExperimentConfig, data, "")
    except ConfigError as error:
        if source:
            raise ConfigError(f"{source}: {error}") from None
        raise


def _section_names():
    return [f.name for f in dataclasses.fields(ExperimentConfig)]


def to_dict(config):
    """The config as plain dicts and lists (what `dump_config` writes).

    A config of your own data (`data:` set) leaves out `dataset:`; one of a
    registered dataset leaves out the empty `data:`.
    """
    data = dataclasses.asdict(config)
    data.pop("dataset" if config.data is not None else "data")
    return data


def get_path(config, key):
    """The value at dotted `key` of a config (or of its dict form); None below an unset optional section."""
    value = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config
    for part in key.split("."):
        if value is None:
            return None
        if not isinstance(value, dict) or part not in value:
            raise ConfigError(f"{key}: no such key")
        value = value[part]
    return value


def _set_path(data, key, value):
    parts = key.split(".")
    if not all(parts):
        raise ConfigError(f"{key!r}: not a dotted key like training.epochs")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif isinstance(child, str) and ".".join(parts[: i + 1]) in _shorthand_paths(data):
            child = node[part] = {"name": child}
        if not isinstance(child, dict):
            raise ConfigError(
                f"{key}: {'.'.join(parts[: i + 1])} is {type(child).__name__} "
                f"{child!r}, not a mapping, so it has no key '{parts[i + 1]}'"
            )
        node = child
    node[parts[-1]] = value


def _shorthand_paths(data):
    return {"architecture", "fusion"} | {f"encoders.{name}" for name in (data.get("encoders") or {})}


def parse_overrides(items):
    """`["training.epochs=3", ...]` -> `{"training.epochs": 3}`; values are parsed as YAML.

    Example:
        >>> parse_overrides(["training.learning_rate=3e-4", "architecture.options.head_units=[64, 32]"])
        {'training.learning_rate': 0.0003, 'architecture.options.head_units': [64, 32]}
    """
    out = {}
    for item in items or ():
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set training.epochs=3")
        out[key] = parse_yaml(text, source=f"--set {key}") if text.strip() else None
    return out


def apply_overrides(config, overrides, source=None):
    """A new config with dotted-key overrides applied and the whole config checked again.

    Args:
        config: an `ExperimentConfig`.
        overrides: `{"training.epochs": 3}` or `["training.epochs=3"]` (values as YAML).
        source: how the overrides were given (e.g. "--set"), for error messages.

    Returns:
        The new `ExperimentConfig` (`config` is not changed).
    """
    if not isinstance(overrides, dict):
        overrides = parse_overrides(overrides)
    data = to_dict(config)
    for key, value in overrides.items():
        _set_path(data, key, value)
        try:  # checked after each key, so an error names the key that broke it
            parse(ExperimentConfig, data, "")
        except ConfigError as error:
            message = str(error)
            if source and not message.startswith(key):
                message = f"{source} {key}: {message}"
            raise ConfigError(message) from None
    return from_dict(data)


def load_config(path=None, overrides=()):
    """Reads an experiment YAML file (None: all defaults) and applies `--set`-style overrides.

    Example:
        >>> load_config(None, ["dataset.limit_batches=2"]).dataset.limit_batches
        2
    """
    config = ExperimentConfig()
    if path is not None:
        try:
            with open(path) as f:
                text = f.read()
        except OSError as error:
            raise ConfigError(f"{path}: cannot read the config file ({error.strerror or error})") from None
        data = parse_yaml(text, source=str(path))
        if isinstance(data, dict) and data.get("data") is not None and data.get("dataset") is not None:
            raise ConfigError(f"{path}: {_BOTH_DATA_KEYS}")
        config = _data_paths_from(from_dict(data, source=str(path)), os.path.dirname(os.path.abspath(path)))
    return apply_overrides(config, overrides, source="--set") if overrides else config


def _data_paths_from(config, folder):
    """The config with relative `data.csv`/`data.test` paths resolved against `folder` (the YAML file's)."""
    if config.data is None:
        return config
    paths = {
        key: os.path.join(folder, value)
        for key in ("csv", "test")
        if (value := getattr(config.data, key)) and not os.path.isabs(os.path.expanduser(value))
    }
    return dataclasses.replace(config, data=dataclasses.replace(config.data, **paths)) if paths else config


def dump_config(config):
    """The config as YAML text that `load_config` reads back to an equal config."""
    return yaml.safe_dump(to_dict(config), sort_keys=False, default_flow_style=False)


def save_config(config, path, header=None):
    """Writes `dump_config(config)` to `path` atomically, after an optional `# header` comment."""
    from mmzoo.training.atomic import atomic_file

    text = dump_config(config)
    if header:
        text = "".join(f"# {line}\n" for line in header.splitlines()) + text
    with atomic_file(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
    return path


# --- the command line: flags are overrides of config fields --------------------------------------------------
CLI_FLAGS = {
    # `python -m mmzoo train` flag (argparse dest) -> the config field it sets
    "model": "architecture.name",
    "data": "data.csv",
    "label": "data.label",
    "test": "data.test",
    "validation": "data.validation",
    "dataset": "dataset.name",
    "epochs": "training.epochs",
    "batch_size": "training.batch_size",
    "learning_rate": "training.learning_rate",
    "seed": "seed",
    "output": "export.output",
    "run_name": "export.run_name",
    "data_dir": "dataset.data_dir",
    "limit_batches": "dataset.limit_batches",
    "keep_checkpoints": "training.keep_checkpoints",
    "precision": "training.precision",
}


def parse_encoder_flag(flag):
    """`--encoder INPUT=NAME[:PRESET]` -> `(INPUT, {"name": NAME, "options": {"preset": PRESET}})`.

    Example:
        >>> parse_encoder_flag("review=keras_hub:bert_tiny_en_uncased")
        ('review', {'name': 'keras_hub', 'options': {'preset': 'bert_tiny_en_uncased'}})
        >>> parse_encoder_flag("voice=gru")
        ('voice', {'name': 'gru', 'options': {}})
    """
    name, sep, choice = str(flag).partition("=")
    encoder, colon, preset = choice.partition(":")
    if not sep or not name.isidentifier() or not encoder:
        raise ConfigError(
            f"--encoder: expected INPUT=ENCODER or INPUT=keras_hub:PRESET (e.g. "
            f"review=keras_hub:bert_tiny_en_uncased); received {flag!r}."
        )
    if colon and not preset:
        raise ConfigError(f"--encoder {flag!r}: the preset after ':' is empty; pass INPUT={encoder}:PRESET.")
    return name, {"name": encoder, "options": {"preset": preset} if colon else {}}


def config_from_args(args):
    """The run's config from parsed CLI arguments: defaults <- `--config` file <- flags <- `--set`.

    Flags left out (None) do not override. Afterwards every flag attribute of
    `args` holds the resolved config value, so code reading `args.epochs`
    sees what the config says.

    Example:
        >>> import argparse
        >>> args = argparse.Namespace(config=None, overrides=["training.epochs=2"], model="gmu", epochs=None)
        >>> config = config_from_args(args)
        >>> (config.architecture.name, config.training.epochs), (args.model, args.epochs)
        (('gmu', 2), ('gmu', 2))
    """
    config = load_config(getattr(args, "config", None))
    for dest, key in CLI_FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            flag = "--" + dest.replace("_", "-")
            try:
                config = apply_overrides(config, {key: value})
            except ConfigError as error:
                raise ConfigError(f"{flag}: {error}") from None
    for flag in getattr(args, "encoders", None) or []:
        name, entry = parse_encoder_flag(flag)
        config = apply_overrides(config, {f"encoders.{name}": entry})
    config = apply_overrides(config, getattr(args, "overrides", None) or [], source="--set")
    for dest, key in CLI_FLAGS.items():
        if hasattr(args, dest):
            setattr(args, dest, get_path(config, key))
    return config
