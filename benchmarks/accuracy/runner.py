"""The accuracy protocol and `python -m benchmarks.accuracy`'s command line (the package docstring has the usage).

`DATASETS` holds each dataset's protocol; `run` trains every candidate row
for every seed and merges the results into the dataset's JSON after each
run, so an interrupted run keeps what it finished.
"""

import argparse
import json
import os
import time

import numpy as np

from . import report as accuracy_report

BENCHMARKS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SMALL_CNN = ("cnn", {"filters": (16, 32), "units": 64})
# AV-MNIST: a small CNN on the digit; a GRU over the log-mel frames for the voice (a CNN with global
# pooling over the log-mel loses the order of the frames, which the spoken digits need).
AVMNIST_ENCODERS = {"digit": SMALL_CNN, "voice": ("gru", {})}

# Moving MNIST + FSDD, sized for 2 busy CPU cores (both variants, 14 rows x 5 seeds): 8 frames
# block-averaged to 16x16 and the first 1,280 training clips; a per-frame CNN with temporal average
# pooling on the clip, a 64-unit GRU over a 32-band log-mel with a 20 ms hop for the voice.
MOVING_MNIST_ENCODERS = {
    "clip": ("frame_pool", {"image_options": {"filters": (8, 16)}, "units": 64}),
    "voice": ("gru", {"units": 64}),
}
MOVING_MNIST_LOADER = {
    "frames": 8,
    "frame_size": 16,
    "max_train": 1280,
    "audio_options": {"num_mel_bins": 32, "frame_step": 160},
}
# the protocol both Moving MNIST + FSDD variants share (they differ in `hard`)
MOVING_MNIST_PROTOCOL = {
    "loader": "moving_mnist_fsdd",
    "loader_options": MOVING_MNIST_LOADER,
    "batch_size": 16,
    "epochs": 5,
    "learning_rate": 3e-3,
    "patience": 2,
    "encoders": MOVING_MNIST_ENCODERS,
    "primary": "accuracy",
    "metrics": ["accuracy", "macro_f1"],
    "references": [],
}

