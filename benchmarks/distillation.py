"""Distillation table: a student trained alone against the same student distilled from a fusion teacher.

On the embedded AV-MNIST sample it trains a teacher (early fusion of both
inputs, a three-block CNN per input), then, for each student below, the
student alone (`mmzoo.train`) and the same student, from the same initial
weights and seed, through `mmzoo.distill` (Hinton et al. 2015). It reports
test accuracy, parameter count and batch-1 latency (median of
`predict_on_batch` on one example, after warm-up) into
`benchmarks/results/distillation.json` and `benchmarks/DISTILLATION.md`.

Usage, from the repository root (a few minutes on two CPU cores):

    MMZOO_DATA=../shared/data python -m benchmarks.distillation
    python -m benchmarks.distillation --epochs 2 --out /tmp/d.json --report /tmp/D.md
"""

import argparse
import os
import platform
import time

import numpy as np

from benchmarks.output import save

HERE = os.path.dirname(os.path.abspath(__file__))
TEACHER_ENCODER = ("cnn", {"filters": (16, 32, 64), "units": 64})
NARROW_ENCODER = ("cnn", {"filters": (4, 8), "units": 16})
# student name -> (inputs it reads, encoder per input)
STUDENTS = {
    "narrow_fusion": (("digit", "voice"), NARROW_ENCODER),
    "digit_only": (("digit",), NARROW_ENCODER),
}


def build(splits, names, encoder, seed):
    """A compiled early-fusion model over the inputs `names`, its weights drawn from `seed`."""
    import keras

    import mmzoo

    keras.utils.set_random_seed(seed)
    inputs = [spec for spec in splits.inputs if spec.name in names]
    return mmzoo.build_model(
        "early_fusion", inputs, splits.task, encoders={spec.name: encoder for spec in inputs}, learning_rate=2e-3
    )


def only(dataset, names):
    """`dataset` with its feature dicts cut to `names`."""
    return dataset.map(lambda features, label: ({n: features[n] for n in names}, label))


def latency_ms(model, example, repeats=50):
    """Median milliseconds of `predict_on_batch` on one example."""
    for _ in range(5):
        model.predict_on_batch(example)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(example)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def run(epochs, settings, seed):
    import mmzoo

    splits = mmzoo.datasets.load("avmnist_sample")
    features, _ = next(iter(splits.test.unbatch().batch(1)))
    started = time.perf_counter()
    teacher = build(splits, ("digit", "voice"), TEACHER_ENCODER, seed)
    mmzoo.train(teacher, splits.train, epochs=epochs, seed=seed, verbose=0)
    results = {
        "teacher": {
            "inputs": ["digit", "voice"],
            "params": teacher.count_params(),
            "test_accuracy": float(teacher.evaluate(splits.test, verbose=0, return_dict=True)["accuracy"]),
            "latency_ms": latency_ms(teacher, features),
        }
    }
    for name, (names, encoder) in STUDENTS.items():
        test, example = only(splits.test, names), {n: features[n] for n in names}
        alone = build(splits, names, encoder, seed + 1)
        mmzoo.train(alone, only(splits.train, names), epochs=epochs, seed=seed, verbose=0)
        results[name] = {
            "inputs": list(names),
            "params": alone.count_params(),
            "alone_test_accuracy": float(alone.evaluate(test, verbose=0, return_dict=True)["accuracy"]),
            "alone_latency_ms": latency_ms(alone, example),
            "distilled": [],
        }
        for temperature, alpha in settings:
            distilled = build(splits, names, encoder, seed + 1)  # the same initial weights
            mmzoo.distill(
                teacher,
                distilled,
                splits.train,
                epochs=epochs,
                temperature=temperature,
                alpha=alpha,
                seed=seed,
                verbose=0,
            )
            results[name]["distilled"].append(
                {
                    "temperature": temperature,
                    "alpha": alpha,
                    "test_accuracy": float(distilled.evaluate(test, verbose=0, return_dict=True)["accuracy"]),
                    "latency_ms": latency_ms(distilled, example),
                }
            )
    return {
        "dataset": "avmnist_sample",
        "epochs": epochs,
        "settings": [{"temperature": t, "alpha": a} for t, a in settings],
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "results": results,
    }


def report(summary):
    """The Markdown table of `summary`."""
    teacher = summary["results"]["teacher"]
    lines = [
        "# Distillation (AV-MNIST sample)",
        "",
        f"`python -m benchmarks.distillation`: {summary['epochs']} epochs each, seed {summary['seed']}, "
        f"{summary['machine']}, {summary['seconds']} s in all. Students alone and distilled start from the same "
        "weights; test accuracy on the sample's test split. Latency: median `predict_on_batch` of one example "
        "(CPU, ms).",
        "",
        "| model | inputs | params | trained | test accuracy | latency (ms) |",
        "|---|---|---|---|---|---|",
        f"| teacher (early fusion) | {', '.join(teacher['inputs'])} | {teacher['params']:,} | alone | "
        f"{teacher['test_accuracy']:.3f} | {teacher['latency_ms']:.2f} |",
    ]
    for name, r in summary["results"].items():
        if name == "teacher":
            continue
        lines.append(
            f"| {name} | {', '.join(r['inputs'])} | {r['params']:,} | alone | {r['alone_test_accuracy']:.3f} | "
            f"{r['alone_latency_ms']:.2f} |"
        )
        for d in r["distilled"]:
            lines.append(
                f"| {name} | | | distilled, T={d['temperature']:g}, alpha={d['alpha']:g} | "
                f"{d['test_accuracy']:.3f} | {d['latency_ms']:.2f} |"
            )
    lines += [
        "",
        "Distillation changes only the weights, so a distilled student runs as fast as the same student "
        "trained alone; the gain, if any, is accuracy. One seed on a 2,700-pair sample: differences of a "
        "point or two are within noise. The soft targets carry the teacher's own errors, and `T^2` scales "
        "their gradients, so a weak teacher with a low `alpha` can pull a student below its solo accuracy.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument(
        "--settings", nargs="+", default=["4:0.5", "2:0.9"], help="distillation settings as temperature:alpha"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "distillation.json"))
    parser.add_argument("--report", default=os.path.join(HERE, "DISTILLATION.md"))
    args = parser.parse_args(argv)
    settings = [tuple(float(v) for v in setting.split(":")) for setting in args.settings]
    summary = run(args.epochs, settings, args.seed)
    print(save(summary, args.out, args.report, report))


if __name__ == "__main__":
    main()
