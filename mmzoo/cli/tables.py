"""CSV files through a saved model: `evaluate --data` and `predict --data`.

A CSV holds one example per row. Each model input reads the column of the
same name (never a column position); text cells are the text, image and
audio cells file paths, resolved against the CSV's folder; features cells
numbers or JSON lists. Images and WAVs are fitted to the input's size and
sample rate, as single-example `predict` does. The model may be a run folder
(its `model.keras`) or any artifact `predict` takes.

    python -m mmzoo evaluate --model saved_models/RUN --data test.csv --label category
    python -m mmzoo predict --model saved_models/RUN --data new.csv --output predictions.csv

Example:
    >>> prediction_columns({"kind": "classification", "class_names": ["cat", "dog"]}, 2)
    ['predicted', 'probability_cat', 'probability_dog']
"""

import os

import numpy as np

from mmzoo.cli.predict import PRESENT_SUFFIX, PredictInputError, artifact_metadata

RUN_MODEL = "model.keras"


def resolve_model(path):
    """The artifact of `path`: a run folder gives its `model.keras`; anything else is returned as is."""
    path = os.fspath(path)
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "saved_model.pb")):
        inside = os.path.join(path, RUN_MODEL)
        if not os.path.isfile(inside):
            raise FileNotFoundError(
                f"--model {path}: a folder, but neither a run folder (no {RUN_MODEL} inside) "
                f"nor a SavedModel (no saved_model.pb). Pass a run folder, a .keras file or "
                f"a SavedModel folder."
            )
        return inside
    return path


def read_table(path, what="--data"):
    """The CSV at `path` as a DataFrame (cells as text, empty cells missing); errors name the file.

    Args:
        path: the CSV file.
        what: how the file was given (a flag or config key), to start error messages with.

    Raises:
        FileNotFoundError: no file at `path`.
        PredictInputError: the file is empty or has no rows.
    """
    import pandas as pd

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} {path}: no such CSV file (working directory: {os.getcwd()}).")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise PredictInputError(
            f"{what} {path}: the file is empty; expected a header line of column names and one row per example."
        ) from None
    if len(df) == 0:
        raise PredictInputError(
            f"{what} {path}: no rows below the header (columns: {', '.join(df.columns)}); expected one row per example."
        )
    return df


def check_label(df, label, path, what="--label"):
    """Raises naming `label` and listing the CSV's columns if the CSV at `path` has no such column."""
    if label not in df.columns:
        raise PredictInputError(
            f"{what} {label}: no such column in {path}; its columns are "
            f"{', '.join(repr(c) for c in df.columns)}. Pass the label column's name."
        )


def model_specs(path):
    """`(specs, task config, expected input names)` of the artifact at `path`, from its own metadata."""
    from mmzoo.specs import spec_from_config

    configs, task, expected = artifact_metadata(path)
    if not configs:
        raise PredictInputError(
            f"--model {path}: no input specs recorded in the artifact, so CSV columns cannot be "
            f"matched to inputs. Use a model mmzoo saved or exported."
        )
    return [spec_from_config(c) for c in configs], task, expected


def match_columns(df, specs, path, recorded=None):
    """`{input name: CSV column}` by name: the column the run recorded, the input's name, or its identifier form.

    A column "poster image" feeds the input `poster_image` (the name
    `mmzoo.infer_inputs` gives it). An input without a column is an error
    naming it and listing the CSV's columns.

    Args:
        df: the CSV as a DataFrame.
        specs: the model's input specs.
        path: the CSV's path, for messages.
        recorded: `{input name: column}` the model was trained with, or None.
    """
    by_identifier = {}
    for column in df.columns:
        by_identifier.setdefault(_identifier(column), column)
    recorded = {k: v for k, v in (recorded or {}).items() if v in df.columns}
    columns = {
        s.name: recorded.get(s.name) or (s.name if s.name in df.columns else by_identifier.get(s.name)) for s in specs
    }
    missing = [s for s in specs if columns[s.name] is None]
    if missing:
        wanted = ", ".join(f"'{s.name}' ({s.modality})" for s in missing)
        raise PredictInputError(
            f"--data {path}: the model reads column(s) {wanted} by name; the CSV has "
            f"{', '.join(repr(c) for c in df.columns)}. Rename the column(s) to the input "
            f"names."
        )
    return columns