# Per dataset: loader arguments, training budget, encoders, the metric early stopping
# and the bar chart use, and published numbers to print beside ours.
DATASETS = {
    "mosi": {
        "loader": "mosi",
        "batch_size": 32,
        "epochs": 40,
        "learning_rate": 1e-3,
        "patience": 8,
        "loss": "mae",  # L1, as MulT and the MMSA toolkit train MOSI
        # 1,230 training utterances: narrow, heavily regularised encoders and head
        "encoders": ("mlp", {"units": (64,), "dropout": 0.5}),
        "model_options": {"head_units": (64,), "dropout": 0.3},
        "primary": "acc2_has0",
        "metrics": ["acc2_has0", "f1_has0", "acc2_non0", "f1_non0", "acc7", "mae", "corr"],
        "references": [
            {
                "model": "HFFN (Mai et al. 2019)",
                "acc2_has0": 0.8045,
                "source": "bc-LSTM features and split, binary accuracy (PROVENANCE.md)",
            },
            {
                "model": "bc-LSTM tri-modal (Poria et al. 2017)",
                "acc2_has0": 0.80,
                "source": "bc-LSTM features and split, about 80% (PROVENANCE.md)",
            },
            {
                "model": "ridge on text (PROVENANCE.md)",
                "acc2_has0": 0.790,
                "mae": 0.877,
                "corr": 0.658,
                "source": "closed-form ridge on the 50-d text vector",
            },
            {
                "model": "MulT (Tsai et al. 2019), other features",
                "acc2_non0": 0.830,
                "mae": 0.871,
                "corr": 0.698,
                "source": "standard folds, word-level features: orientation only",
            },
            {
                "model": "LMF (Liu et al. 2018), other features",
                "acc2_non0": 0.764,
                "mae": 0.912,
                "source": "standard folds, word-level features: orientation only",
            },
            {
                "model": "TFN (Zadeh et al. 2017), other features",
                "acc2_non0": 0.739,
                "mae": 0.970,
                "source": "standard folds, word-level features: orientation only",
            },
        ],
    },
    "avmnist_hard": {
        "loader": "avmnist",
        "variant": "hard",
        "batch_size": 64,
        "epochs": 6,
        "learning_rate": 2e-3,
        "patience": 3,
        "encoders": AVMNIST_ENCODERS,
        "primary": "accuracy",
        "metrics": ["accuracy", "macro_f1"],
        "references": [
            {
                "model": "image only (MultiBench)",
                "accuracy": 0.65,
                "source": "MultiBench AV-MNIST (ESC-50 noise, other degradation): comparable in kind only",
            },
            {"model": "audio only (MultiBench)", "accuracy": 0.43, "source": "as above"},
            {"model": "fusion (MultiBench, best)", "accuracy": 0.73, "source": "as above, 71-73%"},
        ],
    },
    "avmnist": {
        "loader": "avmnist",
        "variant": "clean",
        "batch_size": 64,
        "epochs": 6,
        "learning_rate": 2e-3,
        "patience": 3,
        "encoders": AVMNIST_ENCODERS,
        "primary": "accuracy",
        "metrics": ["accuracy", "macro_f1"],
        "references": [],
    },
    "moving_mnist_fsdd_hard": {**MOVING_MNIST_PROTOCOL, "hard": True},
    "moving_mnist_fsdd": {**MOVING_MNIST_PROTOCOL, "hard": False},
    "emoji": {
        "loader": "emoji",
        "batch_size": 32,
        "epochs": 20,
        "learning_rate": 2e-3,
        "patience": 5,
        "encoders": {"image": SMALL_CNN},
        "primary": "accuracy",
        "metrics": ["accuracy", "macro_f1"],
        "references": [],
    },
    # Text generation (issue 25): the training protocol is the YAML config's (`protocol_from_config`);
    # one input, a TextGeneration head, rows from `generation.run_seed`.
    "emoji_captions": {
        "config": "configs/emoji_captions.yaml",
        "task": "generation",
        "primary": "chrf",
        "metrics": ["chrf", "bleu", "exact_match"],
        "references": [],
    },
    "fsdd_words": {
        "config": "configs/fsdd_words.yaml",
        "task": "generation",
        "primary": "exact_match",
        "metrics": ["exact_match", "chrf", "bleu"],
        "references": [],
    },
}


# What a variant may change (`--set KEY=VALUE`); the loader, metrics and references stay.
TUNABLE = (
    "batch_size",
    "epochs",
    "learning_rate",
    "patience",
    "loss",
    "weight_decay",
    "encoders",
    "model_options",
    "loader_options",
)
LOSSES = {"mae": "MeanAbsoluteError", "mse": "MeanSquaredError", "huber": "Huber"}


def protocol_from_config(path):
    """A dataset's training protocol from an experiment YAML file (`mmzoo.experiments.config`).

    Example:
        >>> cfg = protocol_from_config("configs/fsdd_words.yaml")
        >>> cfg["loader"], cfg["inputs"], cfg["target"], cfg["task_options"]["num_layers"]
        ('avmnist', ['voice'], 'label', 1)
    """
    from mmzoo.experiments.config import load_config

    config = load_config(config_path(path))
    if config.architecture.name != "early_fusion" or config.training.lr_schedule != "cosine":
        raise SystemExit(f"{path}: the accuracy table trains early_fusion with a cosine schedule.")
    return {
        "loader": config.dataset.name,
        "loader_options": dict(config.dataset.options),
        "inputs": config.inputs.names,
        "target": config.task.target,
        "batch_size": config.training.batch_size,
        "epochs": config.training.epochs,
        "learning_rate": config.training.learning_rate,
        "patience": config.training.early_stopping_patience,
        "encoders": {name: (e.name, dict(e.options)) for name, e in config.encoders.items()},
        "model_options": dict(config.architecture.options),
        "task_options": dict(config.task.options),
    }


def config_path(path):
    """`path` (relative to the repository root) as an absolute path."""
    return path if os.path.isabs(path) else os.path.join(os.path.dirname(BENCHMARKS), path)


def generation_splits(cfg, seed, data_dir):
    """The splits and adapted `TextGeneration` task of a generation dataset, as `mmzoo train --config` makes them."""
    from mmzoo.experiments.config import load_config
    from mmzoo.experiments.runner import load_data

    overrides = [f"seed={seed}", f"training.batch_size={cfg['batch_size']}"]
    overrides += [f"dataset.data_dir={data_dir}"] if data_dir else []
    return load_data(load_config(config_path(cfg["config"]), overrides))


