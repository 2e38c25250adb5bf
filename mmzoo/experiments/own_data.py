"""Your own data in one call: `fit(train_csv, label=...)` infers inputs and task, trains, evaluates, saves.

The steps, each a public function of its own: `mmzoo.infer_inputs` (specs
from the columns), `mmzoo.tasks.infer.infer_task` (the task from the label),
`mmzoo.data.from_dataframe` (checked rows, decoded in tf.data),
`mmzoo.adapt` (vocabularies and statistics, on the training rows only),
`mmzoo.build_model`, `mmzoo.train` (early stopping, best weights restored)
and `mmzoo.save_artifacts`.
"""

import dataclasses
import json
import os

import keras
import pandas as pd

from mmzoo.data.infer import InferredInputs, infer_inputs, read_table
from mmzoo.data.manifest import from_dataframe
from mmzoo.experiments.artifacts import save_artifacts
from mmzoo.models import build_model
from mmzoo.models.core import tokenizes_text
from mmzoo.specs.adapt import adapt
from mmzoo.tasks.infer import infer_task
from mmzoo.training.atomic import atomic_file
from mmzoo.training.imbalance import class_weights, with_class_weights
from mmzoo.training.trainer import train as train_model

__all__ = ["FitResult", "fit"]


@dataclasses.dataclass
class FitResult:
    """What `fit` did.

    Attributes:
        metrics: `{"validation": {...}, "test": {...}}` from `model.evaluate`
            (a split that was not given is left out).
        history: `{metric: [value per epoch]}`.
        inputs: the `InferredInputs` (specs, columns, the table of reasons).
        task: the task trained (class names included).
        sizes: rows per split actually used (`{"train": n, ...}`).
        run_dir: the run folder, or None without `output`.
        paths: artifact name -> path in the run folder.
        class_weight: `{class_id: weight}` used in training, or None.
    """

    metrics: dict
    history: dict
    inputs: InferredInputs
    task: object
    sizes: dict
    run_dir: str = None
    paths: dict = dataclasses.field(default_factory=dict)
    class_weight: dict = None


