"""Compression table: size and test metric of trained zoo models, float32 vs quantized, per format.

Trains small zoo models on real data (the embedded AV-MNIST sample; MOSI when
`$MMZOO_DATA` or `--data-dir` holds it, skipped with a note otherwise), then
writes each model in every format below and measures, from the file itself
(`mmzoo.artifacts.runtime.predict_from_artifact`), its size and test metric:

- float32 `.keras` and the Keras `mmzoo.compression.quantize` copies (int8,
  int4), saved without optimizer state so sizes compare like for like;
- TFLite (`mmzoo.export(format="tflite")`): float32, dynamic range (int8
  weights), float16 weights, and full int8 calibrated on 200 training examples;
- TFLite of the Keras-int8 model (expected to fail: the error is recorded).

Each written file is also timed where it runs: `.keras` files through
`mmzoo.load` and `model.predict` (mmzoo's compiled inference path), `.tflite`
files through one LiteRT signature runner. Batch-1 latency is the median of
`LATENCY_CALLS` calls on one test example, batch-256 throughput the median of
`THROUGHPUT_CALLS` calls on 256 test examples, each after `WARMUP` calls.

For audio inputs it also measures the TFLite log-mel frontend (`DFTLogMel`)
alone against float32 Keras, since that is where quantization hurts. Results
go to `benchmarks/results/compression.json` and `benchmarks/COMPRESSION.md`.

Usage, from the repository root (a few minutes on a few CPU cores):

    MMZOO_DATA=../shared/data python -m benchmarks.compression
    python -m benchmarks.compression --datasets avmnist_sample --models gmu --epochs 2 --out /tmp/c.json --report /tmp/C.md
    python -m benchmarks.compression --report-only
"""

import argparse
import json
import os
import platform
import re
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# Three blocks, one more than the accuracy benchmark's CNN: with two, the global pooling sees only 10-pixel
# patches of the digit, too weak a float32 reference on the 2,700-pair sample for the deltas to mean much.
SMALL_CNN = ("cnn", {"filters": (16, 32, 64), "units": 64})
MOSI_MLP = ("mlp", {"units": (64,), "dropout": 0.5})
DATASETS = {
    "avmnist_sample": {
        "batch_size": 64,
        "epochs": 5,
        "learning_rate": 2e-3,
        "encoders": SMALL_CNN,
        "model_options": {},
        "loss": None,
        "metrics": ["accuracy"],
    },
    "mosi": {
        "batch_size": 32,
        "epochs": 20,
        "learning_rate": 1e-3,
        "encoders": MOSI_MLP,
        "model_options": {"head_units": (64,), "dropout": 0.3},
        "loss": "mae",
        "metrics": ["acc2_has0", "acc2_non0", "mae"],
    },
}
TFLITE = [
    ("TFLite float32", None),
    ("TFLite dynamic range", "dynamic"),
    ("TFLite float16", "float16"),
    ("TFLite int8 (full integer)", "int8"),
]
REPRESENTATIVE = 200
KERAS_MODES = ("int8", "int4", "float8")
WARMUP, LATENCY_CALLS, THROUGHPUT_CALLS, BIG_BATCH = 5, 100, 10, 256


def load(dataset, seed, data_dir):
    """`(splits, train_arrays, (x_test, y_test))` for a dataset."""
    from mmzoo import datasets

    if dataset == "avmnist_sample":
        from mmzoo.datasets.avmnist_sample import load_avmnist_sample_arrays

        arrays = load_avmnist_sample_arrays()
        splits = datasets.load_avmnist_sample(batch_size=DATASETS[dataset]["batch_size"], seed=seed)
        return splits, arrays["train"][0], arrays["test"]
    from mmzoo.datasets.mosi import load_mosi_arrays

    arrays = load_mosi_arrays(data_dir, seed=seed)
    splits = datasets.mosi(data_dir, batch_size=DATASETS[dataset]["batch_size"], seed=seed)
    return splits, arrays["train"][0], arrays["test"][:2]


def train(dataset, architecture, splits, epochs, seed):
    """A zoo model trained with Adam and cosine decay for `epochs` epochs."""
    import keras

    import mmzoo

    cfg = DATASETS[dataset]
    keras.utils.set_random_seed(seed)
    model = mmzoo.build_model(
        architecture,
        splits.inputs,
        splits.task,
        compile=False,
        encoders={s.name: cfg["encoders"] for s in splits.inputs},
        **cfg["model_options"],
    )
    steps = int(splits.train.cardinality()) * epochs
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(cfg["learning_rate"], steps))
    loss = keras.losses.MeanAbsoluteError() if cfg["loss"] == "mae" else splits.task.loss()
    model.compile(optimizer=optimizer, loss=loss, metrics=splits.task.metrics())
    model.fit(splits.train, epochs=epochs, verbose=0)
    return model


