"""Hyperparameter search over an experiment config's `search:` section, with KerasTuner.

`search.space` maps dotted config keys to the values to try: a list (or
`{choices: [...]}`), an int or float range `{min, max, step, sampling:
linear|log|reverse_log}`, or `{type: bool}`. Each trial is the base config
with that trial's sampled values set, built and trained exactly as
`python -m mmzoo train` would (`mmzoo.experiments.runner`), and scored on
`search.objective` (default `val_loss`; best epoch of the trial).

The search is resumable: its folder (`search.directory`, default
`<export.output>/<export.run_name or tune-<dataset>-<architecture>>`) holds
the KerasTuner project, and running the same command again continues it:
finished trials are kept, an interrupted one is run again, and a larger
`search.max_trials` adds trials. A different config is refused with a diff.
When the search ends the folder also holds `results.csv` and `results.md`
(one row per trial, best first) and `best_config.yaml`, ready for
`python -m mmzoo train --config`.

KerasTuner is optional: `pip install "mmzoo[tune]"`.

Example:
    >>> import tempfile, mmzoo
    >>> result = mmzoo.tune({
    ...     "inputs": {"names": ["digit"]}, "dataset": {"limit_batches": 2},
    ...     "training": {"batch_size": 16, "epochs": 1},
    ...     "search": {"directory": tempfile.mkdtemp(), "max_trials": 2, "objective": "val_accuracy",
    ...                "space": {"architecture.options.head_units": [[16], [32]]}},
    ... }, verbose=0)
    >>> len(result.rows), sorted(result.paths)
    (2, ['best_config', 'config', 'csv', 'markdown'])
    >>> result.best_config.architecture.options["head_units"] in ([16], [32])
    True
"""

import csv
import dataclasses
import json
import os

from mmzoo.experiments.config import (
    ConfigError,
    ExperimentConfig,
    apply_overrides,
    from_dict,
    load_config,
    save_config,
    to_dict,
)
from mmzoo.experiments.runner import build_model_from_config, check_config, load_data

__all__ = ["TuneResult", "tune"]

_MINIMISE = ("loss", "error", "mae", "mse")
_MAXIMISE = ("acc", "f1", "auc", "corr", "recall", "precision")


@dataclasses.dataclass
class TuneResult:
    """What `tune` returns.

    Attributes:
        directory: the search folder.
        rows: one dict per trial, best first: `trial`, `status`, each searched key, the objective, `epoch`.
        best_config: the base config with the best trial's values (an `ExperimentConfig`).
        paths: `{"csv", "markdown", "best_config", "config"}` -> file path.
    """

    directory: str
    rows: list
    best_config: ExperimentConfig
    paths: dict


def _keras_tuner():
    try:
        import keras_tuner
        import tensorboard  # noqa: F401  (KerasTuner 1.4 imports it in every trial with the TensorFlow backend)
    except ImportError:
        raise ImportError(
            'mmzoo.tune needs KerasTuner, an optional dependency: pip install "mmzoo[tune]" '
            '(or pip install "keras-tuner>=1.4.7" tensorboard; tuner: bayesian also needs scikit-learn).'
        ) from None
    return keras_tuner


def _direction(search):
    if search.direction:
        return search.direction
    name = search.objective.lower()
    if any(word in name for word in _MINIMISE):
        return "min"
    if any(word in name for word in _MAXIMISE):
        return "max"
    raise ConfigError(
        f"search.direction: cannot tell whether '{search.objective}' is to be minimised or "
        f"maximised; set search.direction: min or max"
    )


def _is_scalar_choice(values):
    kinds = {bool if isinstance(v, bool) else (float if isinstance(v, int) else type(v)) for v in values}
    return len(kinds) == 1 and kinds <= {bool, float, str}


def _declare(hp, key, param):
    """Declares `key` on `hp` and returns this trial's value of it."""
    if param.kind == "choice":
        values = list(param.choices)
        if _is_scalar_choice(values):
            if any(isinstance(v, float) for v in values):
                values = [float(v) for v in values]
            return hp.Choice(key, values)
        labels = [json.dumps(v) for v in values]  # lists, mappings, null: KerasTuner takes scalars only
        return json.loads(hp.Choice(key, labels))
    if param.kind == "bool":
        return hp.Boolean(key)
    if param.kind == "int":
        return hp.Int(key, param.min, param.max, step=param.step, sampling=param.sampling)
    return hp.Float(key, float(param.min), float(param.max), step=param.step, sampling=param.sampling)