def fit(
    train,
    label,
    model="early_fusion",
    validation=0.1,
    test=None,
    epochs=20,
    batch_size=32,
    output=None,
    inputs=None,
    encoders=None,
    seed=0,
    verbose=1,
    task=None,
    patience=5,
    on_error="raise",
    cache=True,
    class_weight=None,
    precision=None,
    **build_options,
):
    """Trains a model on a table of texts, file paths and numbers, inferring inputs and task.

    Args:
        train: a pandas DataFrame or the path of a CSV file (relative file
            paths inside it resolve against the CSV's folder; for a DataFrame,
            against the current directory).
        label: the label column: strings or few distinct integers give
            `Classification` (class names sorted, kept in the model), label
            sets ("a|b" or lists) or a list of 0/1 columns `MultiLabel`,
            other numbers `Regression`.
        model: an architecture name from `mmzoo.list_models()`.
        validation: a fraction of `train` held out (stratified for
            classification: every class keeps its share in both parts, when
            each class has at least 2 rows and the held-out part has room for
            one row per class), a DataFrame or CSV path, or None for none
            (then no early stopping).
        test: optional DataFrame or CSV path, evaluated after training.
        epochs: most epochs; training stops `patience` epochs after the best
            validation loss and keeps that epoch's weights.
        batch_size: examples per batch.
        output: run folder for `model.keras`, `savedmodel/`, `metrics.json`,
            `curves.png`, `config.json` and `inputs.txt` (the inference table).
        inputs: per-column overrides for `mmzoo.infer_inputs` (`{column: spec
            | dict | None}`).
        encoders: `{input_name: encoder}` for `mmzoo.build_model`, e.g.
            `{"review": ("keras_hub", {"preset": "bert_tiny_en_uncased"})}` for
            a pretrained KerasHub preset (docs/pretrained.md).
        seed: seeds the split, shuffling, weights and training.
        verbose: 0 silent; 1 prints the inputs table, the task and Keras progress.
        task: a task to use instead of the inferred one.
        patience: early-stopping patience in epochs.
        on_error: "raise" (a bad row is an error naming it) or "skip" (bad
            rows dropped with a warning), as in `mmzoo.data.from_dataframe`.
        cache: keep decoded examples in memory after the first epoch.
        class_weight: classification only: "balanced" (weights from the
            training labels, `mmzoo.training.imbalance`) or a dict
            `{class_id: weight}`; each training example's loss and metrics
            are weighted by its class's weight (`with_class_weights`); the
            weights used are in `result.class_weight`.
        precision: build and train the model under this dtype policy:
            "mixed_bfloat16", "mixed_float16", "float32" or "auto" (by device:
            mixed_float16 on a recent GPU, float32 on a CPU); None: Keras's
            global policy. See `mmzoo.build_model`.
        **build_options: architecture options for `mmzoo.build_model`
            (`learning_rate`, `head_units`, `dropout`, ...).

    Returns:
        `(model, result)`: the trained `MultimodalModel` (with
        `model.class_names` and `model.predict_classes`) and a `FitResult`.

    Raises:
        ValueError: no rows, a missing label column (the message lists the
            columns), a bad row (named: row, column, file), a test label the
            training data never had (named with its row).
        FileNotFoundError: missing files (named with their rows).

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"review": ["great fun", "dull", "loved it", "boring"] * 4,
        ...                    "liked": ["yes", "no", "yes", "no"] * 4})
        >>> model, result = fit(df, label="liked", validation=None, epochs=1, verbose=0)
        >>> model.class_names, sorted(result.metrics)
        (['no', 'yes'], [])
    """
    train_df, train_dir, train_source = _table(train, "train")
    labels = [label] if isinstance(label, str) else list(label)
    _check_labels(train_df, labels, "train")
    if task is None:
        task, why = infer_task(train_df, label)
    else:
        why = "given"
    specs = infer_inputs(train_df, label, overrides=inputs, base_dir=train_dir, verbose=bool(verbose))
    if verbose:
        print(f"task: {_describe_task(task)} ({why})")
    parts = {"train": (train_df, train_dir, train_source)}
    if isinstance(validation, float):
        if not 0 < validation < 1:
            raise ValueError(
                f"validation must be a fraction in (0, 1), a DataFrame, a CSV path or None; received {validation!r}."
            )
        fit_df, val_df = _split(train_df, labels, task, validation, seed)
        parts = {"train": (fit_df, train_dir, train_source), "validation": (val_df, train_dir, train_source)}
    elif validation is not None:
        parts["validation"] = _table(validation, "validation")
    if test is not None:
        parts["test"] = _table(test, "test")
    for name, (df, _, _) in parts.items():
        _check_labels(df, labels, name)

    keras.utils.set_random_seed(seed)
    data = {
        name: _dataset(df, directory, source, specs, label, task, batch_size, name == "train", seed, cache, on_error)
        for name, (df, directory, source) in parts.items()
    }  # all checked first
    # inputs whose encoder brings its own tokenizer (a pretrained preset's) need no vocabulary
    adapt([s for s in specs if not tokenizes_text((encoders or {}).get(s.name))], data["train"][0])
    network = build_model(model, list(specs), task, encoders=encoders, precision=precision, **build_options)
    validation_ds = data["validation"][0] if "validation" in data else None
    weights = _class_weight(class_weight, task, data["train"][0])
    train_ds = data["train"][0] if weights is None else with_class_weights(data["train"][0], weights)
    history = train_model(
        network,
        train_ds,
        validation_ds,
        epochs=epochs,
        seed=seed,
        early_stopping_patience=patience if validation_ds is not None else None,
        restore_best=validation_ds is not None,
        verbose=verbose,
    )
    metrics = {
        name: {k: float(v) for k, v in network.evaluate(ds, return_dict=True, verbose=0).items()}
        for name, (ds, _) in data.items()
        if name != "train"
    }
    sizes = {name: report.num_examples for name, (_, report) in data.items()}
    result = FitResult(
        metrics, {k: list(v) for k, v in history.history.items()}, specs, task, sizes, class_weight=weights
    )
    if verbose:
        print("metrics: " + json.dumps(metrics))
    if output is not None:
        result.run_dir = output
        config = {
            "model": model,
            "label": label,
            "task": task.get_config(),
            "columns": specs.columns,
            "inputs": [s.get_config() for s in specs],
            "encoders": encoders,
            "epochs": epochs,
            "batch_size": batch_size,
            "seed": seed,
            "patience": patience,
            "sizes": sizes,
            "class_weight": weights,
            "precision": network.dtype_policy.name,
            "build_options": build_options,
        }
        result.paths = save_artifacts(network, output, history, metrics, json.loads(json.dumps(config, default=repr)))
        result.paths["inputs"] = os.path.join(output, "inputs.txt")
        with atomic_file(result.paths["inputs"]) as tmp, open(tmp, "w") as f:
            f.write(specs.table() + "\n")
    return network, result


