"""Command line: `python -m mmzoo train|tune|evaluate|list`."""

import argparse
import contextlib
import json
import os
import shutil
import sys
import time


def _datasets():
    """Dataset name -> loader(batch_size, seed, data_dir, **options) returning `Splits` (one table: mmzoo.experiments.runner)."""
    from mmzoo.experiments.runner import dataset_loaders

    return dataset_loaders()


def _load_splits(name, batch_size, seed, data_dir):
    datasets = _datasets()
    if name not in datasets:
        raise SystemExit(f"Unknown dataset '{name}'. Known datasets: {', '.join(sorted(datasets))}.")
    try:
        return datasets[name](batch_size, seed, data_dir)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None


def cmd_train(args):
    from mmzoo.cli.own_data import train_own_data, trains_own_data
    from mmzoo.experiments.config import ConfigError, config_from_args
    from mmzoo.experiments.runner import check_config
    from mmzoo.training.atomic import FolderInUseError, check_writable
    from mmzoo.training.distribute import get_strategy

    if args.data is not None and args.dataset is not None:
        raise SystemExit(
            "mmzoo train: --data and --dataset are both given; expected one: --data CSV trains on your "
            "own rows, --dataset NAME on a registered dataset."
        )
    if trains_own_data(args):
        return train_own_data(args)
    try:  # first: a multi-worker strategy must exist before TensorFlow runs anything; "tpu" fails fast
        strategy = get_strategy(args.strategy)
    except ValueError as error:
        raise SystemExit(f"mmzoo train: --strategy {args.strategy}: {error}") from None
    try:  # one mechanism: defaults <- --config file <- flags <- --set; afterwards args mirror the config
        config = check_config(config_from_args(args))
    except ConfigError as error:
        raise SystemExit(f"mmzoo train: {error}") from None
    run = args.run_name or f"{args.dataset}-{args.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    output_dir = os.path.join(args.output, run)
    checkpoint_dir = os.path.join(output_dir, "checkpoints")
    created = not os.path.exists(output_dir)
    try:  # fail fast, before loading data or taking a step
        check_writable(output_dir, "output directory")
        check_writable(checkpoint_dir, "checkpoint directory")
    except OSError as error:
        raise SystemExit(f"mmzoo train: {error.strerror or error}") from None
    try:
        with _run_folder(output_dir, strategy):
            return _train_run(args, config, strategy, run, output_dir, created)
    except FolderInUseError as error:  # another run writes this folder (or its checkpoints)
        raise SystemExit(f"mmzoo train: {error}") from None


@contextlib.contextmanager
def _run_folder(output_dir, strategy):
    """Holds the run folder against a second run, and clears the temporaries a killed run left in it.

    The chief holds it; other workers of a multi-worker run (which may share
    the folder) hold only their own checkpoint folders, inside `train`.
    """
    from mmzoo.training.atomic import hold_folder, remove_stale_temporaries
    from mmzoo.training.distribute import is_chief

    if not is_chief(strategy):
        yield
        return
    with hold_folder(output_dir, "run folder"):
        remove_stale_temporaries(output_dir)
        yield


def _config_writer(config, run, output_dir):
    """A function that writes the run's `config.yaml` once and returns its path.

    Training calls it once the checkpoint folder has accepted the
    configuration (at the start of `fit`), so a refused resume leaves the
    previous run's `config.yaml` as it was.
    """
    from mmzoo.experiments.config import save_config

    path = os.path.join(output_dir, "config.yaml")
    header = (
        f"mmzoo experiment config of run '{run}', resolved (defaults, file, flags, --set).\n"
        f"Repeat the run: python -m mmzoo train --config <this file>"
    )
    written = []

    def write():
        if not written:
            written.append(save_config(config, path, header=header))
        return written[0]

    return write


def _os_error_line(error):
    """An `OSError` as one line that names the file (checkpoint errors name it in their message already)."""
    message = " ".join((error.strerror or str(error)).split())
    if error.filename and str(error.filename) not in message:
        message += f": {error.filename}"
    return message


