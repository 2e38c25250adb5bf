"""Turns `benchmarks/results/accuracy/*.json` into `RESULTS.md` and a bar chart.

Each dataset gets a table (per model: mean +- sample std over seeds of every
metric, seeds run, training time, parameters), the published references
beside it, and the issue's targets checked against the numbers. A `notes.md`
in the results folder (what the result files cannot say about how they were
measured) is included verbatim after the introduction.

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> write(folder, folder + "/RESULTS.md", folder + "/acc.png")  # no results yet: a stub report
    []
"""

import glob
import json
import os

import numpy as np

LOWER_IS_BETTER = {"mae", "mse", "loss"}
SCALE_100 = {"bleu", "chrf"}  # sacrebleu's 0-100 scale
ORDER = (
    "mosi",
    "avmnist_hard",
    "avmnist",
    "moving_mnist_fsdd_hard",
    "moving_mnist_fsdd",
    "emoji",
    "emoji_captions",
    "fsdd_words",
)
# What the text-generation datasets' rows are (their protocol is in benchmarks/accuracy/generation.py).
GENERATION = (
    "Text generation: `early_fusion + decoder` is the `early_fusion` builder on the one input with a "
    "`TextGeneration` head (the input's encoder, a mapping network to a 4-token prefix memory, a Transformer "
    "decoder with cross-attention), trained with teacher forcing, decoded greedily with `model.generate`. "
    "Baselines (no training): `most frequent words` gives every test example one caption, the training "
    "captions' most frequent words (as many as the median caption has); `nearest neighbour (pixels)` the "
    "caption of the training image nearest by cosine similarity of the raw pixels (centred on the training "
    "mean); `nearest neighbour (generator's encoder)` the same with the trained generator's own image "
    "encoder output (its decoder memory, flattened) as the embedding. BLEU-4 and chrF are sacrebleu's corpus "
    "scores (0-100); exact match is the share of outputs equal to their reference."
)
HARD = ("avmnist_hard", "moving_mnist_fsdd_hard")  # target: best fusion >= 5 points above the best single input
CLEAN = ("avmnist", "moving_mnist_fsdd", "emoji")  # target: no fusion below the best single input
NOTES = "notes.md"


def _read(results_dir):
    """`({dataset: protocol record}, {dataset: [variant records]})`, each result file read once."""
    records, variants = {}, {}
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        with open(path) as f:
            record = json.load(f)
        if record.get("variant"):
            variants.setdefault(record["dataset"], []).append(record)
        else:
            records[record["dataset"]] = record
    records = dict(sorted(records.items(), key=lambda kv: ORDER.index(kv[0]) if kv[0] in ORDER else 99))
    return records, {d: sorted(v, key=lambda r: r["variant"]) for d, v in variants.items()}


def load(results_dir):
    """`{dataset: record}` of every protocol result file in `results_dir`, in report order (variants apart)."""
    return _read(results_dir)[0]


def variants_table(records, protocol=None):
    """What else was tried: per variant its changes, its best fusion and best unimodal row, every metric.

    With the `protocol` record, a last column gives the same row (same
    model) under the protocol, in the primary metric: the with/without
    comparison of a variant such as augmentation.

    Example:
        >>> run = {"model": "tfn", "kind": "fusion", "seed": 0, "params": 1, "train_seconds": 1,
        ...        "metrics": {"accuracy": 0.9}}
        >>> print(variants_table([{"variant": "wd", "overrides": {"weight_decay": 0.1}, "primary": "accuracy",
        ...                        "metrics": ["accuracy"], "runs": [run]}]).splitlines()[2])
        | `wd` | `weight_decay=0.1` | best fusion `tfn` | 1 | 90.0 ± 0.0 |
    """
    metrics = records[0]["metrics"]
    same = {r["model"]: r for r in summarize(protocol)} if protocol else None
    extra = f" same row, protocol ({records[0]['primary']}) |" if same else ""
    lines = [
        "| variant | changes | row | seeds | " + " | ".join(metrics) + " |" + extra,
        "|" + "---|" * (len(metrics) + 4 + bool(same)),
    ]
    for record in records:
        rows = summarize(record)
        changes = ", ".join(f"{k}={json.dumps(v)}" for k, v in record["overrides"].items())
        for kind in ("fusion", "unimodal", "generator"):
            best = _best(rows, kind, record["primary"])
            if best:
                cells = [_cell(best["stats"].get(m), _percent(m)) for m in metrics]
                if same is not None:
                    twin = same.get(best["model"])
                    primary = record["primary"]
                    cells.append(
                        f"{_cell(twin['stats'].get(primary), _percent(primary))} ({len(twin['seeds'])} seeds)"
                        if twin
                        else "-"
                    )
                lines.append(
                    f"| `{record['variant']}` | `{changes}` | best {kind} `{best['model']}` | "
                    f"{len(best['seeds'])} | " + " | ".join(cells) + " |"
                )
    return "\n".join(lines)


