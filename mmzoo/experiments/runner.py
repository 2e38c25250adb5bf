"""An experiment config turned into data and a compiled model: what `train` and `tune` share.

A config with a `data:` section (your own CSV) goes through `mmzoo.fit`
instead: `check_config` checks it, `fit_from_config` trains it.

`python -m mmzoo train` and every `mmzoo.tune` trial go through the same three
steps, so a trial and a training run of the same config build the same model
from the same data:

1. `check_config(config)`: names that must exist (dataset, architecture,
   encoders, fusion, loader options, search keys) do, or a `ConfigError`
   names the key.
2. `load_data(config)`: the dataset's splits with the configured inputs,
   spec and task options, `limit_batches`, and preprocessing adapted.
3. `build_model_from_config(config, splits)`: seeded, compiled with the
   learning-rate schedule.

Example:
    >>> from mmzoo.experiments.config import load_config
    >>> config = check_config(load_config(None, ["dataset.limit_batches=1", "training.batch_size=8",
    ...                                          "inputs.names=[digit]"]))
    >>> splits = load_data(config)
    >>> [spec.name for spec in splits.inputs], int(splits.train.cardinality())
    (['digit'], 1)
    >>> sorted(build_model_from_config(config, splits).input)
    ['digit']
"""

import dataclasses
import inspect
import os

from mmzoo.experiments.config import ConfigError, apply_overrides

__all__ = [
    "build_model_from_config",
    "check_config",
    "dataset_loaders",
    "export_formats",
    "fit_from_config",
    "load_data",
]

_SET_BY_CONFIG = {"batch_size": "training.batch_size", "seed": "seed", "data_dir": "dataset.data_dir"}
_RESERVED_OPTIONS = {
    "encoders": "encoders",
    "fusion": "fusion.name",
    "fusion_options": "fusion.options",
    "learning_rate": "training.learning_rate",
    "compile": None,
}


def _loader(name):
    from mmzoo.datasets import loader

    return loader(name)


def _call_loader(name, batch_size, seed, data_dir=None, **options):
    from mmzoo.datasets import load

    return load(name, batch_size=batch_size, seed=seed, data_dir=data_dir, **options)


def dataset_loaders():
    """`{name: loader(batch_size, seed, data_dir=None, **options)}` for every registered dataset."""
    import mmzoo.datasets  # noqa: F401  (registers the built-in loaders)
    from mmzoo.registry import DATASETS

    return {
        name: (
            lambda batch_size, seed, data_dir=None, _name=name, **options: _call_loader(
                _name, batch_size, seed, data_dir, **options
            )
        )
        for name in DATASETS.names()
    }


def check_config(config):
    """Checks the names a config refers to; returns `config` or raises `ConfigError` naming the key.

    Input names (in `encoders`, `inputs`) are checked by `load_data`, which knows the dataset.
    """
    import mmzoo.datasets  # noqa: F401  (registers the built-in loaders)
    import mmzoo.models  # noqa: F401  (registers the architectures, encoders and fusions)
    from mmzoo.registry import DATASETS, ENCODERS, FUSIONS, MODELS

    if config.data is not None:
        _check_own_data(config)
    elif config.dataset.name not in DATASETS:
        raise ConfigError(
            f"dataset.name: Unknown dataset '{config.dataset.name}'. Known datasets: {', '.join(DATASETS.names())}."
        )
    function, fixed = _loader(config.dataset.name)
    accepted = set(inspect.signature(function).parameters) - set(fixed)
    for key in config.dataset.options if config.data is None else ():
        if key in _SET_BY_CONFIG or key in fixed:
            where = _SET_BY_CONFIG.get(key, "the dataset name")
            raise ConfigError(f"dataset.options.{key}: set by {where}, not by loader options")
        if key not in accepted:
            raise ConfigError(
                f"dataset.options.{key}: dataset '{config.dataset.name}' takes no such option; it takes "
                f"{', '.join(sorted(accepted - set(_SET_BY_CONFIG))) or 'none'}"
            )
    for registry, key, name in [
        (MODELS, "architecture.name", config.architecture.name),
        (FUSIONS, "fusion.name", config.fusion.name),
    ] + [(ENCODERS, f"encoders.{k}.name", e.name) for k, e in config.encoders.items()]:
        if name is not None and name not in registry:
            raise ConfigError(
                f"{key}: Unknown {registry.kind} '{name}'. Known {registry.plural}: {', '.join(registry.names())}."
            )
    for key, instead in _RESERVED_OPTIONS.items():
        if key in config.architecture.options:
            hint = f"set {instead} instead" if instead else "mmzoo compiles the model"
            raise ConfigError(f"architecture.options.{key}: {hint}")
    if config.search is not None:
        plain = dataclasses.replace(config, search=None)
        for key, param in config.search.space.items():
            for value in param.candidates():
                try:
                    check_config(apply_overrides(plain, {key: value}))
                except ConfigError as error:
                    raise ConfigError(f"search.space[{key}]: value {value!r}: {error}") from None
    return config