def configuration(dataset, overrides=None):
    """The dataset's protocol with a variant's `overrides` applied (unknown keys and losses refused).

    Example:
        >>> configuration("mosi", {"loss": "mse"})["loss"], configuration("mosi")["loss"]
        ('mse', 'mae')
    """
    cfg = dict(DATASETS[dataset])
    if "config" in cfg:
        cfg.update(protocol_from_config(cfg["config"]))
    for key, value in (overrides or {}).items():
        if key not in TUNABLE:
            raise SystemExit(f"--set {key}=...: a variant may change only {list(TUNABLE)}.")
        cfg[key] = value
    if cfg.get("loss") not in (None, *LOSSES):
        raise SystemExit(f"--set loss={cfg['loss']}: choose from {sorted(LOSSES)} (default: the task's loss).")
    return cfg


def load_splits(dataset, seed, data_dir, cfg=None):
    """The dataset's `Splits` for this seed (`cfg`: a variant's configuration)."""
    from mmzoo import datasets

    cfg = cfg or configuration(dataset)
    if cfg.get("task") == "generation":  # the config route: its loader and options are the YAML file's
        return generation_splits(cfg, seed, data_dir)
    options = dict(cfg.get("loader_options") or {})
    if cfg["loader"] == "mosi":
        return datasets.mosi(data_dir, batch_size=cfg["batch_size"], seed=seed, **options)
    if cfg["loader"] == "avmnist":
        extra = {"snr_db": cfg["snr_db"]} if "snr_db" in cfg else {}
        return datasets.avmnist(
            data_dir, variant=cfg["variant"], batch_size=cfg["batch_size"], seed=seed, **extra, **options
        )
    if cfg["loader"] == "moving_mnist_fsdd":
        return datasets.moving_mnist_fsdd(
            data_dir, hard=cfg["hard"], batch_size=cfg["batch_size"], seed=seed, **options
        )
    return datasets.emoji(data_dir, batch_size=cfg["batch_size"], seed=seed, **options)


SINGLE_INPUT_SEQUENCE = ("transformer",)


def candidates(inputs, models=None, extra=()):
    """`[(row name, architecture, [input names])]`: zoo architectures, then one unimodal baseline per input.

    Named in `models` only: `"<input> only (transformer)"`, the transformer on one input.
    """
    import mmzoo
    from mmzoo.registry import MODELS

    names = [s.name for s in inputs]
    zoo = [m for m in mmzoo.list_models() if MODELS.meta(m).get("task") != "retrieval"]
    rows = [(m, m, names) for m in zoo] + [(f"{n} only", "early_fusion", [n]) for n in names]
    # run only when named: a sequence architecture on one input (its encoder's tokens, attended over)
    optional = [(f"{n} only ({a})", a, [n]) for a in SINGLE_INPUT_SEQUENCE for n in names]
    if models:
        known = rows + optional
        unknown = sorted(set(models) - {r[0] for r in known} - set(extra))
        if unknown:
            raise SystemExit(f"Unknown --models {unknown}; choose from {[r[0] for r in known]}.")
        rows = [r for r in known if r[0] in models]
    return rows


def _select(dataset, names):
    return dataset.map(lambda x, y: ({k: x[k] for k in names}, y))


def _encoders(cfg, specs):
    choice = cfg["encoders"]
    if choice is None:
        return None
    if isinstance(choice, (tuple, list)):  # one (name, options) for every input; JSON gives a list
        return {s.name: tuple(choice) for s in specs}
    return {s.name: choice[s.name] for s in specs if s.name in choice}