def _sampled(config, values):
    """The searched keys' values, decoded, from a trial's `hp.values`."""
    out = {}
    for key, param in config.search.space.items():
        if key in values:
            value = values[key]
            if param.kind == "choice" and not _is_scalar_choice(param.choices):
                value = json.loads(value)
            out[key] = value
    return out


def _hypermodel(kt, base, objective, verbose):
    from mmzoo.training.trainer import train

    class ConfigHyperModel(kt.HyperModel):
        """One trial: the base config with the trial's values, loaded, built and trained like `mmzoo train`."""

        def __init__(self):
            super().__init__(name="mmzoo_experiment")
            self.active = False  # KerasTuner calls build() once to see the space: no data or model then
            self.splits = None

        def trial_config(self, hp):
            plain = dataclasses.replace(base, search=None)
            return apply_overrides(plain, {k: _declare(hp, k, p) for k, p in base.search.space.items()})

        def build(self, hp):
            config = self.trial_config(hp)
            if not self.active:
                return None
            self.splits = load_data(config)
            return build_model_from_config(config, self.splits)

        def fit(self, hp, model, *args, callbacks=None, epochs=None, initial_epoch=0, **kwargs):
            config = self.trial_config(hp)
            extra = {"precision": config.training.precision} if config.training.precision else {}
            history = train(
                model,
                self.splits.train,
                validation_data=self.splits.validation,
                epochs=(epochs or config.training.epochs) - initial_epoch,
                seed=config.seed,
                callbacks=callbacks,
                early_stopping_patience=config.training.early_stopping_patience,
                verbose=verbose,
                **extra,
            )
            if objective not in history.history:
                raise kt.errors.FatalValueError(
                    f"search.objective: the model reports no '{objective}'; it reports "
                    f"{', '.join(sorted(history.history))}"
                )
            return history

    return ConfigHyperModel()


def _make_tuner(kt, config, hypermodel, directory):
    search = config.search
    objective = kt.Objective(search.objective, direction=_direction(search))
    common = dict(
        objective=objective,
        seed=config.seed,
        directory=directory,
        project_name="tuner",
        executions_per_trial=search.executions_per_trial,
        overwrite=False,
    )
    if search.tuner == "hyperband":
        return kt.Hyperband(
            hypermodel,
            max_epochs=search.max_epochs or config.training.epochs,
            factor=search.factor,
            hyperband_iterations=1,
            **common,
        )
    if search.tuner == "bayesian":
        return kt.BayesianOptimization(hypermodel, max_trials=search.max_trials, **common)
    return kt.RandomSearch(hypermodel, max_trials=search.max_trials, **common)


def _search_directory(config):
    if config.search.directory:
        return config.search.directory
    run = config.export.run_name or f"tune-{config.dataset.name}-{config.architecture.name}"
    return os.path.join(config.export.output, run)


def _comparable(config):
    """The config minus what may change between runs of one search (its length)."""
    data = to_dict(config)
    data["search"].pop("max_trials")
    return data


def _check_resume(config, directory):
    """Refuses to continue a search folder made for a different config; records this one."""
    from mmzoo.training.config_diff import config_diff

    path = os.path.join(directory, "config.yaml")
    if os.path.exists(path):
        previous = load_config(path)
        if previous.search is None or _comparable(previous) != _comparable(config):
            lines = config_diff(_comparable(previous), _comparable(config)) if previous.search else ["search: absent"]
            raise ConfigError(
                f"{directory} holds a search of a different config; changed:\n  "
                + "\n  ".join(lines)
                + "\nResume it with the same config (only search.max_trials may change), or set another "
                "export.run_name / search.directory, or delete the folder to start over."
            )
    os.makedirs(directory, exist_ok=True)
    save_config(
        config,
        path,
        header="mmzoo search config; continue the search: python -m mmzoo tune --config "
        "<this file> (a larger search.max_trials adds trials)",
    )
    return path