_OWN_DATA_UNUSED = [  # (key, is it set?, the fix): fields a data: run cannot use
    ("task.options", lambda c: c.task.options, "the task is inferred from the label column; remove task.options"),
    (
        "encoders",
        lambda c: [k for k, e in c.encoders.items() if e.options and not e.name],
        "encoder options need the encoder's name with data: (encoders.<input>.name)",
    ),
    ("search", lambda c: c.search, "tuning runs on a registered dataset: for now; remove search: or use dataset:"),
]


def _check_own_data(config):
    """Checks a `data:` section: a CSV and a label column given, the files there, nothing it cannot use."""
    data = config.data
    for key, value, what in [
        ("csv", data.csv, "the path of your training CSV"),
        ("label", data.label, "the name of its label column"),
    ]:
        if not value:
            raise ConfigError(
                f"data.{key}: expected {what}; received {value!r}. E.g. "
                f"data: {{csv: train.csv, label: category}} or --data train.csv --label category"
            )
    for key in ("csv", "test"):
        path = getattr(data, key)
        if path is not None and not os.path.isfile(path):
            raise ConfigError(
                f"data.{key}: no file '{path}' (working directory: {os.getcwd()}); expected a CSV "
                f"with one row per example."
            )
    for key, is_set, fix in _OWN_DATA_UNUSED:
        if is_set(config):
            raise ConfigError(f"{key}: not available with data: (your own CSV): {fix}.")


def fit_options(config):
    """The keyword arguments of `mmzoo.fit` for a config with a `data:` section.

    `inputs.names` keeps only those columns, `inputs.options` become
    `mmzoo.infer_inputs` overrides, encoders, fusion and architecture options
    go to the builder; the learning rate is constant.
    """
    import pandas as pd

    data, training = config.data, config.training
    overrides = {name: dict(options) for name, options in config.inputs.options.items()}
    if config.inputs.names is not None:
        columns = pd.read_csv(data.csv, nrows=0).columns
        overrides.update({c: None for c in columns if c not in config.inputs.names and c != data.label})
    build = dict(config.architecture.options)
    if config.augment:
        build["augment"] = {name: dict(a) for name, a in config.augment.items()}
    if config.fusion.name:
        build["fusion"] = config.fusion.name
    if config.fusion.options:
        build["fusion_options"] = dict(config.fusion.options)
    encoders = {
        name: (e.name, dict(e.options)) if e.options else e.name for name, e in config.encoders.items() if e.name
    }
    return dict(
        train=data.csv,
        label=data.label,
        model=config.architecture.name,
        validation=data.validation or None,
        test=data.test,
        epochs=training.epochs,
        batch_size=training.batch_size,
        inputs=overrides or None,
        encoders=encoders or None,
        seed=config.seed,
        learning_rate=training.learning_rate,
        **({"patience": training.early_stopping_patience} if training.early_stopping_patience else {}),
        **({"precision": training.precision} if training.precision else {}),
        **build,
    )


def fit_from_config(config, output_dir, verbose=1):
    """Trains on the config's `data:` CSV with `mmzoo.fit`, writing the run into `output_dir`.

    Args:
        config: an `ExperimentConfig` with `data:` set (checked by `check_config`).
        output_dir: the run folder.
        verbose: as in `mmzoo.fit`.

    Returns:
        `(model, result)` from `mmzoo.fit`.
    """
    from mmzoo.experiments.own_data import fit

    check_config(config)
    return fit(output=output_dir, verbose=verbose, **fit_options(config))


