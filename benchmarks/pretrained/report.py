"""PRETRAINED.md from `results/pretrained.json` (and the notes file, included verbatim)."""

import os

TARGET = 1.0  # Keras-side training throughput / the best PyTorch configuration's
# Compiled with another optimizer than PyTorch's AdamW (mmzoo's default: split learning rates, warm-up,
# clipping): in the table, not in the like-for-like ratio of the target.
NOT_LIKE_FOR_LIKE = "mmzoo, default optimizer"


def _best(part, prefix, exclude=None):
    rows = {k: v["samples_per_s"] for k, v in part.items() if "samples_per_s" in v and k.startswith(prefix)}
    if exclude:
        rows = {k: v for k, v in rows.items() if not k.startswith(exclude)}
    if not rows:
        return None, None
    label = max(rows, key=rows.get)
    return label, rows[label]


def summary(record):
    """Best configuration per side, per measurement, and the ratio against the best PyTorch one."""
    out = {}
    for part in ("train", "infer"):
        if part not in record:
            continue
        torch_label, torch_best = _best(record[part], "PyTorch")
        side = "mmzoo" if any(k.startswith("mmzoo") for k in record[part]) else "KerasHub"
        keras_label, keras_best = _best(record[part], side, exclude=NOT_LIKE_FOR_LIKE)
        out[part] = {
            "keras_best": keras_label,
            "torch_best": torch_label,
            "ratio": keras_best / torch_best if keras_best and torch_best else None,
        }
    if out.get("train", {}).get("ratio") is not None:
        out["train_target_met"] = out["train"]["ratio"] >= TARGET
    return out


def _cell(part, label, best):
    entry = part.get(label, {})
    if "samples_per_s" not in entry:
        return "error" if "error" in entry else "-", "-"
    ratio = f"{entry['samples_per_s'] / best:.2f}x" if best else "-"
    runs = ", ".join(f"{v:.1f}" for v in entry.get("runs", []))
    return f"{entry['samples_per_s']:.1f} ({runs})", ratio


def write(record, notes_path=None):
    """The Markdown report text."""
    s, m, v = record["settings"], record["machine"], record.get("versions", {})
    c = s["config"]
    lines = [
        "# Pretrained-style BERT on CPU: mmzoo / KerasHub vs transformers in PyTorch",
        "",
        f"The same BERT-style encoder on both sides: {c['num_layers']} layers, hidden size {c['hidden_dim']}, "
        f"{c['num_heads']} heads, feed-forward {c['intermediate_dim']}, {c['max_sequence_length']} positions, "
        f"vocabulary {c['vocabulary_size']:,}, dropout {c['dropout']}, tanh-approximated GELU, plus the pooled "
        f"`[CLS]` dense layer and a {s['classes']}-class linear head. Sequence length {s['sequence_length']} "
        f"(each row padded after a random length, masked on both sides), batch {s['batch']}, {s['optimizer']}, "
        "cross-entropy from logits, random weights (speed does not depend on their values). Keras side: "
        "KerasHub's `BertTextClassifier` (token ids in), and mmzoo's KerasHub encoder family where the run had "
        "it; PyTorch side: `transformers.BertForSequenceClassification` with the equal `BertConfig`, eager and "
        "`torch.compile`. Parameters (asserted equal): "
        + ", ".join(sorted({f"{n:,}" for n in record.get("params", {}).values()}))
        + ".",
        "",
        f"Each framework runs in its own worker process (`benchmarks/throughput/worker.py`) with {m['threads']} "
        f"threads (PyTorch's with `OMP_WAIT_POLICY={s.get('torch_omp_wait_policy', 'default')}`, see the notes); "
        f"training is {s['train_steps']} AdamW steps after {s['warmup']} warm-up steps, inference "
        f"{s['infer_batches']} batches after warm-up, the configurations alternating for {s['rounds']} rounds; "
        "each cell is the median samples/s (the rounds in brackets). "
        f"Machine: {m['cpu']}, {m['cores']} cores, {m.get('memory_gib')} GiB; "
        + ", ".join(f"{k} {val}" for k, val in v.items() if k != "devices")
        + f". Run {record['date']}, {record.get('duration_s', 0):.0f} s. Load average (1, 5, 15 min): "
        + "; ".join(f"{k.replace('_', ' ')} {val}" for k, val in record.get("load_average", {}).items())
        + (f"; CPU steal {m['steal_percent']}%" if m.get("steal_percent") is not None else "")
        + ". Written by `python -m benchmarks.pretrained`.",
        "",
    ]
    if record.get("train") and record.get("infer"):
        _, train_best = _best(record["train"], "PyTorch")
        _, infer_best = _best(record["infer"], "PyTorch")
        lines += [
            "| configuration | train samples/s | vs best PyTorch | inference samples/s | vs best PyTorch | "
            "worker peak RSS MB | warm-up s |",
            "|---|---|---|---|---|---|---|",
        ]
        for label in record["train"]:
            t, tr = _cell(record["train"], label, train_best)
            i, ir = _cell(record["infer"], label, infer_best)
            rss = record["train"][label].get("peak_rss_mb", "-")
            warm = record["train"][label].get("warmup_s", "-")
            lines.append(f"| {label} | {t} | {tr} | {i} | {ir} | {rss} | {warm} |")
        lines += [
            "",
            "`mmzoo, default optimizer` is the model as `build_model` compiles it (a `SplitOptimizer` of two "
            "AdamW with warm-up and `clipnorm=1.0`), not the like-for-like AdamW of the other rows. The memory "
            "column is the worker process's peak resident memory while training, and a worker holds all of its "
            "framework's configurations at once: compare it within a framework, not across. Warm-up: the "
            f"first {s['warmup']} training steps, tracing (Keras), XLA or Inductor compilation included.",
        ]
        summ = record.get("summary", {})
        tr = summ.get("train", {})
        if tr.get("ratio") is not None:
            met = "met" if summ.get("train_target_met") else "missed"
            lines += [
                "",
                f"**Target** (training at least {TARGET:.1f}x the best PyTorch configuration, both with AdamW): "
                f"{met}: "
                f"{tr['keras_best']} at {tr['ratio']:.2f}x {tr['torch_best']}"
                + (
                    f"; inference {summ['infer']['keras_best']} at {summ['infer']['ratio']:.2f}x "
                    f"{summ['infer']['torch_best']}."
                    if summ.get("infer", {}).get("ratio")
                    else "."
                ),
            ]
    lines.append("")
    if notes_path and os.path.exists(notes_path):
        with open(notes_path) as f:
            lines += [f.read().rstrip(), ""]
    return "\n".join(lines)