def _rows(tuner, config, direction):
    objective = config.search.objective
    rows = []
    for trial in tuner.oracle.trials.values():
        values = trial.hyperparameters.values
        row = {"trial": trial.trial_id, **_sampled(config, values)}
        if "tuner/epochs" in values:
            row["epochs"] = values["tuner/epochs"]
        row[objective] = trial.score
        row["epoch"] = None if trial.best_step is None or trial.score is None else int(trial.best_step) + 1
        row["status"] = str(getattr(trial.status, "value", trial.status))
        rows.append(row)
    sign = 1 if direction == "min" else -1
    rows.sort(key=lambda r: (r[objective] is None, sign * (r[objective] or 0), r["trial"]))
    return rows


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _write_tables(rows, directory):
    from mmzoo.training.atomic import atomic_file

    columns = list(dict.fromkeys(k for row in rows for k in row))
    paths = {"csv": os.path.join(directory, "results.csv"), "markdown": os.path.join(directory, "results.md")}
    with atomic_file(paths["csv"]) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["rank", *columns])
            for rank, row in enumerate(rows, 1):
                writer.writerow([rank, *(_cell(row.get(c)) for c in columns)])
    lines = ["| rank | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 1)]
    lines += [
        f"| {rank} | " + " | ".join(_cell(row.get(c)).replace("|", "\\|") for c in columns) + " |"
        for rank, row in enumerate(rows, 1)
    ]
    with atomic_file(paths["markdown"]) as tmp:
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
    return paths


def _resolve(config, overrides):
    if config is None or isinstance(config, (str, os.PathLike)):
        return load_config(config, overrides)
    if isinstance(config, dict):
        config = from_dict(config)
    return apply_overrides(config, overrides, source="--set") if overrides else config


def tune(config, overrides=(), verbose=1):
    """Runs (or continues) the hyperparameter search a config's `search:` section describes.

    Args:
        config: a YAML file path, a dict, or an `ExperimentConfig` (None: the defaults).
        overrides: `--set`-style overrides, `["search.max_trials=20"]` or a dict.
        verbose: 1 prints KerasTuner's trial summaries and Keras progress bars, 0 nothing.

    Returns:
        A `TuneResult` (the table rows best first, the best config, the files written).

    Raises:
        ConfigError: the config has no search section, or a key or value is wrong, or the
            folder holds a search of a different config.
        ImportError: KerasTuner is not installed.
    """
    config = check_config(_resolve(config, overrides))
    if config.search is None:
        raise ConfigError(
            "search: this config has no search section; add one, e.g.\n"
            "search:\n  max_trials: 10\n  space:\n"
            "    training.learning_rate: {min: 1.0e-4, max: 1.0e-2, sampling: log}"
        )
    direction = _direction(config.search)
    kt = _keras_tuner()
    splits = load_data(dataclasses.replace(config, search=None))  # input names, task options: checked up front
    reported = {"loss", *(m.name for m in splits.task.metrics())}
    objective = config.search.objective
    if objective not in reported | {f"val_{name}" for name in reported}:
        raise ConfigError(
            f"search.objective: '{objective}' is not a metric of this task; choose one of "
            f"{', '.join(sorted(f'val_{n}' for n in reported))} (or the training ones without val_)"
        )
    directory = _search_directory(config)
    config_path = _check_resume(config, directory)
    hypermodel = _hypermodel(kt, config, objective, verbose)
    tuner = _make_tuner(kt, config, hypermodel, directory)
    hypermodel.active = True
    tuner.search(verbose=verbose)
    rows = _rows(tuner, config, direction)
    paths = {**_write_tables(rows, directory), "config": config_path}
    best = next((row for row in rows if row[objective] is not None), None)
    if best is None:
        raise RuntimeError(f"No trial of the search in {directory} finished; see the errors above.")
    best_config = apply_overrides(
        dataclasses.replace(config, search=None), {k: best[k] for k in config.search.space if k in best}
    )
    best_config = apply_overrides(
        best_config, {"export.run_name": f"{os.path.basename(os.path.normpath(directory))}-best"}
    )
    paths["best_config"] = save_config(
        best_config,
        os.path.join(directory, "best_config.yaml"),
        header=f"Best of {len(rows)} trials: {objective}={best[objective]:.6g} (trial {best['trial']}).\n"
        f"Train it: python -m mmzoo train --config <this file>",
    )
    return TuneResult(directory=directory, rows=rows, best_config=best_config, paths=paths)
