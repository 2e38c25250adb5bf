"""Command line: `python -m mmzoo train|list`."""

import argparse
import json
import os
import shutil
import sys
import time


def _datasets():
    """Dataset name -> loader(batch_size, seed, data_dir) returning `Splits`."""
    from mmzoo import datasets as d

    return {
        "avmnist_sample": lambda batch_size, seed, data_dir=None: d.load_avmnist_sample(batch_size=batch_size, seed=seed),
        "avmnist": lambda batch_size, seed, data_dir=None: d.avmnist(data_dir, batch_size=batch_size, seed=seed),
        "avmnist_hard": lambda batch_size, seed, data_dir=None: d.avmnist(data_dir, variant="hard",
                                                                          batch_size=batch_size, seed=seed),
        "mosi": lambda batch_size, seed, data_dir=None: d.mosi(data_dir, batch_size=batch_size, seed=seed),
        "emoji": lambda batch_size, seed, data_dir=None: d.emoji(data_dir, batch_size=batch_size, seed=seed),
    }


def _load_splits(name, batch_size, seed, data_dir):
    datasets = _datasets()
    if name not in datasets:
        raise SystemExit(f"Unknown dataset '{name}'. Known datasets: {', '.join(sorted(datasets))}.")
    try:
        return datasets[name](batch_size, seed, data_dir)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None