def score(dataset, y_true, output):
    """The dataset's test metrics of a model output array."""
    from mmzoo.analysis.evaluation import mosi_metrics

    if dataset == "mosi":
        metrics = mosi_metrics(y_true, output)
        return {k: metrics[k] for k in DATASETS[dataset]["metrics"]}
    return {"accuracy": float(np.mean(np.argmax(output, -1) == y_true))}


def save_bare(model, path):
    """Saves `model` as `.keras` without optimizer state (reloaded with compile=False, saved again)."""
    import keras

    with tempfile.TemporaryDirectory() as folder:
        model.save(os.path.join(folder, "m.keras"))
        keras.saving.load_model(os.path.join(folder, "m.keras"), compile=False, safe_mode=True).save(path)


def frontend_error(model, waveforms, representative):
    """TFLite log-mel (`DFTLogMel` alone) vs float32 Keras, per quantization: dB errors, non-finite share, bytes.

    `representative` (`{name: waveforms}`) calibrates the full-integer int8 conversion.
    """
    import keras

    from mmzoo.artifacts.core import Core, build_core
    from mmzoo.artifacts.tflite import convert, run

    found = {}
    for name, layer in build_core(model, "tflite").audio.items():
        source = keras.Input(waveforms[name].shape[1:], name=name)
        frontend = keras.Model({name: source}, layer(source))
        reference = keras.ops.convert_to_numpy(layer(waveforms[name]))
        for quantize in (None, "dynamic", "float16", "int8"):
            blob, _ = convert(Core(frontend, {}, {}), "logmel", quantize, {name: representative[name]})
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "frontend.tflite")
                with open(path, "wb") as f:
                    f.write(blob)
                out = run(path, {name: waveforms[name]})["logmel"]
            finite = np.isfinite(out)
            error = np.abs(np.where(finite, out, 0.0) - reference)[finite]
            found[f"{name}/{quantize or 'float32'}"] = {
                "bytes": len(blob),
                "nonfinite": float(1.0 - finite.mean()),
                "mean_abs_db": float(error.mean()) if error.size else None,
                "max_abs_db": float(error.max()) if error.size else None,
            }
    return found


def _median_seconds(call, inputs, calls):
    for _ in range(WARMUP):
        call(inputs)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call(inputs)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _runner(path):
    """A function `{name: array} -> outputs` running the file at `path` the way it is served."""
    if path.endswith(".tflite"):
        from mmzoo.artifacts.runtime import core_feed
        from mmzoo.artifacts.tflite import interpreter

        runner = interpreter(path).get_signature_runner("serve")
        details = runner.get_input_details()
        static = any(len(d["shape_signature"]) and d["shape_signature"][0] == 1 for d in details.values())

        def call(feed):
            return runner(**feed)

        def prepare(inputs):
            feed, _ = core_feed(path, inputs)
            return {k: np.asarray(v).astype(details[k]["dtype"]) for k, v in feed.items() if k in details}

        return call, prepare, static
    import mmzoo

    model = mmzoo.load(path)
    return (lambda x: model.predict(x, verbose=0)), (lambda inputs: inputs), False


def timing(path, x_test):
    """Batch-1 latency (ms, median) and batch-256 throughput (examples/s) of the file at `path`."""
    call, prepare, static = _runner(path)
    n = len(next(iter(x_test.values())))
    pick = np.arange(BIG_BATCH) % n
    one = prepare({k: v[:1] for k, v in x_test.items()})
    row = {"latency_ms": 1000 * _median_seconds(call, one, LATENCY_CALLS)}
    if static:
        row["throughput_note"] = "static batch of 1"
    else:
        big = prepare({k: v[pick] for k, v in x_test.items()})
        row["throughput"] = BIG_BATCH / _median_seconds(call, big, THROUGHPUT_CALLS)
    return row