def summarize(record):
    """Per model row: kind, seeds, `{metric: (mean, std)}`, median train seconds, parameters."""
    rows = {}
    for run in record["runs"]:
        rows.setdefault(run["model"], []).append(run)
    out = []
    for model, runs in rows.items():
        stats = {}
        for metric in record["metrics"]:
            values = np.array([r["metrics"][metric] for r in runs if metric in r["metrics"]], float)
            if len(values):
                stats[metric] = (float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0)
        out.append(
            {
                "model": model,
                "kind": runs[0]["kind"],
                "seeds": sorted(r["seed"] for r in runs),
                "stats": stats,
                "train_seconds": float(np.median([r["train_seconds"] for r in runs])),
                "params": runs[0]["params"],
            }
        )
    primary = record["primary"]
    sign = 1 if primary in LOWER_IS_BETTER else -1
    kinds = {"generator": 0, "fusion": 0, "unimodal": 1, "baseline": 2}
    return sorted(out, key=lambda r: (kinds.get(r["kind"], 3), sign * r["stats"].get(primary, (np.nan,))[0]))


def _cell(stat, percent):
    if stat is None:
        return "-"
    mean, std = stat
    if percent == "scaled":
        return f"{mean:.1f} ± {std:.1f}"
    return f"{100 * mean:.1f} ± {100 * std:.1f}" if percent else f"{mean:.3f} ± {std:.3f}"


def _percent(metric):
    if metric in SCALE_100:
        return "scaled"
    return metric.startswith(("acc", "f1", "macro_f1")) or metric in ("accuracy", "exact_match")


def table(record, rows):
    metrics = record["metrics"]
    head = "| model | kind | seeds | " + " | ".join(metrics) + " | median train s | parameters |"
    lines = [head, "|" + "---|" * (len(metrics) + 5)]
    for r in rows:
        cells = [_cell(r["stats"].get(m), _percent(m)) for m in metrics]
        lines.append(
            f"| `{r['model']}` | {r['kind']} | {len(r['seeds'])} | "
            + " | ".join(cells)
            + f" | {r['train_seconds']:.0f} | {r['params']:,} |"
        )
    return "\n".join(lines)


def references(record):
    refs = record.get("references") or []
    if not refs:
        return ""
    metrics = record["metrics"]
    lines = ["| published | " + " | ".join(metrics) + " | source |", "|" + "---|" * (len(metrics) + 2)]
    for ref in refs:
        cells = [(f"{100 * ref[m]:.1f}" if _percent(m) else f"{ref[m]:.3f}") if m in ref else "-" for m in metrics]
        lines.append(f"| {ref['model']} | " + " | ".join(cells) + f" | {ref['source']} |")
    return "\n".join(lines)