def _identifier(column):
    import keyword
    import re

    name = re.sub(r"\W", "_", str(column).strip()) or "column"
    return f"x_{name}" if not (name[0].isalpha() or name[0] == "_") or keyword.iskeyword(name) else name


def read_examples(path, specs, label=None, task=None, batch_size=64, columns=None):
    """`(inputs, labels)` of every row of the CSV at `path`: `{input name: array}` and the labels (or None).

    Args:
        path: the CSV file; relative file paths in it resolve against its folder.
        specs: the model's input specs; each reads the column named like it.
        label: the label column, or None.
        task: the model's task (string class names in the label column map to ids through it).
        batch_size: rows decoded per step.
        columns: `{input name: column}` the model was trained with (`recorded_run`), tried first.

    Returns:
        The inputs, batch first, in row order, and the labels array (None without `label`).
    """
    from mmzoo.data.manifest import from_csv

    df = read_table(path)
    columns = match_columns(df, specs, path, columns)
    if label is not None:
        check_label(df, label, path)
    dataset = from_csv(
        path, specs, label=label, columns=columns, batch_size=batch_size, resize_images=True, resample=True, task=task
    )
    batches = list(dataset.as_numpy_iterator())
    features = [b[0] if label is not None else b for b in batches]
    inputs = {name: np.concatenate([f[name] for f in features]) for name in features[0]}
    labels = np.concatenate([b[1] for b in batches]) if label is not None else None
    return inputs, labels


def add_present_flags(inputs, expected):
    """Marks every given modality present for a model trained with missing modalities (`<input>_present`)."""
    n = len(next(iter(inputs.values())))
    for name in expected or []:
        if name.endswith(PRESENT_SUFFIX) and name not in inputs and name[: -len(PRESENT_SUFFIX)] in inputs:
            inputs[name] = np.ones((n,), bool)
    return inputs


def run_artifact(path, inputs, trust=False):
    """`{output name: array}` of the artifact at `path` on raw `inputs` (a `.keras` model predicts in batches)."""
    from mmzoo.artifacts.runtime import predict_from_artifact

    return predict_from_artifact(path, inputs, trust=trust)


def main_output(outputs):
    """The model's own output among a SavedModel's outputs (its class-name outputs left out)."""
    from mmzoo.artifacts.savedmodel import NAME_OUTPUTS

    keys = [k for k in outputs if k not in NAME_OUTPUTS]
    return np.asarray(outputs[keys[0]])


def prediction_columns(task, width):
    """Column names of a predictions table for `task` (a task config) and an output of `width` values."""
    task = task or {}
    names = task.get("class_names") or task.get("label_names") or [str(i) for i in range(width)]
    if task.get("kind") in ("classification", "multilabel"):
        return ["predicted"] + [f"probability_{n}" for n in names]
    return ["prediction"] if width == 1 else [f"prediction_{i}" for i in range(width)]


def prediction_table(output, task):
    """A DataFrame of predictions, one row per example: the class name and a probability per class.

    Classification: `predicted` (the most probable class's name, or id
    without names) and `probability_<name>` per class. MultiLabel:
    `predicted` holds the names at or above the threshold joined by "|".
    Regression and others: `prediction` (or `prediction_<i>` per output).
    TextGeneration: `generated`, the generated text.

    Args:
        output: the model output, `(rows, width)` or `(rows,)`.
        task: the model's task config.

    Returns:
        A pandas DataFrame.
    """
    import pandas as pd

    task = task or {}
    if task.get("kind") == "text_generation":  # one generated string per row
        return pd.DataFrame({"generated": [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in output]})
    values = np.asarray(output, np.float64).reshape(len(output), -1)
    columns = prediction_columns(task, values.shape[1])
    kind = task.get("kind")
    if kind not in ("classification", "multilabel"):
        return pd.DataFrame(values, columns=columns)
    names = [c[len("probability_") :] for c in columns[1:]]
    if kind == "classification":
        predicted = [names[i] for i in values.argmax(axis=1)]
    else:
        threshold = np.broadcast_to(np.asarray(task.get("threshold", 0.5), np.float64), values.shape[1:])
        predicted = ["|".join(n for n, hit in zip(names, row >= threshold) if hit) for row in values]
    table = pd.DataFrame(values, columns=columns[1:])
    table.insert(0, "predicted", predicted)
    return table