def train_one(dataset, architecture, input_names, splits, seed, epochs=None, cfg=None):
    """Trains one model for one seed; returns its record (metrics, time, parameters, epochs)."""
    import keras

    import mmzoo

    cfg = cfg or configuration(dataset)
    specs = [s for s in splits.inputs if s.name in input_names]
    train, validation, test = (_select(d, input_names) for d in (splits.train, splits.validation, splits.test))
    epochs = epochs or cfg["epochs"]
    keras.utils.set_random_seed(seed)
    model = mmzoo.build_model(
        architecture, specs, splits.task, encoders=_encoders(cfg, specs), compile=False, **cfg.get("model_options", {})
    )
    steps = int(train.cardinality())
    schedule = keras.optimizers.schedules.CosineDecay(cfg["learning_rate"], decay_steps=max(1, steps * epochs))
    loss = getattr(keras.losses, LOSSES[cfg["loss"]])() if cfg.get("loss") else splits.task.loss()
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=cfg.get("weight_decay", 0.004))
    model.compile(optimizer=optimizer, loss=loss, metrics=splits.task.metrics())
    stop = keras.callbacks.EarlyStopping(patience=cfg["patience"], restore_best_weights=True)
    start = time.time()
    history = model.fit(
        train, validation_data=validation, epochs=epochs, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN(), stop]
    )
    seconds = time.time() - start
    losses = history.history["loss"]
    if not np.all(np.isfinite(losses)):
        raise FloatingPointError(f"{dataset}/{architecture} seed {seed}: loss became {losses[-1]}.")
    metrics = mmzoo.evaluate(model, test, splits.task)
    metrics = {k: v for k, v in metrics.items() if np.ndim(v) == 0 and not isinstance(v, (dict, str))}
    return {
        "params": int(model.count_params()),
        "train_seconds": round(seconds, 1),
        "epochs_run": len(losses),
        "metrics": {k: float(v) for k, v in metrics.items()},  # scalars: per-class scores and matrices left out
    }


def ridge_text(splits, alpha=1.0):
    """Closed-form ridge regression on the text vector (MOSI's reference baseline)."""
    from mmzoo.analysis.evaluation import mosi_metrics

    def arrays(dataset):
        xs, ys = zip(*[(x["text"].numpy(), y.numpy()) for x, y in dataset])
        return np.concatenate(xs).astype(np.float64), np.concatenate(ys).astype(np.float64).ravel()

    x, y = arrays(splits.train.concatenate(splits.validation))
    mean, scale = x.mean(0), x.std(0) + 1e-8
    z = np.c_[(x - mean) / scale, np.ones(len(x))]
    penalty = alpha * np.eye(z.shape[1])
    penalty[-1, -1] = 0.0
    w = np.linalg.solve(z.T @ z + penalty, z.T @ y)
    xt, yt = arrays(splits.test)
    prediction = np.c_[(xt - mean) / scale, np.ones(len(xt))] @ w
    return {
        "params": int(w.size),
        "train_seconds": 0.0,
        "epochs_run": 0,
        "metrics": {**mosi_metrics(yt, prediction), "num_examples": int(len(yt))},
    }


def result_path(results_dir, dataset, variant=None):
    return os.path.join(results_dir, f"{dataset}@{variant}.json" if variant else f"{dataset}.json")


def merge(results_dir, dataset, runs, settings, variant=None, overrides=None):
    """Adds `runs` to the dataset's (or its variant's) JSON, replacing earlier runs of the same (model, seed)."""
    path = result_path(results_dir, dataset, variant)
    old = {"runs": []}
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
    keys = {(r["model"], r["seed"]) for r in runs}
    kept = [r for r in old["runs"] if (r["model"], r["seed"]) not in keys]
    record = {
        "dataset": dataset,
        "settings": settings,
        "references": DATASETS[dataset]["references"],
        "primary": DATASETS[dataset]["primary"],
        "metrics": DATASETS[dataset]["metrics"],
        "runs": kept + runs,
    }
    if variant:
        record.update(variant=variant, overrides=overrides or {})
    os.makedirs(results_dir, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, path)
    return path


def check_variant(results_dir, dataset, variant, overrides):
    """Refuses to add runs to a variant's file that holds runs of other changes (they would mix)."""
    path = result_path(results_dir, dataset, variant)
    if variant and os.path.exists(path):
        with open(path) as f:
            held = json.load(f).get("overrides")
        if held != (overrides or {}):
            raise SystemExit(
                f"{path} holds variant '{variant}' with --set {held}, not {overrides}: "
                f"choose another --variant name, or delete that file to start it again."
            )