def cmd_train(args):
    import keras

    import mmzoo
    from mmzoo.atomic import check_writable
    from mmzoo.checkpoint import CheckpointError
    from mmzoo.train import save_artifacts, train

    if args.limit_batches is not None and args.limit_batches < 1:
        raise SystemExit(f"--limit-batches must be at least 1; received {args.limit_batches}.")
    if args.dataset not in _datasets():
        _load_splits(args.dataset, args.batch_size, args.seed, args.data_dir)  # exits naming the known datasets
    run = args.run_name or f"{args.dataset}-{args.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    output_dir = os.path.join(args.output, run)
    checkpoint_dir = os.path.join(output_dir, "checkpoints")
    created = not os.path.exists(output_dir)
    try:  # fail fast, before loading data or taking a step
        check_writable(output_dir, "output directory")
        check_writable(checkpoint_dir, "checkpoint directory")
    except OSError as error:
        raise SystemExit(f"mmzoo train: {error.strerror or error}") from None
    keras.utils.set_random_seed(args.seed)
    try:
        splits = _load_splits(args.dataset, args.batch_size, args.seed, args.data_dir)
    except SystemExit:
        if created:  # leave no empty run folder behind for data that is not there
            shutil.rmtree(output_dir, ignore_errors=True)
        raise
    if args.limit_batches is not None:  # a quick trial run on the first N batches of every split
        splits = splits._replace(**{name: getattr(splits, name).take(args.limit_batches)
                                    for name in ("train", "validation", "test")})
    train_data = splits.train
    mmzoo.adapt(splits.inputs, train_data)
    steps = int(train_data.cardinality())
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=max(1, steps * args.epochs))
    model = mmzoo.build_model(args.model, splits.inputs, splits.task, learning_rate=schedule)
    print(f"mmzoo: training '{args.model}' on '{args.dataset}' "
          f"({model.count_params():,} parameters, inputs: {', '.join(s.name for s in splits.inputs)})")
    print(f"mmzoo: checkpoints in {checkpoint_dir}/; after an interruption, resume with "
          + ("the same command." if args.run_name else f"the same command plus --run-name {run}."))
    start = time.time()
    try:
        history = train(model, train_data, validation_data=splits.validation, epochs=args.epochs, seed=args.seed,
                        restore_best=True, checkpoint_dir=checkpoint_dir)
    except (FloatingPointError, CheckpointError) as error:
        raise SystemExit(f"mmzoo train: {error}") from None
    seconds = time.time() - start
    test = model.evaluate(splits.test, return_dict=True, verbose=0)
    test = {k: float(v) for k, v in test.items()}
    config = {k: v for k, v in vars(args).items() if k != "func"}
    paths = save_artifacts(model, output_dir, history=history,
                           metrics={"test": test, "train_seconds": round(seconds, 1)}, config=config)
    if not args.keep_checkpoints:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    print("\nTest metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in test.items()))
    print(f"Trained in {seconds:.0f} s. Artifacts in {output_dir}/:")
    for name, path in paths.items():
        print(f"  {name:<10} {path}")
    return 0


def cmd_evaluate(args):
    import mmzoo
    from mmzoo.evaluation import predict_all, score
    from mmzoo.evaluation_plots import plot_confusion_matrix, plot_regression_scatter

    splits = _load_splits(args.dataset, args.batch_size, 0, args.data_dir)
    model = mmzoo.load(args.model)
    y_true, y_pred = predict_all(model, getattr(splits, args.split))
    metrics = score(splits.task, y_true, y_pred)
    output = args.output or os.path.join(os.path.dirname(os.path.abspath(args.model)),
                                         f"evaluation-{args.dataset}-{args.split}")
    os.makedirs(output, exist_ok=True)
    if "confusion_matrix" in metrics:
        plot_confusion_matrix(metrics["confusion_matrix"], getattr(splits.task, "class_names", None),
                              path=os.path.join(output, "confusion_matrix.png"))
    elif splits.task.kind == "regression":
        plot_regression_scatter(y_true, y_pred, path=os.path.join(output, "scatter.png"))
    with open(os.path.join(output, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    shown = {k: v for k, v in metrics.items() if k != "confusion_matrix"}
    print(json.dumps(shown, indent=2))
    print(f"Written to {output}/")
    return 0


def cmd_list(args):
    import mmzoo
    from mmzoo.registry import ENCODERS, FUSIONS, MODELS

    out = {
        "models": {n: MODELS.meta(n) for n in mmzoo.list_models()},
        "encoders": {n: ENCODERS.meta(n) for n in mmzoo.list_encoders()},
        "fusions": {n: FUSIONS.meta(n) for n in mmzoo.list_fusions()},
        "datasets": sorted(_datasets()),
    }
    if args.json:
        print(json.dumps(out, indent=2, default=list))
        return 0
    if args.table:
        from mmzoo.reference import zoo_table

        print(zoo_table())
        return 0
    for section in ("models", "encoders", "fusions"):
        print(f"{section}:")
        for name, meta in out[section].items():
            extra = ", ".join(meta.get("modalities", ())) if section == "encoders" else meta.get("paper", "")
            print(f"  {name:<16} {extra}")
    print("datasets:\n  " + "\n  ".join(out["datasets"]))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mmzoo", description="mmzoo: multimodal Keras model zoo")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train a zoo model on a dataset and write its artifacts")
    p.add_argument("--model", default="early_fusion", help="architecture (see `list`)")
    p.add_argument("--dataset", default="avmnist_sample", help="dataset (default: the embedded AV-MNIST sample)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="saved_models", help="directory for run folders")
    p.add_argument("--run-name", default=None,
                   help="run folder name (default: dataset-model-timestamp); if the folder holds checkpoints "
                        "of an interrupted run, training resumes from the last finished epoch")
    p.add_argument("--data-dir", default=None, help="real data folder (default: $MMZOO_DATA)")
    p.add_argument("--limit-batches", type=int, default=None, metavar="N",
                   help="use only the first N batches of each split, every epoch: a quick trial run "
                        "(validation and test metrics are then on that subset)")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep <run>/checkpoints/ after a successful run (default: deleted once the artifacts "
                        "are written)")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="evaluate a saved model on a dataset split; writes metrics and a plot")
    p.add_argument("--model", required=True, help="a .keras file")
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", default="test", choices=("train", "validation", "test"))
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--data-dir", default=None, help="real data folder (default: $MMZOO_DATA)")
    p.add_argument("--output", default=None, help="folder for metrics.json and the plot")
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("list", help="list the zoo: models, encoders, fusions, datasets")
    p.add_argument("--json", action="store_true", help="machine-readable listing")
    p.add_argument("--table", action="store_true",
                   help="markdown table with parameter counts on the reference input set (builds every model)")
    p.set_defaults(func=cmd_list)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