def recorded_run(model):
    """`(label column, {input name: column})` a run was trained with (its `config.json` from `mmzoo.fit`), or Nones.

    Args:
        model: the `--model` argument: a run folder or a file inside one.
    """
    import json

    folder = model if os.path.isdir(model) else os.path.dirname(os.path.abspath(model))
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        return None, None
    with open(path) as f:
        config = json.load(f)
    label = config.get("label") if isinstance(config, dict) else None
    columns = config.get("columns") if isinstance(config, dict) else None
    return (label if isinstance(label, str) else None), (columns if isinstance(columns, dict) else None)


def evaluate_csv(args):
    """`evaluate --data`: metrics of the model on a labelled CSV, a plot (class names on a confusion matrix).

    Args:
        args: parsed `evaluate` arguments (`model`, `data`, `label`, `batch_size`, `output`).

    Returns:
        `(metrics, output folder)`.
    """
    import json

    from mmzoo.analysis.evaluation import score
    from mmzoo.plots.evaluation import plot_confusion_matrix, plot_regression_scatter
    from mmzoo.tasks.task import task_from_config

    read_table(args.data)  # the data's own errors first
    path = resolve_model(args.model)
    specs, task_config, expected = model_specs(path)
    if not task_config:
        raise PredictInputError(f"--model {args.model}: no task recorded in the artifact; evaluate needs it to score.")
    task = task_from_config(task_config)
    recorded, columns = recorded_run(args.model)
    label = args.label or recorded
    if label is None:
        raise PredictInputError(
            f"--data {args.data}: which column holds the labels? Pass --label <column> (the run records none)."
        )
    inputs, labels = read_examples(args.data, specs, label, task, args.batch_size, columns)
    predictions = main_output(run_artifact(path, add_present_flags(inputs, expected)))
    metrics = score(task, labels, predictions)
    stem = os.path.splitext(os.path.basename(args.data))[0]
    output = args.output or os.path.join(os.path.dirname(os.path.abspath(path)), f"evaluation-{stem}")
    os.makedirs(output, exist_ok=True)
    if "confusion_matrix" in metrics:
        plot_confusion_matrix(
            metrics["confusion_matrix"],
            task_config.get("class_names"),
            path=os.path.join(output, "confusion_matrix.png"),
            title=f"{stem} ({label})",
        )
        metrics["class_names"] = task_config.get("class_names")
    elif task.kind == "regression":
        plot_regression_scatter(labels, predictions, path=os.path.join(output, "scatter.png"))
    with open(os.path.join(output, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    return metrics, output


def predict_csv(args):
    """`predict --data`: predictions for every row of a CSV, as a table beside the CSV's own columns.

    The CSV's columns come first, then the prediction columns (`prediction_table`),
    which replace input columns of the same name.

    Args:
        args: parsed `predict` arguments (`model`, `data`, `output`, `batch_size`, `trust`).

    Returns:
        The pandas DataFrame (also written to `args.output`, if given).
    """
    import pandas as pd

    rows = read_table(args.data)  # the data's own errors first
    path = resolve_model(args.model)
    specs, task, expected = model_specs(path)
    inputs, _ = read_examples(args.data, specs, batch_size=args.batch_size, columns=recorded_run(args.model)[1])
    outputs = run_artifact(path, add_present_flags(inputs, expected), trust=args.trust)
    predictions = prediction_table(main_output(outputs), task)
    rows = rows.drop(columns=list(predictions.columns), errors="ignore").reset_index(drop=True)
    table = pd.concat([rows, predictions], axis=1)
    if args.output:
        folder = os.path.dirname(os.path.abspath(args.output))
        os.makedirs(folder, exist_ok=True)
        table.to_csv(args.output, index=False)
    return table


def summary_lines(table, limit=10):
    """Printable lines of the first `limit` predictions: row, predicted name and its probability."""
    lines = []
    for row, record in table.head(limit).iterrows():
        if "generated" in record:
            lines.append(f"  row {row}: {record['generated']}")
        elif "predicted" in record:
            column = f"probability_{record['predicted']}"
            shown = f"  {record[column]:.4f}" if column in record else ""
            lines.append(f"  row {row}: {record['predicted'] or '(none)'}{shown}")
        else:
            values = [record[c] for c in table.columns if c.startswith("prediction")]
            lines.append(f"  row {row}: " + ", ".join(f"{v:.6g}" for v in values))
    if len(table) > limit:
        lines.append(f"  ... {len(table) - limit} more rows")
    return lines
