"""benchmarks/PERFORMANCE.md and growth.png from the JSON that `python -m benchmarks.throughput` writes."""

import math
import os

NOTES = "notes.md"  # next to throughput.json: measurements from outside the run, included verbatim
TARGET_SPEEDUP, TARGET_TAX, TARGET_UTIL, TARGET_PIPELINE = 1.5, 0.95, 0.65, 0.9


def _fmt(v, digits=0):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:,.{digits}f}"


def _best_torch(entries, key="samples_per_s", lower=False):
    """(label, value) of the best PyTorch configuration for a metric."""
    best = None
    for label, e in entries.items():
        if label.startswith("pytorch") and key in e:
            if best is None or (e[key] < best[1] if lower else e[key] > best[1]):
                best = (label[len("pytorch ") :], e[key])
    return best


def _ratio(a, b):
    return a / b if a and b else None


def _check(ok):
    return "–" if ok is None else ("yes" if ok else "**no**")


def summarise(record):
    """Per-architecture headline numbers and target checks."""
    peak = max((v for v in (record.get("matmul_peak") or {}).values() if v), default=None)
    rows = {}
    for name, m in record["models"].items():
        if "error" in m:
            continue
        train, infer, latency = m.get("train", {}), m.get("infer", {}), m.get("latency", {})
        mm_train = train.get("mmzoo", {}).get("samples_per_s")
        mm_infer = infer.get("mmzoo", {}).get("samples_per_s")
        mm_p50 = latency.get("mmzoo", {}).get("p50_ms")
        bt, bi, bl = _best_torch(train), _best_torch(infer), _best_torch(latency, "p50_ms", lower=True)
        flops = (m.get("flops") or {}).get("train_flops")
        parts = (m.get("flops") or {}).get("parts", {})
        conv_share = parts.get("aten.convolution", 0) / (m["flops"]["forward_flops"]) if m.get("flops") else None
        util = flops * mm_train / peak if flops and mm_train and peak else None
        hand = train.get("keras (hand-written)", {}).get("samples_per_s")
        rows[name] = {
            "params": m.get("params", {}).get("mmzoo"),
            "param_diff": m.get("param_diff"),
            "forward_flops": (m.get("flops") or {}).get("forward_flops"),
            "conv_share": conv_share,
            "train": mm_train,
            "torch_train": bt,
            "train_ratio": _ratio(mm_train, bt and bt[1]),
            "infer": mm_infer,
            "torch_infer": bi,
            "infer_ratio": _ratio(mm_infer, bi and bi[1]),
            "p50": mm_p50,
            "p95": latency.get("mmzoo", {}).get("p95_ms"),
            "torch_p50": bl,
            "latency_ratio": _ratio(mm_p50, bl and bl[1]),
            "utilisation": util,
            "tax_train": _ratio(mm_train, hand),
            "tax_infer": _ratio(
                infer.get("mmzoo (Keras predict)", {}).get("samples_per_s"),
                infer.get("keras (hand-written)", {}).get("samples_per_s"),
            ),
            "peak_rss": train.get("mmzoo", {}).get("peak_rss_mb"),
            "peak_rss_delta": (
                train.get("mmzoo", {}).get("peak_rss_mb", 0) - train.get("mmzoo", {}).get("rss_before_mb", 0)
            )
            if train.get("mmzoo")
            else None,
        }
    return rows, peak


def growth_slopes(rows):
    """End slopes (last two points) of per-sample cost and memory growth on log-log axes, per axis."""
    out = {}
    for axis in ("batch", "text", "image"):
        pts = [(r["value"], r) for r in rows if r["axis"] == axis and r.get("samples_per_s")]
        if len(pts) < 2:
            continue
        (v0, r0), (v1, r1) = pts[-2], pts[-1]
        size = (lambda v: v * v) if axis == "image" else (lambda v: v)
        if axis == "batch":  # time per step against batch: 1 = linear
            cost0, cost1 = v0 / r0["samples_per_s"], v1 / r1["samples_per_s"]
        else:  # time per sample against tokens or pixels: 1 = linear
            cost0, cost1 = 1 / r0["samples_per_s"], 1 / r1["samples_per_s"]
        slope = math.log(cost1 / cost0) / math.log(size(v1) / size(v0))
        m0 = max(r0["peak_rss_mb"] - r0["rss_before_mb"], 1.0)
        m1 = max(r1["peak_rss_mb"] - r1["rss_before_mb"], 1.0)
        out[axis] = {
            "time_slope": slope,
            "memory_slope": math.log(m1 / m0) / math.log(size(v1) / size(v0)),
            "between": (v0, v1),
        }
    return out