def _train_run(args, config, strategy, run, output_dir, created):
    """Loads the data, builds and trains the model, writes the artifacts: `cmd_train` while it holds the folder."""
    import keras

    import mmzoo.models  # noqa: F401  (registers every layer a saved model can hold)
    from mmzoo.experiments.artifacts import save_artifacts
    from mmzoo.experiments.config import ConfigError
    from mmzoo.experiments.runner import build_model_from_config, export_formats, load_data
    from mmzoo.training.checkpoint import CheckpointError
    from mmzoo.training.distribute import is_chief, worker_task
    from mmzoo.training.trainer import train

    checkpoint_dir = os.path.join(output_dir, "checkpoints")
    keras.utils.set_random_seed(args.seed)
    try:  # the dataset with the configured inputs, --limit-batches applied, preprocessing adapted
        splits = load_data(config)
    except (ConfigError, FileNotFoundError) as error:
        if created:  # leave no empty run folder behind for data that is not there
            shutil.rmtree(output_dir, ignore_errors=True)
        raise SystemExit(f"mmzoo train: {error}" if isinstance(error, ConfigError) else str(error)) from None
    train_data = splits.train
    try:
        model = build_model_from_config(config, splits)
    except (ConfigError, ValueError) as error:
        raise SystemExit(f"mmzoo train: {error}") from None
    print(
        f"mmzoo: training '{args.model}' on '{args.dataset}' "
        f"({model.count_params():,} parameters, inputs: {', '.join(s.name for s in splits.inputs)})"
    )
    print(
        f"mmzoo: checkpoints in {checkpoint_dir}/; after an interruption, resume with "
        + ("the same command." if args.run_name else f"the same command plus --run-name {run}.")
    )
    write_config = _config_writer(config, run, output_dir)
    callbacks = (
        [keras.callbacks.LambdaCallback(on_train_begin=lambda logs: write_config())] if is_chief(strategy) else []
    )
    start = time.time()
    try:
        history = train(
            model,
            train_data,
            validation_data=splits.validation,
            epochs=args.epochs,
            seed=args.seed,
            restore_best=True,
            checkpoint_dir=checkpoint_dir,
            callbacks=callbacks,
            strategy=strategy,
            precision=args.precision,
            early_stopping_patience=config.training.early_stopping_patience,
        )
    except (FloatingPointError, CheckpointError) as error:
        raise SystemExit(f"mmzoo train: {error}") from None
    except OSError as error:  # e.g. the disk filled up while writing a checkpoint
        raise SystemExit(f"mmzoo train: {_os_error_line(error)}") from None
    seconds = time.time() - start
    if not is_chief(strategy):  # every worker trained; the chief alone evaluates and writes the artifacts
        if not args.keep_checkpoints:
            shutil.rmtree(os.path.join(checkpoint_dir, "-".join(map(str, worker_task(strategy)))), ignore_errors=True)
        print(f"mmzoo: worker {worker_task(strategy)[1]} done; the chief writes the artifacts.")
        return 0
    test = model.evaluate(splits.test, return_dict=True, verbose=0)
    test = {k: float(v) for k, v in test.items()}
    if model.task_config.get("kind") == "text_generation":  # BLEU-4, chrF, exact match of greedy generations
        from mmzoo.analysis.evaluation import evaluate

        report = evaluate(model, splits.test)
        test.update({k: report[k] for k in ("bleu", "chrf", "exact_match")})
    flags = {k: v for k, v in vars(args).items() if k != "func"}
    paths = save_artifacts(
        model, output_dir, history=history, metrics={"test": test, "train_seconds": round(seconds, 1)}, config=flags
    )
    try:
        paths.update(export_formats(model, output_dir, config.export.formats))
    except (ImportError, ValueError) as error:
        raise SystemExit(f"mmzoo train: export.formats: {error}") from None
    paths["yaml"] = write_config()  # already written unless no epoch was left to train
    if not args.keep_checkpoints:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    print("\nTest metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in test.items()))
    print(f"Trained in {seconds:.0f} s. Artifacts in {output_dir}/:")
    for name, path in paths.items():
        print(f"  {name:<10} {path}")
    return 0


def cmd_tune(args):
    from mmzoo.experiments.config import ConfigError
    from mmzoo.experiments.tuning import tune

    try:
        result = tune(args.config, overrides=args.overrides, verbose=args.verbose)
    except (ConfigError, ImportError) as error:
        raise SystemExit(f"mmzoo tune: {error}") from None
    with open(result.paths["markdown"]) as f:
        print("\n" + f.read())
    print(f"{len(result.rows)} trials in {result.directory}/ (run the same command again to continue the search):")
    for name, path in result.paths.items():
        print(f"  {name:<12} {path}")
    print(f"Train the best: python -m mmzoo train --config {result.paths['best_config']}")
    return 0


def cmd_evaluate(args):
    if (args.data is None) == (args.dataset is None):
        raise SystemExit(
            "mmzoo evaluate: expected --data CSV (your own labelled rows) or --dataset NAME (a registered "
            f"dataset); received {'both' if args.data else 'neither'}."
        )
    if args.data is not None:
        return _evaluate_csv(args)
    if args.label is not None:
        raise SystemExit("mmzoo evaluate: --label names a column of --data CSV; a --dataset has its own labels.")
    from mmzoo.analysis.evaluation import predict_all, score
    from mmzoo.artifacts.export import load
    from mmzoo.cli.tables import resolve_model
    from mmzoo.plots.evaluation import plot_confusion_matrix, plot_regression_scatter

    splits = _load_splits(args.dataset, args.batch_size, 0, args.data_dir)
    try:
        args.model = resolve_model(args.model)
    except FileNotFoundError as error:
        raise SystemExit(f"mmzoo evaluate: {error}") from None
    model = load(args.model)
    y_true, y_pred = predict_all(model, getattr(splits, args.split))
    metrics = score(splits.task, y_true, y_pred)
    output = args.output or os.path.join(
        os.path.dirname(os.path.abspath(args.model)), f"evaluation-{args.dataset}-{args.split}"
    )
    os.makedirs(output, exist_ok=True)
    if "confusion_matrix" in metrics:
        plot_confusion_matrix(
            metrics["confusion_matrix"],
            getattr(splits.task, "class_names", None),
            path=os.path.join(output, "confusion_matrix.png"),
        )
    elif splits.task.kind == "regression":
        plot_regression_scatter(y_true, y_pred, path=os.path.join(output, "scatter.png"))
    with open(os.path.join(output, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    _print_metrics(metrics, output)
    return 0


def _evaluate_csv(args):
    from mmzoo.cli.tables import PredictInputError, evaluate_csv

    try:
        metrics, output = evaluate_csv(args)
    except (FileNotFoundError, PredictInputError, ValueError) as error:
        raise SystemExit(f"mmzoo evaluate: {error}") from None
    _print_metrics(metrics, output)
    return 0


def _print_metrics(metrics, output):
    shown = {k: v for k, v in metrics.items() if k not in ("confusion_matrix", "class_names")}
    print(json.dumps(shown, indent=2))
    print(f"Written to {output}/")


def cmd_predict(args):
    from mmzoo.cli.predict import MODALITY_FLAGS
    from mmzoo.cli.predict import main as predict
    from mmzoo.cli.tables import resolve_model

    try:
        args.model = resolve_model(args.model)
    except FileNotFoundError as error:
        raise SystemExit(f"mmzoo predict: {error}") from None
    given = [f"--{m}" for m in MODALITY_FLAGS if getattr(args, m) is not None] + (["--input"] if args.inputs else [])
    if args.data is None:
        if args.output is not None:
            raise SystemExit(
                "mmzoo predict: --output writes the predictions of a whole --data CSV; received no --data."
            )
        return predict(args)
    if given:
        raise SystemExit(
            f"mmzoo predict: --data predicts every row of a CSV; received {', '.join(given)} as well. "
            f"Pass one example (--text/--image/--audio/--features/--input) or --data, not both."
        )
    return _predict_csv(args)


def _predict_csv(args):
    from mmzoo.cli.tables import PredictInputError, predict_csv, summary_lines

    try:
        table = predict_csv(args)
    except (FileNotFoundError, PredictInputError, ValueError) as error:
        raise SystemExit(f"mmzoo predict: {error}") from None
    if args.json:
        print(table.to_json(orient="records"))
    elif args.output is None:
        print(table.to_csv(index=False), end="")
    else:
        print(f"{len(table)} predictions written to {args.output}")
        print("\n".join(summary_lines(table)))
    return 0


def cmd_list(args):
    import mmzoo.artifacts.formats  # noqa: F401  (registers the built-in export formats)
    import mmzoo.models  # noqa: F401  (registers the architectures, encoders and fusions)
    from mmzoo.registry import ENCODERS, EXPORT_FORMATS, FUSIONS, MODELS

    out = {
        "models": {n: MODELS.meta(n) for n in MODELS.names()},
        "encoders": {n: ENCODERS.meta(n) for n in ENCODERS.names()},
        "fusions": {n: FUSIONS.meta(n) for n in FUSIONS.names()},
        "datasets": sorted(_datasets()),
        "export_formats": EXPORT_FORMATS.names(),
    }
    if args.json:
        print(json.dumps(out, indent=2, default=list))
        return 0
    if args.table:
        from mmzoo.models.reference import zoo_table

        print(zoo_table())
        return 0
    for section in ("models", "encoders", "fusions"):
        print(f"{section}:")
        for name, meta in out[section].items():
            extra = ", ".join(meta.get("modalities", ())) if section == "encoders" else meta.get("paper", "")
            print(f"  {name:<16} {extra}")
    print("datasets:\n  " + "\n  ".join(out["datasets"]))
    print("export formats:\n  " + "\n  ".join(out["export_formats"]))
    return 0


def quiet_tensorflow_logs():
    """Hides TensorFlow's C++ info lines in the command line's own process (warnings and errors still show).

    Only `python -m mmzoo` calls this: importing mmzoo as a library changes no environment variable.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


TRAIN_DESCRIPTION = """\
Train a zoo model and write a run folder (model.keras, savedmodel/, metrics, curves, config.yaml).

  your own data: a CSV with one row per example (texts, image/WAV paths, numbers) and a label column
    python -m mmzoo train --data train.csv --label category --test test.csv
    python -m mmzoo train --data train.csv --label category --model gmu --epochs 5
  the same as a config file:   data: {csv: train.csv, label: category, test: test.csv, validation: 0.1}
    python -m mmzoo train --config experiment.yaml
  a registered dataset (python -m mmzoo list):
    python -m mmzoo train --dataset avmnist_sample --model early_fusion

Every flag overrides one field of the experiment config (--config, else the defaults); --set overrides any
field. The resolved config is saved as <run>/config.yaml."""


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mmzoo", description="mmzoo: multimodal Keras model zoo")
    parser.add_argument(
        "--plugin",
        dest="plugins",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first, so the datasets, models, encoders, fusions or export formats it "
        "registers can be named (repeatable)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "train",
        help="train a zoo model on your own CSV (--data) or a registered dataset and write its artifacts",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=TRAIN_DESCRIPTION,
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="CSV",
        help="data.csv: your training CSV, one row per example: texts, image/WAV file paths (relative "
        "to the CSV's folder), numbers, and the label column; inputs are inferred from the columns",
    )
    p.add_argument("--label", default=None, metavar="COLUMN", help="data.label: the label column of --data")
    p.add_argument(
        "--encoder",
        dest="encoders",
        action="append",
        default=[],
        metavar="INPUT=ENCODER",
        help="encoders.INPUT: the encoder of one input (see `list`), e.g. review=keras_hub:PRESET for a "
        "pretrained KerasHub preset (a name, downloaded once, or a local preset folder); repeatable",
    )
    p.add_argument("--test", default=None, metavar="CSV", help="data.test: a test CSV with the same columns")
    p.add_argument(
        "--validation",
        type=float,
        default=None,
        metavar="SHARE",
        help="data.validation: share of the --data rows held out for validation (default 0.1)",
    )
    p.add_argument(
        "--config",
        default=None,
        metavar="YAML",
        help="experiment config file (see configs/), with a data: or a dataset: section",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set training.epochs=3 (repeatable; values are YAML; "
        "applied after the file and the flags)",
    )
    # flags default to None: "not given", so the config's value (or its default, shown) applies
    p.add_argument("--model", help="architecture.name (see `list`; default early_fusion)")
    p.add_argument("--dataset", help="dataset.name (default: avmnist_sample, the embedded AV-MNIST sample)")
    p.add_argument("--epochs", type=int, help="training.epochs (default 8)")
    p.add_argument("--batch-size", type=int, help="training.batch_size (default 64)")
    p.add_argument("--learning-rate", type=float, help="training.learning_rate (default 0.001)")
    p.add_argument("--seed", type=int, help="seed (default 0)")
    p.add_argument("--output", help="export.output: directory for run folders (default saved_models)")
    p.add_argument(
        "--run-name",
        default=None,
        help="run folder name (default: <csv name or dataset>-model-timestamp); if the folder holds "
        "checkpoints "
        "of an interrupted run, training resumes from the last finished epoch",
    )
    p.add_argument("--data-dir", default=None, help="real data folder (default: $MMZOO_DATA)")
    p.add_argument(
        "--limit-batches",
        type=int,
        default=None,
        metavar="N",
        help="use only the first N batches of each split, every epoch: a quick trial run "
        "(validation and test metrics are then on that subset)",
    )
    p.add_argument(
        "--keep-checkpoints",
        action="store_true",
        default=None,
        help="keep <run>/checkpoints/ after a successful run (default: deleted once the artifacts are written)",
    )
    p.add_argument(
        "--strategy",
        default="auto",
        choices=("auto", "one_device", "mirrored", "multi_worker", "tpu"),
        help="tf.distribute strategy (default auto: TPU if found, mirrored on several GPUs, else one "
        "device); --batch-size is the global batch. multi_worker reads TF_CONFIG: run the same "
        "command on every worker, with the same --run-name",
    )
    p.add_argument(
        "--precision",
        default=None,
        choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"),
        help="train under this dtype policy (default: float32; auto: mixed_float16 on a GPU of compute "
        "capability 7+, mixed_bfloat16 on a TPU, float32 on a CPU); heads stay float32. --dataset runs "
        "save a float32 model; --data runs build the model under the policy and save it with it",
    )
    p.set_defaults(func=cmd_train)
    p = sub.add_parser(
        "tune",
        help="hyperparameter search over a config's search: section (KerasTuner)",
        description="Runs the search described by the config's search: section; running the same "
        "command again continues it. Writes results.csv, results.md and "
        "best_config.yaml into the search folder.",
    )
    p.add_argument("--config", required=True, metavar="YAML", help="experiment config with a search: section")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set search.max_trials=20 (repeatable; values are YAML)",
    )
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1), help="0: no progress output")
    p.set_defaults(func=cmd_tune)
    p = sub.add_parser(
        "evaluate",
        help="evaluate a saved model on your labelled CSV or a dataset split; writes metrics and a plot",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Metrics of a saved model, a confusion matrix labelled with its class names (or a "
        "scatter plot for regression) and metrics.json.\n\n"
        "  your own labelled CSV (columns named like the model's inputs):\n"
        "    python -m mmzoo evaluate --model saved_models/RUN --data test.csv "
        "--label category\n"
        "  a registered dataset:\n"
        "    python -m mmzoo evaluate --model saved_models/RUN/model.keras "
        "--dataset avmnist_sample",
    )
    p.add_argument(
        "--model",
        required=True,
        help="a run folder (its model.keras), a .keras file, or (with --data) a SavedModel, .tflite or .onnx",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="CSV",
        help="your CSV: one row per example, a column per model input (by name), file paths relative "
        "to the CSV's folder, and the label column",
    )
    p.add_argument(
        "--label",
        default=None,
        metavar="COLUMN",
        help="the label column of --data (default: the one the run was trained on)",
    )
    p.add_argument("--dataset", default=None, help="a registered dataset (instead of --data)")
    p.add_argument("--split", default="test", choices=("train", "validation", "test"))
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--data-dir", default=None, help="real data folder (default: $MMZOO_DATA)")
    p.add_argument("--output", default=None, help="folder for metrics.json and the plot")
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser(
        "predict",
        help="predict a CSV of examples or one example with a saved model (.keras, SavedModel, .tflite, .onnx)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="  a whole CSV, one prediction row per input row:\n"
        "    python -m mmzoo predict --model saved_models/RUN --data new.csv "
        "--output predictions.csv\n"
        "  one example:\n"
        "    python -m mmzoo predict --model saved_models/RUN --text 'a fine film' "
        "--image poster.png\n\n"
        "CSV columns go to the model's inputs by name. One example's values go to the "
        "model's inputs by modality (--text/--image/--audio/--features, when the model "
        "has one input of that kind) or by name (--input NAME=VALUE). Images and WAVs "
        "are files, fitted to the input's size and duration; features are numbers or a "
        ".npy file.",
    )
    p.add_argument(
        "--model",
        required=True,
        help="a run folder (its model.keras), a .keras file, a SavedModel folder, a .tflite or .onnx file",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="CSV",
        help="predict every row of this CSV (columns named like the model's inputs; file paths relative "
        "to the CSV's folder) instead of one example",
    )
    p.add_argument(
        "--output",
        default=None,
        metavar="CSV",
        help="with --data: write the CSV's rows with 'predicted' and one 'probability_<class>' column "
        "per class (regression: 'prediction'); default: print them",
    )
    p.add_argument("--batch-size", type=int, default=64, help="with --data: rows decoded per step (default 64)")
    p.add_argument("--text", help="the text of the model's text input")
    p.add_argument("--image", metavar="PATH", help="PNG/JPEG file for the model's image input")
    p.add_argument("--audio", metavar="PATH", help="16-bit PCM WAV file for the model's audio input")
    p.add_argument(
        "--features", metavar="NUMBERS", help="comma-separated numbers (or a .npy file) for the model's features input"
    )
    p.add_argument(
        "--input",
        dest="inputs",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for the input NAME (repeatable)",
    )
    p.add_argument("--top", type=int, default=5, help="classes to show (default 5)")
    p.add_argument("--json", action="store_true", help="print the outputs as JSON")
    p.add_argument(
        "--trust",
        action="store_true",
        help="load a SavedModel mmzoo did not write, or whose graph holds ops mmzoo's exports never use "
        "(a SavedModel is a program: only if you trust it)",
    )
    p.set_defaults(func=cmd_predict)
    p = sub.add_parser("list", help="list the zoo: models, encoders, fusions, datasets")
    p.add_argument("--json", action="store_true", help="machine-readable listing")
    p.add_argument(
        "--table",
        action="store_true",
        help="markdown table with parameter counts on the reference input set (builds every model)",
    )
    p.set_defaults(func=cmd_list)
    args = parser.parse_args(argv)
    for module in args.plugins:
        _import_plugin(module)
    return args.func(args)


def _import_plugin(module):
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as error:
        raise SystemExit(f"mmzoo: --plugin {module}: cannot import it ({error}); is it on PYTHONPATH?") from None


if __name__ == "__main__":
    sys.exit(main())
