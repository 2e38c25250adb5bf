"""Command line: `python -m mmzoo train|list`."""

import argparse
import json
import os
import sys
import time


def _datasets():
    from mmzoo.datasets import load_avmnist_sample

    return {"avmnist_sample": load_avmnist_sample}


def cmd_train(args):
    import keras

    import mmzoo
    from mmzoo.train import save_artifacts, train

    datasets = _datasets()
    if args.dataset not in datasets:
        raise SystemExit(f"Unknown dataset '{args.dataset}'. Known datasets: {', '.join(sorted(datasets))}.")
    keras.utils.set_random_seed(args.seed)
    splits = datasets[args.dataset](batch_size=args.batch_size, seed=args.seed)
    mmzoo.adapt(splits.inputs, splits.train)
    steps = int(splits.train.cardinality())
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=max(1, steps * args.epochs))
    model = mmzoo.build_model(args.model, splits.inputs, splits.task, learning_rate=schedule)
    print(f"mmzoo: training '{args.model}' on '{args.dataset}' "
          f"({model.count_params():,} parameters, inputs: {', '.join(s.name for s in splits.inputs)})")
    start = time.time()
    history = train(model, splits.train, validation_data=splits.validation, epochs=args.epochs, seed=args.seed,
                    restore_best=True)
    seconds = time.time() - start
    test = model.evaluate(splits.test, return_dict=True, verbose=0)
    test = {k: float(v) for k, v in test.items()}
    run = args.run_name or f"{args.dataset}-{args.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    output_dir = os.path.join(args.output, run)
    config = {k: v for k, v in vars(args).items() if k != "func"}
    paths = save_artifacts(model, output_dir, history=history,
                           metrics={"test": test, "train_seconds": round(seconds, 1)}, config=config)
    print("\nTest metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in test.items()))
    print(f"Trained in {seconds:.0f} s. Artifacts in {output_dir}/:")
    for name, path in paths.items():
        print(f"  {name:<10} {path}")
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
    p.add_argument("--run-name", default=None, help="run folder name (default: dataset-model-timestamp)")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("list", help="list the zoo: models, encoders, fusions, datasets")
    p.add_argument("--json", action="store_true", help="machine-readable listing")
    p.add_argument("--table", action="store_true",
                   help="markdown table with parameter counts on the reference input set (builds every model)")
    p.set_defaults(func=cmd_list)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
