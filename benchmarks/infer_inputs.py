"""How long `mmzoo.infer_inputs` takes over a long CSV of real files: headers only, never the samples.

    python -m benchmarks.infer_inputs [--rows 100000] [--data-dir $MMZOO_DATA]

Writes a CSV of `--rows` rows (a WAV path from the real FSDD recordings, an
image path of a PNG written from MNIST, a short text) into a temporary
folder, times `infer_inputs` on it, and prints and stores
`benchmarks/results/infer_inputs.json`.
"""

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.infer_inputs", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--data-dir", default=os.environ.get("MMZOO_DATA"))
    parser.add_argument("--output", default=os.path.join(HERE, "results", "infer_inputs.json"))
    args = parser.parse_args(argv)
    import tensorflow as tf

    import mmzoo

    recordings = os.path.join(args.data_dir, "fsdd", "recordings")
    wavs = sorted(os.path.join(recordings, f) for f in os.listdir(recordings) if f.endswith(".wav"))
    digits = np.load(os.path.join(args.data_dir, "mnist", "mnist.npz"))["x_test"][:1000]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        images = []
        for i, digit in enumerate(digits):
            path = os.path.join(folder, f"{i:04d}.png")
            tf.io.write_file(path, tf.io.encode_png(digit[:, :, None]))
            images.append(path)
        rows = pd.DataFrame(
            {
                "voice": [wavs[i] for i in rng.integers(0, len(wavs), args.rows)],
                "digit": [images[i] for i in rng.integers(0, len(images), args.rows)],
                "note": [f"note {i % 97}" for i in range(args.rows)],
                "label": [str(i % 10) for i in range(args.rows)],
            }
        )
        csv = os.path.join(folder, "rows.csv")
        rows.to_csv(csv, index=False)
        start = time.perf_counter()
        inputs = mmzoo.infer_inputs(csv, label="label", verbose=False)
        seconds = time.perf_counter() - start
    record = {
        "rows": args.rows,
        "distinct_wavs": len(wavs),
        "distinct_images": len(images),
        "seconds": round(seconds, 2),
        "rows_per_second": round(args.rows / seconds),
        "inputs": [type(spec).__name__ for spec in inputs],
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