def measure(dataset, architecture, model, train_x, test, folder, seed):
    """Every format's row for one trained model: size, metrics, deltas and agreement vs float32."""
    import mmzoo
    from mmzoo.analysis.compression import model_size_bytes, quantize
    from mmzoo.artifacts.runtime import predict_from_artifact

    x_test, y_test = test
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(next(iter(train_x.values()))), REPRESENTATIVE, replace=False)
    representative = {k: v[pick] for k, v in train_x.items()}
    rows, reports, reference = [], {}, None

    def add(name, write, path):
        nonlocal reference
        start = time.time()
        try:
            write(path)
            output = next(iter(predict_from_artifact(path, x_test).values()))
        except Exception as error:  # a format the model cannot take: record why
            message = re.sub(r"<unknown>:0: error: loc\(.*\)\): ", "", str(error).splitlines()[0])  # MLIR op path
            rows.append({"format": name, "error": f"{type(error).__name__}: {message[:400]}"})
            return
        output = np.asarray(output, np.float64)
        row = {
            "format": name,
            "file": os.path.basename(path),
            "bytes": model_size_bytes(path),
            "metrics": score(dataset, y_test, output),
            "nonfinite_outputs": float(np.mean(~np.isfinite(output))),
            "seconds": round(time.time() - start, 1),
        }
        try:
            row.update(timing(path, x_test))
        except Exception as error:  # timed where it runs; a runtime that cannot time it says why
            row["timing_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        if reference is None:
            reference = (row, output)
        base, base_out = reference
        row["ratio"] = row["bytes"] / base["bytes"]
        row["delta"] = {k: v - base["metrics"][k] for k, v in row["metrics"].items()}
        if dataset == "mosi":
            row["agreement"] = float(np.mean((output >= 0) == (base_out >= 0)))
        else:
            row["agreement"] = float(np.mean(np.argmax(output, -1) == np.argmax(base_out, -1)))
        row["max_abs_output_diff"] = float(np.nanmax(np.abs(output - base_out))) if np.isfinite(output).any() else None
        rows.append(row)

    path = lambda name: os.path.join(folder, f"{dataset}_{architecture}_{name}")  # noqa: E731
    add("float32 .keras", lambda p: save_bare(model, p), path("float32.keras"))
    quantized = {}
    for mode in KERAS_MODES:
        try:
            quantized[mode], report = quantize(model, mode)
        except Exception as error:  # a mode Keras refuses for this model: record why
            rows.append({"format": f"Keras {mode} .keras", "error": f"{type(error).__name__}: {str(error)[:400]}"})
            continue
        reports[mode] = report.to_dict()
        add(f"Keras {mode} .keras", lambda p, m=mode: save_bare(quantized[m], p), path(f"{mode}.keras"))
    for name, q in TFLITE:
        add(
            name,
            lambda p, q=q: mmzoo.export(model, p, format="tflite", quantize=q, representative_data=representative),
            path(f"{q or 'float32'}.tflite"),
        )
    add(
        "TFLite of the Keras int8 model",
        lambda p: mmzoo.export(quantized["int8"], p, format="tflite"),
        path("keras_int8.tflite"),
    )
    audio = {s["name"] for s in getattr(model, "spec_configs", []) if s.get("modality") == "audio"}
    waves = {k: v[:32] for k, v in x_test.items() if k in audio}
    return rows, reports, (frontend_error(model, waves, representative) if waves else {})


def run(datasets, models, epochs, seed, data_dir, out):
    import keras
    import tensorflow as tf

    from mmzoo.datasets.locate import locate

    results = {
        "settings": {
            "seed": seed,
            "epochs": epochs,
            "representative_examples": REPRESENTATIVE,
            "timing": {
                "warmup_calls": WARMUP,
                "latency_calls": LATENCY_CALLS,
                "throughput_calls": THROUGHPUT_CALLS,
                "throughput_batch": BIG_BATCH,
            },
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        },
        "runs": [],
        "skipped": [],
    }
    for dataset in datasets:
        if dataset == "mosi":
            try:
                locate("mosi/mosi_bclstm_utterances.npz", "MOSI", data_dir)
            except FileNotFoundError as error:
                results["skipped"].append({"dataset": dataset, "reason": str(error).splitlines()[0]})
                print(f"skipping {dataset}: {error}", flush=True)
                continue
        splits, train_x, test = load(dataset, seed, data_dir)
        for architecture in models:
            start = time.time()
            model = train(dataset, architecture, splits, epochs or DATASETS[dataset]["epochs"], seed)
            seconds = time.time() - start
            with tempfile.TemporaryDirectory() as folder:
                rows, reports, frontend = measure(dataset, architecture, model, train_x, test, folder, seed)
            results["runs"].append(
                {
                    "dataset": dataset,
                    "model": architecture,
                    "parameters": int(model.count_params()),
                    "epochs": epochs or DATASETS[dataset]["epochs"],
                    "train_seconds": round(seconds, 1),
                    "rows": rows,
                    "keras_quantization": reports,
                    "frontend": frontend,
                }
            )
            print(
                f"{dataset}/{architecture}: "
                + "; ".join(
                    f"{r['format']} {r.get('bytes', '-')} B {r.get('metrics', r.get('error', ''))}" for r in rows
                ),
                flush=True,
            )
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    return results


def _cell(value, points=True):
    if value is None:
        return "-"
    return f"{100 * value:.1f}" if points else f"{value:.3f}"


def _delta(value, points=True):
    return f"{100 * value:+.1f}" if points else f"{value:+.3f}"


def _timing(row):
    """The latency and throughput cells of a row (`-` for results written before timing was measured)."""
    if "latency_ms" not in row:
        return "- | -"
    big = f"{row['throughput']:,.0f}" if "throughput" in row else row.get("throughput_note", "-")
    return f"{row['latency_ms']:.3g} | {big}"


def report(results):
    """COMPRESSION.md text from the results dict."""
    s = results["settings"]
    lines = [
        "# mmzoo compression table",
        "",
        "Generated by `python -m benchmarks.compression` from `benchmarks/results/compression.json`; do not edit "
        f"by hand. One seed ({s['seed']}), TensorFlow {s['tensorflow']}, Keras {s['keras']}, {s['machine']}. "
        "Every metric is measured on the test split from the written file itself "
        "(`predict_from_artifact`: `mmzoo.load` for `.keras`, the LiteRT interpreter for `.tflite`). "
        "`.keras` sizes are without optimizer state. Agreement: share of test examples where the format "
        "predicts the float32 model's class (MOSI: the sign of its score). Metric columns in percentage "
        "points except MAE. Latency: median of "
        f"{s.get('timing', {}).get('latency_calls', '-')} batch-1 calls after {s.get('timing', {}).get('warmup_calls', '-')} "
        "warm-up calls (`.keras`: `mmzoo.load` then `predict`; `.tflite`: one LiteRT signature runner); throughput: "
        f"{s.get('timing', {}).get('throughput_batch', '-')} examples per call, median of "
        f"{s.get('timing', {}).get('throughput_calls', '-')} calls.",
        "",
    ]
    for entry in results["skipped"]:
        lines += [f"**{entry['dataset']} skipped**: {entry['reason']}", ""]
    for r in results["runs"]:
        metrics = DATASETS[r["dataset"]]["metrics"]
        lines += [
            f"## {r['dataset']} / `{r['model']}`",
            "",
            f"{r['parameters']:,} parameters, {r['epochs']} epochs ({r['train_seconds']:.0f} s).",
            "",
            "| format | bytes | vs float32 | "
            + " | ".join(f"{m} | Δ" for m in metrics)
            + " | agreement | batch-1 latency (ms) | batch-256 (examples/s) |",
            "|---|---|---|" + "---|---|" * len(metrics) + "---|---|---|",
        ]
        for row in r["rows"]:
            if "error" in row:
                lines.append(
                    f"| {row['format']} | not exported: {row['error'][:320]} |" + " |" * (2 * len(metrics) + 4)
                )
                continue
            cells = []
            for m in metrics:
                points = m != "mae"
                cells += [_cell(row["metrics"][m], points), _delta(row["delta"][m], points)]
            flag = f" ({100 * row['nonfinite_outputs']:.0f}% NaN outputs)" if row["nonfinite_outputs"] else ""
            lines.append(
                f"| {row['format']}{flag} | {row['bytes']:,} | {row['ratio']:.2f}x | "
                + " | ".join(cells)
                + f" | {100 * row['agreement']:.1f}% | {_timing(row)} |"
            )
        q = r["keras_quantization"].get("int8")
        if q:
            total = q["quantized_parameters"] + q["float_parameters"]
            kinds = sorted({e["type"] for e in q["float"]})
            nested = [e["layer"] for e in q["float"] if "inside" in e["reason"]]
            lines += [
                "",
                f"Keras int8 quantized {len(q['quantized'])} layers "
                f"({', '.join(e['layer'] for e in q['quantized'])}): {q['quantized_parameters']:,} of "
                f"{total:,} parameters. Left float: {', '.join(kinds)}"
                + (
                    f"; Dense layers nested in custom layers (not reloadable quantized): {', '.join(nested)}"
                    if nested
                    else ""
                )
                + ".",
            ]
        if r["frontend"]:
            lines += [
                "",
                "TFLite log-mel frontend alone (`DFTLogMel`, int8 calibrated on the same 200 training clips) vs float32 Keras, 32 test clips:",
                "",
                "| frontend | bytes | mean abs error (dB) | max abs error (dB) | non-finite |",
                "|---|---|---|---|---|",
            ]
            for name, f in r["frontend"].items():
                mean = "-" if f["mean_abs_db"] is None else f"{f['mean_abs_db']:.3g}"
                peak = "-" if f["max_abs_db"] is None else f"{f['max_abs_db']:.3g}"
                lines.append(f"| {name} | {f['bytes']:,} | {mean} | {peak} | {100 * f['nonfinite']:.0f}% |")
        lines.append("")
    lines += ["## Reading the table", "", NOTES]
    return "\n".join(lines) + "\n"


NOTES = """\
- **Keras int8/int4** (`mmzoo.compression.quantize`) quantizes `Dense`/`EinsumDense`/`Embedding`
  kernels, at any depth (encoder projections, fusion projections and attention included: a
  `MultimodalModel` records its nested quantized layers in its config and reloads them quantized);
  Keras 3.15 has no quantized convolution, recurrent, normalization or custom-weight layer, so a
  convolutional model's file shrinks less than 4x; the `.keras` zip also carries config and HDF5 overhead.
- **TFLite** quantizes every convolution and matmul weight, so it compresses more. Its float32 file is
  larger than the `.keras` file for audio models: the exported core computes the log-mel with a
  fixed DFT basis and mel filterbank stored as constants (the frontend rows give their size), where
  Keras computes an FFT.
- **Audio under TFLite quantization** is where accuracy goes, in the log-mel frontend (see its
  rows): dynamic-range quantization also quantizes the DFT basis and, on the fly, the waveform
  itself to 8 bits, which lifts quiet mel bins by tens of dB; full-integer int8 quantizes the
  activations linearly to 8 bits (about 48 dB of range) where the mel power spans 100 dB before
  the log. float16 keeps the accuracy (the frontend floors the log-mel in dB after the log, so
  the `min_power` that float16 rounds to 0 does not give `log(0) = -inf`). The MOSI feature
  models show no such loss.
- **Latency and throughput** are timed from each written file where it runs (`.keras`: `mmzoo.load` and
  `predict`, mmzoo's compiled inference path; `.tflite`: one LiteRT signature runner with XNNPACK), each
  row in turn on one machine. On a shared 2-core host the other jobs' load moves single timings by
  several times, so read the columns for orders of magnitude, not for ratios of neighbouring rows: rerun
  on a quiet machine before relying on a ratio. What does not depend on the load: a `.keras` file pays
  Keras's per-call work at batch 1 (milliseconds), a `.tflite` file does not (microseconds for the
  MOSI models); Keras int8/int4/float8 replace only `Dense`-type kernels and, on CPU, quantize the
  activations on every call (int8) or unpack and rescale the weights (int4, float8), so they are a size
  tool here, not a speed-up; TFLite's full-integer int8 runs integer kernels end to end. The audio models'
  batch-256 TFLite rows compute the log-mel of 256 waveforms with a dense DFT matmul, which dominates.
- **TFLite of a Keras-int8 model** does not convert: TFLite's `fully_connected` takes float or
  quantized-type inputs, not the plain int8 tensors Keras's int8 matmul produces. Quantize for
  TFLite with `mmzoo.export(..., quantize=...)` from the float model.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compression",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=["early_fusion", "gmu"])
    parser.add_argument("--epochs", type=int, default=None, help="override each dataset's epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="folder with mosi/ (default $MMZOO_DATA)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "compression.json"))
    parser.add_argument("--report", default=os.path.join(HERE, "COMPRESSION.md"))
    parser.add_argument("--report-only", action="store_true", help="rebuild the report from --out")
    args = parser.parse_args(argv)
    if args.report_only:
        with open(args.out) as f:
            results = json.load(f)
    else:
        results = run(args.datasets, args.models, args.epochs, args.seed, args.data_dir, args.out)
    with open(args.report, "w") as f:
        f.write(report(results))
    print(f"wrote {args.out} and {args.report}")


if __name__ == "__main__":
    main()