def plot_growth(record, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    growth = record.get("growth") or {}
    axes_names = [("batch", "batch size"), ("text", "text length (tokens)"), ("image", "image size (pixels per side)")]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for col, (axis, label) in enumerate(axes_names):
        for name, rows in growth.items():
            pts = [r for r in rows if r["axis"] == axis and r.get("samples_per_s")]
            if not pts:
                continue
            xs = [r["value"] for r in pts]
            axes[0, col].plot(xs, [r["samples_per_s"] for r in pts], marker="o", label=name)
            axes[1, col].plot(xs, [r["peak_rss_mb"] - r["rss_before_mb"] for r in pts], marker="o", label=name)
        for row, ylabel in ((0, "training samples/s"), (1, "peak RSS of training above the build (MB)")):
            ax = axes[row, col]
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel(label)
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
    if axes[0, 0].get_legend_handles_labels()[0]:
        axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"mmzoo cost growth ({record['machine']['cpu']}, {record['machine']['threads']} threads)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(record, report_path, output_dir):
    """Writes the Markdown report (and growth.png when growth was measured)."""
    rows, peak = summarise(record)
    png = os.path.join(output_dir, "growth.png")
    if record.get("growth"):
        plot_growth(record, png)
    rel = os.path.relpath(output_dir, os.path.dirname(os.path.abspath(report_path)))
    machine = record["machine"]
    v = record.get("versions", {})
    lines = [
        "# Performance: mmzoo vs PyTorch vs hand-written Keras",
        "",
        "Generated by `python -m benchmarks.throughput` from "
        f"`{os.path.join(rel, 'throughput.json')}`; do not edit by hand. Regenerate with",
        "",
        "```bash",
        "pip install -r benchmarks/requirements.txt   # PyTorch (CPU wheel), benchmark-only",
        "python -m benchmarks.throughput             # full run; --quick for a short validation run",
        "python -m benchmarks.throughput --report-only  # this report from the JSON (and notes.md) only",
        "```",
        "",
    ]
    if record.get("quick"):
        lines += [
            "> **Quick run**: few steps and rounds, one architecture; the numbers are rough and only show "
            "the benchmark works.",
            "",
        ]
    gpu = v.get("gpu")
    lines += [
        f"- Date: {record['date']}; command: `{record.get('command', '')}`; took {record.get('duration_s', 0):.0f} s"
        + (
            "; measured in sittings (`--resume`): "
            + "; ".join(
                f"{p['date']} `{p['command']}` {p['duration_s'] or 0:.0f} s"
                + (f" ({p['steal_percent']}% stolen)" if p.get("steal_percent") is not None else "")
                for p in record["parts"]
            )
            if len(record.get("parts") or []) > 1
            else ""
        )
        + ".",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine.get('memory_gib')} GiB; "
        f"{machine['threads']} threads for both frameworks (`tf.config.threading` intra/inter-op = "
        f"`torch.set_num_threads`/`set_num_interop_threads`); device {machine['device']}"
        + (f" ({gpu})" if gpu else "")
        + f"; load average at start {machine.get('load_average_at_start')}"
        + (
            f"; {machine['steal_percent']}% of the CPU time was stolen by the hypervisor during the run (/proc/stat)"
            if machine.get("steal_percent") is not None
            else ""
        )
        + ".",
        f"- Versions: TensorFlow {v.get('tensorflow')}, Keras {v.get('keras')}, mmzoo {v.get('mmzoo')}, "
        f"PyTorch {v.get('torch', 'not measured')}. Precision {record['settings']['precision']}; Keras "
        f"jit_compile {record['settings']['jit']}.",
        f"- Matmul peak (float32, {record['settings'].get('matmul')}²): "
        + ", ".join(f"{k} {val / 1e9:.1f} GFLOP/s" for k, val in (record.get("matmul_peak") or {}).items() if val)
        + (f"; utilisation below is against the higher, {peak / 1e9:.1f} GFLOP/s." if peak else "."),
        f"- Protocol: each framework in its own worker process; every measurement alternates the implementations "
        f"for {record['settings']['rounds']} rounds after warm-up (tracing/compilation excluded) and reports the "
        f"median. Training: {record['settings']['train_steps']} steps of batch 64 per round on one cached batch "
        f"(Adam, cross-entropy; mmzoo and Keras through `model.fit`). Inference: batch 256, "
        f"{record['settings']['infer_batches']} batches per round (mmzoo: `model.predict`). Latency: "
        f"{record['settings']['latency_calls']} batch-1 calls per round. Peak RSS: the worker process's peak "
        f"resident memory during training (reset per measurement via `/proc/self/clear_refs`).",
        "- Inputs: the reference set (`mmzoo.models.reference`): text 64 token ids over a 20k vocabulary (PyTorch "
        "tokenizes outside the model too; mmzoo's in-graph `TextVectorization` on raw strings is measured "
        "separately below), image 64x64x3 uint8, audio 1 s at 16 kHz through the log-mel in the model "
        "(both frameworks), 10 classes; clip uses text+image and its contrastive step.",
        "",
    ]
    if record.get("torch_skipped"):
        lines += [f"**PyTorch was not measured in this run**: {record['torch_skipped']}.", ""]

    lines += [
        "## Summary per architecture",
        "",
        "Ratios are mmzoo / PyTorch's best configuration for that metric (eager, torch.compile, "
        "channels-last; the winner in brackets). Latency ratio < 1 means mmzoo is faster.",
        "",
        "| architecture | params | FLOPs/sample (fwd) | train samples/s | vs PyTorch | infer samples/s "
        "| vs PyTorch | batch-1 p50 / p95 ms | vs PyTorch p50 | peak RSS MB (+train) | utilisation |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        bt, bi, bl = r["torch_train"], r["torch_infer"], r["torch_p50"]
        lines.append(
            f"| `{name}` | {_fmt(r['params'])} | {_fmt((r['forward_flops'] or 0) / 1e6, 1) if r['forward_flops'] else '–'}M "
            f"| {_fmt(r['train'], 1)} | {_fmt(r['train_ratio'], 2)}x ({bt[0] if bt else '–'}) "
            f"| {_fmt(r['infer'], 1)} | {_fmt(r['infer_ratio'], 2)}x ({bi[0] if bi else '–'}) "
            f"| {_fmt(r['p50'], 2)} / {_fmt(r['p95'], 2)} | {_fmt(r['latency_ratio'], 2)} ({bl[0] if bl else '–'}) "
            f"| {_fmt(r['peak_rss'])} (+{_fmt(r['peak_rss_delta'])}) "
            f"| {_fmt(100 * r['utilisation'], 1) + '%' if r['utilisation'] else '–'} |"
        )
    lines += [
        "",
        "## Targets",
        "",
        f"| architecture | train >= {TARGET_SPEEDUP}x PyTorch | infer >= {TARGET_SPEEDUP}x | "
        f"batch-1 p50 <= PyTorch | >= {TARGET_TAX}x hand-written Keras | conv-heavy: >= "
        f"{TARGET_UTIL:.0%} of matmul peak |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        conv = r["conv_share"] is not None and r["conv_share"] > 0.8
        util = r["utilisation"]
        util_note = f" ({100 * util:.0f}%)" if conv and util else ""
        lines.append(
            f"| `{name}` | {_check(None if r['train_ratio'] is None else r['train_ratio'] >= TARGET_SPEEDUP)} "
            f"| {_check(None if r['infer_ratio'] is None else r['infer_ratio'] >= TARGET_SPEEDUP)} "
            f"| {_check(None if r['latency_ratio'] is None else r['latency_ratio'] <= 1.0)} "
            f"| {_check(None if r['tax_train'] is None else r['tax_train'] >= TARGET_TAX)} "
            f"| {_check(None if not (conv and util) else util >= TARGET_UTIL)}{util_note} |"
        )
    lines += [
        "",
        'A dash means not measured in this run. "Conv-heavy": convolutions are more than 80% of the '
        "forward FLOPs (all reference models are, through the image and audio CNNs).",
        "",
    ]

    lines += [
        "## Every implementation",
        "",
        "| architecture | implementation | params | train samples/s | infer samples/s | p50 ms | p95 ms "
        "| peak RSS MB train (GPU peak MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in record["models"].items():
        if "error" in m:
            lines.append(f"| `{name}` | – | – | – | – | – | – | – — error: {m['error'][:160]} |")
        labels = list(dict.fromkeys(list(m.get("train", {})) + list(m.get("infer", {}))))
        for label in labels:
            t, i, lat = (
                m.get("train", {}).get(label, {}),
                m.get("infer", {}).get(label, {}),
                m.get("latency", {}).get(label, {}),
            )
            err = t.get("error") or i.get("error") or lat.get("error")
            params = m.get("params", {}).get(label)
            lines.append(
                f"| `{name}` | {label} | {_fmt(params)} | {_fmt(t.get('samples_per_s'), 1)} "
                f"| {_fmt(i.get('samples_per_s'), 1)} | {_fmt(lat.get('p50_ms'), 2)} | {_fmt(lat.get('p95_ms'), 2)} "
                f"| {_fmt(t.get('peak_rss_mb'))}"
                f"{' (GPU ' + _fmt(t['gpu_peak_mb']) + ')' if t.get('gpu_peak_mb') else ''}"
                f"{' — error: ' + err[:120] if err else ''} |"
            )
    lines += [
        "",
        "Parameter counts: PyTorch ports differ from Keras only by `nn.LSTM`'s second bias "
        "(`b_hh`, +512 for the BiLSTM); BatchNorm running statistics count on both sides. The check "
        "(within 1%) runs in the benchmark.",
        "",
    ]

    lines += _ablations_section(record)
    lines += _tax_section(record, rows)
    lines += _pipeline_section(record)
    lines += _defaults_section(record)
    lines += _growth_section(record, rel)
    lines += _notes_section(record)
    notes = os.path.join(output_dir, NOTES)
    if os.path.exists(notes):
        with open(notes) as f:
            lines += [f.read().rstrip(), ""]
    with open(report_path, "w") as f:
        f.write("\n".join(lines) + "\n")


def _before_after(record, before_label, batch256=False):
    """Table rows `| model | p50 before → after | p95 ... [| batch-256 samples/s ...] |` against mmzoo."""
    rows = []
    for name, m in record["models"].items():
        before_l = m.get("latency", {}).get(before_label, {})
        after_l = m.get("latency", {}).get("mmzoo", {})
        if not (before_l.get("p50_ms") and after_l.get("p50_ms")):
            continue
        row = (
            f"| `{name}` | {_fmt(before_l['p50_ms'], 2)} → {_fmt(after_l['p50_ms'], 2)} "
            f"| {_fmt(before_l.get('p95_ms'), 2)} → {_fmt(after_l.get('p95_ms'), 2)} |"
        )
        if batch256:
            before_i = m.get("infer", {}).get(before_label, {}).get("samples_per_s")
            after_i = m.get("infer", {}).get("mmzoo", {}).get("samples_per_s")
            row += f" {_fmt(before_i, 1)} → {_fmt(after_i, 1)} |"
        rows.append(row)
    return rows


# Each ablation: (label of the alternative in the JSON, heading, what the alternative switches off, columns).
ABLATIONS = (
    (
        "mmzoo (Keras predict)",
        "Compiled predict path",
        "`model.predict` on dicts of arrays runs mmzoo's compiled path (`mmzoo/inference/fast_predict.py`): "
        "`model(x, training=False)` traced once as a `tf.function` with a free batch dimension and called "
        "directly. The alternative is Keras's own `predict` (a data adapter, an iterator and callbacks per call); "
        "datasets, `steps` and callbacks always go through it.",
        "| architecture | batch-1 p50 ms, Keras predict → mmzoo | p95 ms | batch-256 samples/s |",
    ),
    (
        "mmzoo (no fused LSTM)",
        "Fused LSTM kernel for small-batch inference",
        "In the compiled path, batches of up to 32 with prefix masks run the LSTM encoders through TensorFlow's "
        "`BlockLSTMV2` op, one op per direction with the same weights (`mmzoo/inference/fused_lstm.py`); the "
        "alternative runs Keras's LSTM loop. Training, `.keras` files and exports keep Keras's LSTM.",
        "| architecture | batch-1 p50 ms, without → with the fused kernel | p95 ms |",
    ),
    (
        "mmzoo (Keras BatchNormalization)",
        "Fused BatchNorm in training",
        "`FusedBatchNormalization` (`mmzoo/encoders/fused_batchnorm.py`, in the `cnn`, `resnet` and autoencoder "
        "encoders) runs training calls on 4-D float32 inputs through TensorFlow's `FusedBatchNormV3` with "
        "Keras's moving-average update; the alternative is Keras's `BatchNormalization`. Inference, and so every "
        "export, is the same.",
        "| architecture | training samples/s, Keras BatchNormalization → fused |",
    ),
    (
        "mmzoo (no folded BatchNorm)",
        "BatchNorm folded into the convolutions for inference",
        "In the compiled path each convolution + BatchNorm runs as one convolution with kernel "
        "`w * gamma / sqrt(var + eps)` and a bias, which TensorFlow fuses with the ReLU (`conv_bn`, applied by "
        "`mmzoo/inference/compiled_inference.py`); the alternative keeps the BatchNorm as a separate multiply "
        "and add. Training, `model(x)`, `.keras` files and exports keep Keras's layers.",
        "| architecture | batch-1 p50 ms, unfolded → folded | p95 ms | batch-256 samples/s |",
    ),
)


def _ablations_section(record):
    """mmzoo's fast paths against the same model with one of them switched off, from this run."""
    lines = [
        "## Fast paths on and off",
        "",
        "Each table compares mmzoo as it runs by default (after the arrow) with the same model and weights "
        "with one fast path switched off (before it), measured in the same alternating rounds. Outputs agree "
        "to float32 rounding (`tests/inference/test_fast_predict.py`, `tests/encoders/test_fused_batchnorm.py`, "
        "`tests/encoders/test_conv_bn.py`).",
        "",
    ]
    for label, heading, what, header in ABLATIONS:
        if label == "mmzoo (Keras BatchNormalization)":
            rows = []
            for name, m in record["models"].items():
                before = m.get("train", {}).get(label, {}).get("samples_per_s")
                after = m.get("train", {}).get("mmzoo", {}).get("samples_per_s")
                if before and after:
                    rows.append(f"| `{name}` | {_fmt(before, 1)} → {_fmt(after, 1)} ({after / before:.2f}x) |")
        else:
            rows = _before_after(record, label, batch256=header.endswith("batch-256 samples/s |"))
        columns = header.count("|") - 1
        table = [header, "|" + "---|" * columns, *rows] if rows else ["Not measured in this run."]
        lines += [f"### {heading}", "", what, "", *table, ""]
    return lines


def _tax_section(record, rows):
    lines = ["## No abstraction tax: mmzoo vs the same model hand-written in Keras", ""]
    have = [(n, r) for n, r in rows.items() if r["tax_train"] is not None]
    if not have:
        return lines + ["Not measured in this run.", ""]
    lines += [
        "| architecture | train: mmzoo / hand-written | infer (both Keras `predict`) | mmzoo `predict` / "
        "hand-written `predict` |",
        "|---|---|---|---|",
    ]
    for name, r in have:
        infer = record["models"][name].get("infer", {})
        fast = _ratio(
            infer.get("mmzoo", {}).get("samples_per_s"), infer.get("keras (hand-written)", {}).get("samples_per_s")
        )
        lines.append(f"| `{name}` | {_fmt(r['tax_train'], 3)}x | {_fmt(r['tax_infer'], 3)}x | {_fmt(fast, 3)}x |")
    lines += [
        "",
        "The hand-written models (`benchmarks/throughput/keras_models.py`) use the same layers with plain Keras "
        "and are compiled with Adam, sparse cross-entropy and accuracy; mmzoo also tracks its macro F1 metric "
        "during `fit`, which is part of what it costs.",
        "",
    ]
    return lines


def _pipeline_section(record):
    p = record.get("pipeline")
    lines = ["## Input pipeline: files vs cached tensors", ""]
    if not p or "samples_per_s" not in p:
        return lines + [f"Not measured in this run{': ' + p.get('error', '') if p else ''}.", ""]
    lines += [
        f"early_fusion trained at batch {p['batch']} from a manifest of {p['examples']} real files (PNG "
        "digits from the embedded AV-MNIST sample resized to 64x64 RGB, 1 s 16 kHz WAVs of its spoken "
        "digits, text strings), decoded in tf.data by `mmzoo.data.from_csv`, against the same examples "
        "as cached in-memory tensors (`mmzoo.data.from_arrays(cache=True)`).",
        "",
        "| source | training samples/s | peak RSS MB |",
        "|---|---|---|",
    ]
    for name, rate in p["samples_per_s"].items():
        lines.append(f"| {name} | {_fmt(rate, 1)} | {_fmt(p['peak_rss_mb'].get(name))} |")
    ratio = p["ratio_files_to_cached"]
    lines += [
        "",
        f"- Files / cached: **{ratio:.2f}x** (target >= {TARGET_PIPELINE}x: "
        f"{'met' if ratio >= TARGET_PIPELINE else 'not met'}). The file pipeline alone (no model) "
        f"delivers {p['files_pipeline_alone_samples_per_s']:,.0f} samples/s.",
        f"- Audio features: {p['audio_features']}. Text: {p['text']}.",
        "",
    ]
    return lines


def _defaults_section(record):
    d = record.get("defaults")
    lines = ["## Defaults, chosen from measurements", ""]
    if d:
        lines += [
            "early_fusion, float32, this machine:",
            "",
            "| setting | train samples/s | infer samples/s |",
            "|---|---|---|",
        ]
        for label in d.get("train", {}):
            lines.append(
                f"| {label} | {_fmt(d['train'][label].get('samples_per_s'), 1)} "
                f"| {_fmt(d.get('infer', {}).get(label, {}).get('samples_per_s'), 1)} |"
            )
        lines.append("")
    strings = {
        k: (record["models"].get("early_fusion") or {}).get(k, {}).get("mmzoo (raw strings)")
        for k in ("train", "infer", "latency")
    }
    if strings.get("train"):
        ids = {k: record["models"]["early_fusion"][k]["mmzoo"] for k in ("train", "infer", "latency")}
        lines += [
            f"Raw strings through the in-graph `TextVectorization` vs token ids (early_fusion): training "
            f"{strings['train'].get('samples_per_s', 0):.1f} vs {ids['train'].get('samples_per_s', 0):.1f} "
            f"samples/s, inference {strings['infer'].get('samples_per_s', 0):.1f} vs "
            f"{ids['infer'].get('samples_per_s', 0):.1f}, batch-1 p50 {strings['latency'].get('p50_ms', 0):.2f} "
            f"vs {ids['latency'].get('p50_ms', 0):.2f} ms.",
            "",
        ]
    train = (d or {}).get("train", {})
    base = train.get("jit_compile=False", {}).get("samples_per_s")
    jit = _ratio(train.get("jit_compile=True", {}).get("samples_per_s"), base)
    spe_label = next((k for k in train if k.startswith("steps_per_execution")), None)
    spe = _ratio(train.get(spe_label, {}).get("samples_per_s"), base) if spe_label else None
    jit_note = f"this run: jit on trains at {jit:.2f}x of off" if jit else "not measured in this run"
    p = record.get("pipeline") or {}
    rates = p.get("samples_per_s") or {}
    files, serial = rates.get("files (PNG+WAV decoded in tf.data)"), rates.get("files, num_parallel_calls=1")
    pipeline_note = "not measured in this run"
    if files and serial and p.get("files_pipeline_alone_samples_per_s"):
        pipeline_note = (
            f"this run: the file pipeline alone delivers {p['files_pipeline_alone_samples_per_s'] / files:.0f}x "
            f"what training consumes, so on this CPU decoding never starves the model and "
            f"`num_parallel_calls=1` trains at {serial / files:.2f}x; parallelism matters where the "
            "model is faster than decoding, e.g. on GPUs"
        )
    spe_note = f"this run: {spe_label} trains at {spe:.2f}x of 1" if spe else "not measured in this run"
    lines += [
        "| device | jit_compile | steps_per_execution | precision | tf.data |",
        "|---|---|---|---|---|",
        f"| CPU | off (Keras's `\"auto\"` resolves to off on CPU-only machines; {jit_note}) | 1, Keras's "
        f"default ({spe_note}; more than 1 also coarsens batch-level callbacks) | "
        "float32 (the mixed policies are slower on CPU) | parallel "
        f"map and batch `AUTOTUNE`, `prefetch(AUTOTUNE)` ({pipeline_note}) |",
        '| GPU | on where the model allows it (Keras\'s `"auto"`; models taking raw strings cannot be '
        "XLA-compiled and fall back) | raise it when steps are short (per-step host overhead) | "
        "`mixed_bfloat16` on Ampere or newer, else `mixed_float16` (heads and softmax stay float32) | same; "
        "the tf.data service when decoding starves the device |",
        "",
        "The GPU row is the expected choice where no GPU run is reported; measure it with "
        "`python -m benchmarks.throughput --device gpu --precision bfloat16 --jit on --output "
        "benchmarks/results/gpu --report benchmarks/PERFORMANCE_GPU.md` on a GPU machine and keep its report.",
        "",
    ]
    return lines


def _growth_section(record, rel):
    growth = record.get("growth")
    lines = ["## Cost growth", ""]
    if not growth:
        return lines + ["Not measured in this run.", ""]
    lines += [
        f"![cost growth]({os.path.join(rel, 'growth.png')})",
        "",
        "mmzoo training (batch 64 unless batch is the axis). Slope: the log-log slope of the cost between "
        "the two largest sizes: time per step against batch size, time per sample against tokens (text) "
        "and pixels (image), and peak memory against the same; 1 is linear, above 1.15 is flagged as worse "
        "than linear. Memory: each setting runs in a fresh process; the peak resident memory of its training "
        "(tracing included) above the process's memory before the model was built.",
        "",
        "| architecture | axis | sizes | samples/s | peak RSS above the build MB | time slope | memory slope |",
        "|---|---|---|---|---|---|---|",
    ]
    worse = []
    for name, rows in growth.items():
        slopes = growth_slopes(rows)
        for axis in ("batch", "text", "image"):
            pts = [r for r in rows if r["axis"] == axis]
            if not pts:
                continue
            s = slopes.get(axis, {})
            sizes = ", ".join(str(r["value"]) for r in pts)
            rates = ", ".join(_fmt(r.get("samples_per_s"), 0) for r in pts)
            mem = ", ".join(_fmt(r["peak_rss_mb"] - r["rss_before_mb"]) if r.get("peak_rss_mb") else "–" for r in pts)
            lines.append(
                f"| `{name}` | {axis} | {sizes} | {rates} | {mem} | {_fmt(s.get('time_slope'), 2)} "
                f"| {_fmt(s.get('memory_slope'), 2)} |"
            )
            if s.get("time_slope", 0) > 1.15 or s.get("memory_slope", 0) > 1.15:
                worse.append(
                    f"`{name}` in {axis} (time slope {s['time_slope']:.2f}, memory slope "
                    f"{s['memory_slope']:.2f} between {s['between'][0]} and {s['between'][1]})"
                )
    lines += [
        "",
        "Worse than linear in this run: " + ("; ".join(worse) if worse else "none") + ".",
        "TFN's outer product grows with the product of the per-modality sizes, `(units + 1) ** M` "
        "(12 units over 3 modalities give 2,197 features, 4 modalities at 12 would give 28,561), not with "
        "batch, text length or image size; the zoo keeps it in check by projecting each modality to "
        "32/12/6 units for 2/3/4 inputs. The attention fusions (mult, transformer) are quadratic in the "
        "number of tokens per modality; with the CNN's 8x pooling and 64-128 text tokens the linear parts "
        "still dominate at these sizes.",
        "",
    ]
    return lines


def _notes_section(record):
    return [
        "## How to read it",
        "",
        "- Training runs Keras's LSTM loop (the fused LSTM kernel is an inference path), so text models pay "
        "for it in training throughput.",
        "- torch.compile on CPU compiles through Inductor and a C++ compiler; its first call takes tens of "
        "seconds per model and mode (excluded from the timings, reported as warm-up in the JSON).",
        "- Text: all PyTorch ports take token ids; the reference texts fill all 64 tokens, so the BiLSTM runs "
        "unpacked (no `pack_padded_sequence`), which is the fastest correct PyTorch form for full sequences.",
        "- FLOPs: counted on the PyTorch ports with `torch.utils.flop_counter` plus analytic LSTM and FFT terms "
        "(`benchmarks/throughput/flops.py`); a training step counts 3x the forward pass.",
        "",
    ]