def _replace(obj, options, path, what):
    fields = {f.name for f in dataclasses.fields(obj) if f.init}
    for key in options:
        if key not in fields:
            raise ConfigError(f"{path}.{key}: {what} takes no option '{key}'; it takes {', '.join(sorted(fields))}")
    try:
        return dataclasses.replace(obj, **options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: {error}") from None


def _select(dataset, names):
    from mmzoo.data.order import keep_order  # the selection keeps the order mmzoo.train resumes

    return keep_order(dataset.map(lambda x, y: ({k: x[k] for k in names}, y)), dataset)


def _first(dataset, batches):
    from mmzoo.data.order import keep_order

    return keep_order(dataset.take(batches), dataset)


def load_data(config):
    """The dataset's `Splits` as the config asks: inputs chosen and configured, limited, adapted.

    Raises:
        ConfigError: an input name or spec/task option the dataset does not have.
        FileNotFoundError: a real dataset's files are missing (the message says where to put them).
    """
    from mmzoo.specs.adapt import adapt

    check_config(config)
    options = config.dataset.options
    splits = _call_loader(
        config.dataset.name, config.training.batch_size, config.seed, config.dataset.data_dir, **options
    )
    known = [spec.name for spec in splits.inputs]
    names = config.inputs.names or known
    for key, wanted in [
        ("inputs.names", names),
        ("inputs.options", config.inputs.options),
        ("encoders", config.encoders),
        ("augment", config.augment),
    ]:
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise ConfigError(
                f"{key}: unknown input '{unknown[0]}'; dataset '{config.dataset.name}' has inputs {', '.join(known)}"
            )
    specs = {spec.name: spec for spec in splits.inputs}
    inputs = [
        _replace(specs[n], config.inputs.options[n], f"inputs.options.{n}", type(specs[n]).__name__)
        if n in config.inputs.options
        else specs[n]
        for n in names
    ]
    parts = {"train": splits.train, "validation": splits.validation, "test": splits.test}
    if config.task.kind == "text_generation":
        from mmzoo.experiments.generation_data import generation_splits

        task, parts, names = generation_splits(config, splits.task, parts, specs, names)
        inputs = [spec for spec in inputs if spec.name in names]
    else:
        task = (
            _replace(splits.task, config.task.options, "task.options", type(splits.task).__name__)
            if config.task.options
            else splits.task
        )
    if names != known:
        parts = {k: _select(v, names) for k, v in parts.items()}
    if config.dataset.limit_batches is not None:  # a quick trial run on the first N batches of every split
        parts = {k: _first(v, config.dataset.limit_batches) for k, v in parts.items()}
    if config.task.kind == "text_generation":
        from mmzoo.experiments.generation_data import adapt_target

        adapt_target(task, parts["train"])
    splits = splits._replace(inputs=inputs, task=task, **parts)
    adapt(splits.inputs, splits.train)
    return splits


def build_model_from_config(config, splits):
    """The compiled model for `splits` (from `load_data`), initialised from `config.seed`."""
    import keras

    from mmzoo.models import build_model

    keras.utils.set_random_seed(config.seed)
    training = config.training
    learning_rate = training.learning_rate
    if training.lr_schedule == "cosine":
        steps = max(1, int(splits.train.cardinality()))
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps * training.epochs)
    used = {spec.name for spec in splits.inputs}  # encoders of inputs left out by inputs.names are ignored
    encoders = {
        name: (e.name or _default_encoder(splits, name), dict(e.options)) if e.options else e.name
        for name, e in config.encoders.items()
        if (e.name or e.options) and name in used
    }
    options = dict(config.architecture.options)
    if config.augment:
        options["augment"] = {name: dict(a) for name, a in config.augment.items() if name in used}
    if config.fusion.name:
        options["fusion"] = config.fusion.name
    if config.fusion.options:
        options["fusion_options"] = dict(config.fusion.options)
    try:
        return build_model(
            config.architecture.name,
            splits.inputs,
            splits.task,
            encoders=encoders or None,
            learning_rate=learning_rate,
            **options,
        )
    except TypeError as error:
        if "unexpected keyword argument" not in str(error):
            raise
        raise ConfigError(f"architecture.options: {error}") from None  # an option the builder does not take


def _default_encoder(splits, name):
    return next(spec.default_encoder for spec in splits.inputs if spec.name == name)


def export_formats(model, output_dir, formats):
    """Exports `model` as each registered format in `formats` into `output_dir`; returns `{format: path}`."""
    from mmzoo.artifacts.export import export
    from mmzoo.artifacts.formats import export_format

    paths = {}
    for fmt in formats:
        paths[fmt] = export(model, os.path.join(output_dir, export_format(fmt).filename()), format=fmt)
    return paths