def examples(record):
    """A table of the first test outputs of every row in the lowest seed that has them (generation rows)."""
    runs = [r for r in record["runs"] if r.get("examples")]
    if not runs:
        return ""
    seed = min(r["seed"] for r in runs)
    runs = [r for r in runs if r["seed"] == seed]
    lines = [
        f"First test examples, seed {seed}:",
        "",
        "| reference | " + " | ".join(f"`{r['model']}`" for r in runs) + " |",
        "|" + "---|" * (len(runs) + 1),
    ]
    for i, example in enumerate(runs[0]["examples"]):
        cells = [r["examples"][i]["output"] if i < len(r["examples"]) else "" for r in runs]
        lines.append(f"| {example['reference']} | " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def _best(rows, kind, metric):
    candidates = [r for r in rows if r["kind"] == kind and metric in r["stats"]]
    if not candidates:
        return None
    pick = min if metric in LOWER_IS_BETTER else max
    return pick(candidates, key=lambda r: r["stats"][metric][0])


def targets(dataset, rows):
    """The issue's targets for this dataset, checked: `[(statement, met)]`."""
    checks = []
    if dataset == "mosi":
        best = _best(rows, "fusion", "acc2_has0")
        ridge = next((r for r in rows if r["model"] == "ridge (text)"), None)
        if best:
            acc = best["stats"]["acc2_has0"][0]
            checks.append(
                (
                    f"best fusion Acc-2 >= 80.5% (HFFN 80.45%): `{best['model']}` {100 * acc:.1f}% "
                    f"({100 * acc - 80.5:+.1f} points)",
                    acc >= 0.805,
                )
            )
            if ridge:
                for metric, better in (("mae", lambda a, b: a < b), ("corr", lambda a, b: a > b)):
                    ours, theirs = best["stats"][metric][0], ridge["stats"][metric][0]
                    checks.append(
                        (
                            f"`{best['model']}` beats the text-only ridge on {metric}: "
                            f"{ours:.3f} vs {theirs:.3f} ({ours - theirs:+.3f})",
                            better(ours, theirs),
                        )
                    )
    elif dataset in HARD:
        fusion, single = _best(rows, "fusion", "accuracy"), _best(rows, "unimodal", "accuracy")
        if fusion and single:
            gap = 100 * (fusion["stats"]["accuracy"][0] - single["stats"]["accuracy"][0])
            checks.append(
                (
                    f"best fusion (`{fusion['model']}`) beats the best single modality "
                    f"(`{single['model']}`) by >= 5 points: {gap:+.1f} points",
                    gap >= 5.0,
                )
            )
    elif dataset == "emoji_captions":
        generator = _best(rows, "generator", "chrf")
        for r in rows:
            if generator and r["model"].startswith("nearest neighbour") and "chrf" in r["stats"]:
                ours, theirs = generator["stats"]["chrf"][0], r["stats"]["chrf"][0]
                checks.append(
                    (
                        f"the captioner beats `{r['model']}` on chrF: {ours:.1f} vs {theirs:.1f} ({ours - theirs:+.1f})",
                        ours > theirs,
                    )
                )
    elif dataset == "fsdd_words":
        generator = _best(rows, "generator", "exact_match")
        if generator:
            em = generator["stats"]["exact_match"][0]
            checks.append((f"exact match >= 95%: {100 * em:.1f}%", em >= 0.95))
    elif dataset in CLEAN:
        single = _best(rows, "unimodal", "accuracy")
        if single:
            mean, std = single["stats"]["accuracy"]
            for r in rows:
                if r["kind"] != "fusion":
                    continue
                m, s = r["stats"]["accuracy"]
                noise = 2 * max(std, s, 0.005)  # two standard deviations, at least one point
                ok = m >= mean - noise
                if not ok:
                    checks.append(
                        (
                            f"`{r['model']}` {100 * m:.1f}% below the best single modality "
                            f"(`{single['model']}` {100 * mean:.1f}%) by more than noise",
                            False,
                        )
                    )
            if not any(not ok for _, ok in checks):
                below = [
                    f"`{r['model']}` {100 * (r['stats']['accuracy'][0] - mean):+.1f} (std "
                    f"{100 * r['stats']['accuracy'][1]:.1f})"
                    for r in rows
                    if r["kind"] == "fusion" and r["stats"]["accuracy"][0] < mean
                ]
                checks.append(
                    (
                        f"every fusion model >= the best single modality (`{single['model']}` "
                        f"{100 * mean:.1f}%) within noise (2 std, at least 1 point)"
                        + (f"; below its mean: {', '.join(below)} points" if below else ""),
                        True,
                    )
                )
    return checks


def plot(records, path):
    """One panel per dataset: the primary metric's mean with std error bars, coloured by kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"fusion": "tab:blue", "unimodal": "tab:orange", "baseline": "tab:grey"}
    fig, axes = plt.subplots(len(records), 1, figsize=(9, 3.2 * len(records)), squeeze=False)
    for ax, (dataset, record) in zip(axes[:, 0], records.items()):
        rows = summarize(record)
        primary = record["primary"]
        rows = [r for r in rows if primary in r["stats"]]
        means = [r["stats"][primary][0] for r in rows]
        stds = [r["stats"][primary][1] for r in rows]
        ax.bar(range(len(rows)), means, yerr=stds, capsize=3, color=[colours.get(r["kind"], "k") for r in rows])
        ax.set_xticks(range(len(rows)), [r["model"] for r in rows], rotation=40, ha="right", fontsize=8)
        low = min(m - s for m, s in zip(means, stds)) if means else 0
        if primary in SCALE_100:
            ax.set_ylim(0.0, None)
        else:
            ax.set_ylim(
                max(0.0, low - 0.05),
                min(1.0, max(means, default=1) + 0.05) if primary not in LOWER_IS_BETTER else None,
            )
        ax.set_title(f"{dataset}: test {primary} (mean ± std over seeds)", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results_dir, report_path, plot_path):
    """Writes the markdown report and the plot; returns the `[(dataset, statement, met)]` target checks."""
    records, variants = _read(results_dir)
    parts = [
        "# mmzoo accuracy table",
        "",
        "Generated by `python -m benchmarks.accuracy` (`benchmarks/accuracy/__init__.py` describes the "
        "protocol) from `benchmarks/results/accuracy/*.json`; do not edit by hand. Cells are the mean ± "
        "sample standard deviation over the seeds in the `seeds` column, on the test split. Unimodal rows "
        "are the `early_fusion` builder on that input alone with the same encoder. The protocol is "
        "`--seeds 5`; a row with fewer seeds is a partial run. Training time is the median wall-clock "
        "over seeds, only roughly comparable between rows (speed is measured in PERFORMANCE.md).",
        "",
    ]
    notes = os.path.join(results_dir, NOTES)
    if os.path.exists(notes):
        with open(notes) as f:
            parts += [f.read().rstrip(), ""]
    checks = []
    if records:
        parts += [f"![accuracy]({os.path.relpath(plot_path, os.path.dirname(os.path.abspath(report_path)))})", ""]
    for dataset, record in records.items():
        rows = summarize(record)
        settings = record.get("settings", {})
        parts += [f"## {dataset}", ""]
        if any(r["kind"] == "generator" for r in rows):
            parts += [GENERATION, ""]
        parts += [
            f"Budget: up to {settings.get('epochs')} epochs, batch {settings.get('batch_size')}, "
            f"AdamW + cosine decay from {settings.get('learning_rate')}, early stopping (patience "
            f"{settings.get('patience')}) on validation loss; TensorFlow {settings.get('tensorflow')}, "
            f"Keras {settings.get('keras')}, {settings.get('machine')}.",
            "",
            table(record, rows),
            "",
        ]
        shown = examples(record)
        if shown:
            parts += [shown, ""]
        refs = references(record)
        if refs:
            parts += ["Published numbers:", "", refs, ""]
        found = targets(dataset, rows)
        if found:
            parts += ["Targets:", ""] + [f"- {'met' if ok else '**missed**'}: {text}" for text, ok in found] + [""]
        checks += [(dataset, text, ok) for text, ok in found]
        if variants.get(dataset):
            parts += [
                "Also tried (variants of this protocol, each `--variant NAME --set KEY=VALUE` on the rows "
                "listed in its JSON; not part of the table or the targets above, and test numbers like them: "
                "adopting the best of them would select on the test split; best rows by "
                f"{record['primary']}):",
                "",
                variants_table(variants[dataset], record),
                "",
            ]
    for dataset in sorted(set(variants) - set(records)):
        parts += [
            f"## {dataset} (variants only; the protocol has not been run)",
            "",
            variants_table(variants[dataset]),
            "",
        ]
    missing = [d for d in ORDER if d not in records]
    if missing:
        parts.append(
            "Not run yet: "
            + ", ".join(f"`{d}`" for d in missing)
            + " (`python -m benchmarks.accuracy --datasets "
            + " ".join(missing)
            + "`)."
        )
    os.makedirs(os.path.dirname(os.path.abspath(report_path)), exist_ok=True)
    with open(report_path, "w") as f:
        f.write("\n".join(parts).rstrip() + "\n")
    if records:
        plot(records, plot_path)
    return checks