def run(dataset, seeds, models, data_dir, results_dir, epochs=None, variant=None, overrides=None):
    """Trains every candidate for every seed on `dataset` (or a named variant of it), saving after each run."""
    import platform

    import keras
    import tensorflow as tf

    cfg = configuration(dataset, overrides)
    check_variant(results_dir, dataset, variant, overrides)
    save = dict(variant=variant, overrides=overrides)
    name, shown = (f"{dataset}@{variant}" if variant else dataset), cfg["primary"]
    settings = {k: v for k, v in cfg.items() if k != "references"}
    settings.update(
        epochs=epochs or settings["epochs"],
        tensorflow=tf.__version__,
        keras=keras.__version__,
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
    )
    for seed in seeds:
        splits = load_splits(dataset, seed, data_dir, cfg)
        if cfg.get("task") == "generation":
            from . import generation

            for record in generation.run_seed(
                dataset, seed, splits, cfg, _encoders(cfg, splits.inputs), models, epochs
            ):
                merge(results_dir, dataset, [record], settings, **save)
                print(f"{name} seed {seed} {record['model']:<28} {shown}={record['metrics'][shown]:.4f}", flush=True)
            continue
        rows = candidates(splits.inputs, models, extra=("ridge (text)",) if dataset == "mosi" else ())
        if dataset == "mosi" and (not models or "ridge (text)" in models):
            merge(
                results_dir,
                dataset,
                [{"model": "ridge (text)", "kind": "baseline", "seed": seed, "inputs": ["text"], **ridge_text(splits)}],
                settings,
                **save,
            )
        for row, architecture, names in rows:
            record = train_one(dataset, architecture, names, splits, seed, epochs, cfg)
            kind = "unimodal" if len(names) == 1 else "fusion"
            merge(
                results_dir,
                dataset,
                [{"model": row, "kind": kind, "seed": seed, "inputs": names, **record}],
                settings,
                **save,
            )
            print(
                f"{name} seed {seed} {row:<14} {shown}={record['metrics'][shown]:.4f} "
                f"({record['train_seconds']:.0f} s, {record['epochs_run']} epochs)",
                flush=True,
            )


def parse_overrides(items):
    """`["loss=mse", 'encoders=["mlp", {"units": [32]}]']` -> `{"loss": "mse", "encoders": [...]}`.

    Example:
        >>> parse_overrides(["loss=mse", "weight_decay=0.05", 'loader_options={"audio_raw": true}'])
        {'loss': 'mse', 'weight_decay': 0.05, 'loader_options': {'audio_raw': True}}
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE.")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def main(argv=None):
    from . import __doc__ as overview

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.accuracy", description=overview, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="rows to run (architecture names, '<input> only', 'ridge (text)'); default all",
    )
    parser.add_argument("--epochs", type=int, default=None, help="override every dataset's epoch budget")
    parser.add_argument("--data-dir", default=None, help="real data folder (default: $MMZOO_DATA)")
    parser.add_argument("--results-dir", default=os.path.join(BENCHMARKS, "results", "accuracy"))
    parser.add_argument("--report", default=os.path.join(BENCHMARKS, "RESULTS.md"))
    parser.add_argument("--plot", default=os.path.join(BENCHMARKS, "accuracy.png"))
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report and plot")
    parser.add_argument(
        "--variant",
        default=None,
        help="name of a variant of the protocol (needs --set); results go to <dataset>@<name>.json",
    )
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help=f"a variant's changes, VALUE as JSON (else a string); keys: {', '.join(TUNABLE)}",
    )
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.overrides)
    if bool(args.variant) != bool(overrides):
        parser.error("--variant NAME and --set KEY=VALUE go together: a variant is named and changes something.")
    if args.variant and not args.variant.replace("-", "").replace("_", "").isalnum():
        parser.error(f"--variant {args.variant!r}: use letters, digits, '-' and '_' (it names a file).")
    if not args.report_only:
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        for dataset in args.datasets:
            run(dataset, seeds, args.models, args.data_dir, args.results_dir, args.epochs, args.variant, overrides)
    accuracy_report.write(args.results_dir, args.report, args.plot)
    print(f"Wrote {args.report} and {args.plot}")
    return 0
