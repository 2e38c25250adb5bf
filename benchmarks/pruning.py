"""Pruning table: test accuracy against sparsity, and gzip size of the `.keras` and TFLite files, on AV-MNIST.

Trains `early_fusion` on the embedded AV-MNIST sample (digit images and
spoken digits; the small CNNs of `benchmarks/compression.py`), then, for each
target sparsity, fine-tunes a copy with `mmzoo.compression.prune` (magnitude
pruning on the polynomial schedule of Zhu & Gupta 2017, reaching the target
at three quarters of the fine-tuning, Adam at a constant 5e-4) and measures
the test accuracy of the `.keras` model and of its float32 TFLite file, and
both files' sizes, raw and gzip-compressed (pruned weights are stored as
zeros: only the compressed size shrinks). The dense model is fine-tuned the
same way (sparsity 0) so every row has had the same training. Results go to
`benchmarks/results/pruning.json` and `benchmarks/PRUNING.md`.

Usage, from the repository root (about 3 minutes on 2 CPU cores):

    python -m benchmarks.pruning
    python -m benchmarks.pruning --epochs 1 --fine-tune-epochs 1 --sparsities 0.8 --out /tmp/p.json --report /tmp/P.md
"""

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np

from benchmarks.compression import load, save_bare, train
from benchmarks.output import save

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(model, folder, name, x_test, y_test):
    """Accuracy and raw/gzip sizes of the model's bare `.keras` file and float32 TFLite file."""
    import mmzoo
    from mmzoo.analysis.compression import gzip_size, sparsity
    from mmzoo.artifacts.runtime import predict_from_artifact

    row = {"sparsity": sparsity(model)["overall"]}
    for kind in ("keras", "tflite"):
        path = os.path.join(folder, f"{name}.{kind}")
        save_bare(model, path) if kind == "keras" else mmzoo.export(model, path, format="tflite")
        output = next(iter(predict_from_artifact(path, x_test).values()))
        row[kind] = {
            "accuracy": float(np.mean(np.argmax(output, -1) == y_test)),
            "bytes": os.path.getsize(path),
            "gzip_bytes": gzip_size(path),
        }
    return row


def run(args):
    import keras

    from mmzoo.analysis.compression import prune

    splits, _, (x_test, y_test) = load("avmnist_sample", args.seed, None)
    start = time.time()
    dense = train("avmnist_sample", "early_fusion", splits, args.epochs, args.seed)
    train_seconds = time.time() - start
    dense.compile(optimizer=keras.optimizers.Adam(5e-4), loss=splits.task.loss(), metrics=splits.task.metrics())
    steps = int(splits.train.cardinality()) * args.fine_tune_epochs
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for target in [0.0, *args.sparsities]:
            start = time.time()
            keras.utils.set_random_seed(args.seed)
            pruned, _ = prune(
                dense, splits.train, target, epochs=args.fine_tune_epochs, end_step=max(1, steps * 3 // 4)
            )
            row = {"target_sparsity": target, **measure(pruned, folder, f"s{target}", x_test, y_test)}
            row["seconds"] = round(time.time() - start, 1)
            rows.append(row)
            print(json.dumps(row))
    return {
        "settings": {
            "dataset": "avmnist_sample",
            "model": "early_fusion",
            "parameters": dense.count_params(),
            "epochs": args.epochs,
            "fine_tune_epochs": args.fine_tune_epochs,
            "train_seconds": round(train_seconds, 1),
            "seed": args.seed,
            "tensorflow": __import__("tensorflow").__version__,
            "keras": keras.__version__,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        },
        "rows": rows,
    }


def report(results):
    """PRUNING.md: the table of accuracy and sizes against sparsity."""
    s = results["settings"]
    lines = [
        "# Pruning: accuracy against sparsity on AV-MNIST",
        "",
        f"`{s['model']}` ({s['parameters']:,} parameters) trained {s['epochs']} epochs on the AV-MNIST sample, then "
        f"fine-tuned {s['fine_tune_epochs']} epochs with `mmzoo.compression.prune` per target sparsity "
        "(magnitude pruning, Zhu & Gupta 2017 polynomial schedule; sparsity 0 is the same fine-tuning without "
        "pruning). Sparsity is the measured share of zeros over all Dense and Conv kernels. Accuracy is on the "
        "600-pair test split, from each file; sizes are the `.keras` file without optimizer state and the float32 "
        f"TFLite file, raw and gzip -9. TF {s['tensorflow']}, Keras {s['keras']}, {s['machine']}. "
        "Written by `python -m benchmarks.pruning`.",
        "",
        "| target | sparsity | .keras acc | TFLite acc | .keras bytes | .keras gzip | TFLite bytes | TFLite gzip |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        k, t = r["keras"], r["tflite"]
        lines.append(
            f"| {r['target_sparsity']:.1f} | {r['sparsity']:.3f} | {k['accuracy']:.3f} | {t['accuracy']:.3f} | "
            f"{k['bytes']:,} | {k['gzip_bytes']:,} | {t['bytes']:,} | {t['gzip_bytes']:,} |"
        )
    lines += [
        "",
        "Pruned weights are stored as zeros, so the raw files keep their size; the gzip column is what pruning "
        "saves on disk or over the wire. Biases and normalization statistics are not pruned, nor the constants of "
        "the TFLite file's audio log-mel frontend (its DFT basis), which set the floor of the TFLite gzip size.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="epochs of dense training")
    parser.add_argument("--fine-tune-epochs", type=int, default=8)
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.5, 0.8, 0.9])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "pruning.json"))
    parser.add_argument("--report", default=os.path.join(HERE, "PRUNING.md"))
    args = parser.parse_args(argv)
    results = run(args)
    print(save(results, args.out, args.report, report))


if __name__ == "__main__":
    main()