def _table(data, split):
    """`(DataFrame, base_dir, source)` from a DataFrame or a CSV path."""
    if isinstance(data, pd.DataFrame):
        return data, os.getcwd(), f"the {split} DataFrame"
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        return read_table(path), os.path.dirname(os.path.abspath(path)), f"'{path}'"
    raise TypeError(f"{split} must be a pandas DataFrame or a CSV path; received {type(data).__name__}.")


def _check_labels(df, labels, split):
    have = ", ".join(map(str, df.columns)) or "(none)"
    for column in labels:
        if column not in df.columns:
            raise ValueError(
                f"Label column '{column}' is not in the {split} data; its columns are: {have}. "
                f"Pass label=<one of them>."
            )
    if len(df) == 0:
        raise ValueError(f"The {split} data has no rows (columns: {have}); expected one row per example.")


def _class_weight(class_weight, task, train_ds):
    """`{class_id: weight}` from `fit`'s `class_weight` argument, or None."""
    if class_weight is None:
        return None
    if task.kind != "classification":
        raise ValueError(
            f"class_weight applies to classification; the task is {type(task).__name__}. Pass class_weight=None."
        )
    if isinstance(class_weight, str):
        return class_weights(train_ds, mode=class_weight)
    if isinstance(class_weight, dict):
        bad = [c for c in class_weight if not 0 <= int(c) < task.num_classes]
        if bad:
            raise ValueError(f"class_weight has class ids {bad} outside 0..{task.num_classes - 1}.")
        return {int(c): float(w) for c, w in class_weight.items()}
    raise TypeError(
        f"class_weight must be None, 'balanced' or a dict {{class_id: weight}}; received {type(class_weight).__name__}."
    )


def _split(df, labels, task, fraction, seed):
    from sklearn.model_selection import train_test_split

    stratify = None
    if task.kind == "classification":
        counts = df[labels[0]].value_counts()
        if counts.min() >= 2 and round(fraction * len(df)) >= len(counts):
            stratify = df[labels[0]]
    return train_test_split(df, test_size=fraction, random_state=seed, stratify=stratify)


def _dataset(df, base_dir, source, specs, label, task, batch_size, shuffle, seed, cache, on_error):
    return from_dataframe(
        df,
        list(specs),
        label=label,
        base_dir=base_dir,
        columns=specs.columns,
        source=source,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        cache=cache,
        resize_images=True,
        resample=True,
        on_error=on_error,
        task=task,
        with_report=True,
    )


def _describe_task(task):
    names = getattr(task, "class_names", None) or getattr(task, "label_names", None)
    shown = "" if not names else ": " + ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    return f"{type(task).__name__}{shown}"
