"""The (2+1)D encoder's training step, mmzoo beside the same model in PyTorch (`python -m benchmarks.video_step`).

The model is the video-only classifier mmzoo builds for one `Video` input:
`mmzoo.build_model("early_fusion", [Video("video", frames=8, shape=(32, 32, 3))],
encoders={"video": ("r2plus1d", {})})` (R(2+1)D stem and residual blocks,
Tran et al. 2018, then mmzoo's MLP head), and its PyTorch port
(`benchmarks/throughput/torch_video.py`, the torchvision `VideoResNet` way,
same layers and parameter count, checked within 1%). It reuses the
side-by-side harness of `benchmarks.throughput`: each framework in its own
worker process with the same thread count, the implementations alternated
round after round, the median kept; a train measurement is `--steps` Adam
steps on one fixed random batch (uint8 clips, integer labels) after
warm-up, so input pipelines are not part of it.

Writes `benchmarks/results/video_step.json` and `benchmarks/VIDEO_STEP.md`
(`benchmarks/results/video_step_notes.md`, if present, is included verbatim).

Usage, from the repository root:

    python -m benchmarks.video_step                  # 3 rounds of 6 steps, batch 16
    python -m benchmarks.video_step --torch-configs eager compile
    python -m benchmarks.video_step --rounds 1 --steps 2 --out /tmp/v.json --report /tmp/V.md   # smoke run
    python -m benchmarks.video_step --report-only    # rebuild VIDEO_STEP.md (e.g. after editing the notes)
"""

import argparse
import datetime
import json
import os
import sys

from benchmarks import output

BENCHMARKS = os.path.dirname(os.path.abspath(__file__))
NOTES = os.path.join(BENCHMARKS, "results", "video_step_notes.md")
TARGET = "the (2+1)D encoder's training step side by side with the same model in PyTorch (issue 24.6)"


def measure(args):
    """Builds both implementations, checks their sizes, alternates the train measurements; returns the record."""
    from benchmarks.throughput import harness
    from benchmarks.throughput import keras_models as K

    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.video_step"] + list(args.argv)),
        "machine": harness.machine_info(args.threads, "cpu"),
        "settings": {
            "model": "early_fusion",
            "encoder": list(K.VIDEO_ENCODER),
            "clip": [K.VIDEO_FRAMES, K.VIDEO_SIZE, K.VIDEO_SIZE, 3],
            "batch": args.batch,
            "rounds": args.rounds,
            "steps": args.steps,
            "warmup": args.warmup,
            "torch_configs": args.torch_configs,
        },
    }
    record["runs"] = [_measure_threads(args, threads, record) for threads in args.threads]
    return record


def _measure_threads(args, threads, record):
    """One side-by-side at `threads` threads per framework: `{"threads", "params", "build_s", "train"}`."""
    from benchmarks.throughput import harness

    env = {"CUDA_VISIBLE_DEVICES": "-1"}
    keras_w = harness.Worker("keras", threads, env)
    workers, slots, params, build_s = [keras_w], {}, {}, {}
    try:
        record["versions"] = {k: v for k, v in keras_w("info").items() if k != "ok"}
        common = {"model": "early_fusion", "modalities": ["video"], "train_batch": args.batch}
        common.update(infer_batch=args.batch, precision="float32")
        builds = [(keras_w, "mmzoo", {"impl": "mmzoo", "jit": False})]
        if not harness.torch_available():
            record["torch_skipped"] = "torch is not installed (pip install -r benchmarks/requirements.txt)"
        else:
            torch_w = harness.Worker("torch", threads, env)
            workers.append(torch_w)
            record["versions"].update({k: v for k, v in torch_w("info").items() if k != "ok"})
            builds += [(torch_w, f"pytorch {c}", {"impl": c, "device": "cpu"}) for c in args.torch_configs]
        for worker, label, options in builds:
            reply = harness.ok(worker("build", slot=label, **options, **common), f"build {label}")
            if reply.get("ok"):
                slots[label] = (worker, {"slot": label})
                params[label], build_s[label] = reply["params"], reply["build_s"]
        torch_params = [v for k, v in params.items() if k.startswith("pytorch")]
        if "mmzoo" in params and torch_params:
            from benchmarks.throughput import torch_models as T

            record["param_diff"] = T.check_params(torch_params[0], params["mmzoo"])
        harness.log(f"{threads} threads, train x{args.rounds}: {list(slots)}")
        train = harness.alternate(args.rounds, slots, "train", steps=args.steps, warmup=args.warmup)
    finally:
        for worker in workers:
            worker.close()
    return {"threads": threads, "params": params, "build_s": build_s, "train": train}


def report(record):
    """The Markdown report of one record."""
    s = record["settings"]
    machine = record["machine"]
    versions = ", ".join(
        f"{k} {v}" for k, v in record.get("versions", {}).items() if k in ("tensorflow", "keras", "torch")
    )
    lines = [
        "# (2+1)D training step: mmzoo vs PyTorch",
        "",
        "Generated by `python -m benchmarks.video_step` (the module docstring describes the protocol) from "
        "`benchmarks/results/video_step.json`; do not edit by hand.",
        "",
        f"What: {TARGET}. Model: `{s['model']}` on one `Video` input of {s['clip'][0]} frames "
        f"{s['clip'][1]}x{s['clip'][2]}x{s['clip'][3]} with the `{s['encoder'][0]}` encoder "
        f"(options {s['encoder'][1] or 'default'}), batch {s['batch']}; {s['rounds']} rounds of {s['steps']} "
        f"Adam steps after {s['warmup']} warm-up steps, implementations alternated, median of the rounds.",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"load average at start {', '.join(f'{v:.1f}' for v in machine.get('load_average_at_start') or [])}; "
        f"{versions}. Run: `{record['command']}` on {record['date']}.",
        "",
    ]
    if os.path.exists(NOTES):
        with open(NOTES) as f:
            lines += [f.read().rstrip(), ""]
    if record.get("torch_skipped"):
        lines += [f"PyTorch side skipped: {record['torch_skipped']}.", ""]
    lines += [
        "| threads | implementation | parameters | train samples/s (median) | rounds | ms/step | vs mmzoo | peak RSS MB |"
    ]
    lines += ["|---|---|---|---|---|---|---|---|"]
    for run in record["runs"]:
        base = run["train"].get("mmzoo", {}).get("samples_per_s")
        for label, entry in run["train"].items():
            if "error" in entry:
                lines.append(f"| {run['threads']} | {label} | - | error: {entry['error']} | | | | |")
                continue
            rate = entry["samples_per_s"]
            ratio = f"{rate / base:.2f}x" if base else "-"
            lines.append(
                f"| {run['threads']} | {label} | {run['params'][label]:,} | {rate:.1f} | "
                f"{', '.join(str(r) for r in entry['runs'])} | {1000 * s['batch'] / rate:.0f} | {ratio} | "
                f"{entry['peak_rss_mb']:.0f} |"
            )
    if "param_diff" in record:
        lines += ["", f"Parameter counts differ by {100 * record['param_diff']:.2f}% (checked within 1%)."]
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.video_step",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[os.cpu_count(), 1], help="threads per framework, one run each"
    )
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before the first round")
    parser.add_argument("--torch-configs", nargs="+", default=["eager"], choices=["eager", "compile"])
    parser.add_argument("--out", default=os.path.join(BENCHMARKS, "results", "video_step.json"))
    parser.add_argument("--report", default=os.path.join(BENCHMARKS, "VIDEO_STEP.md"))
    parser.add_argument("--report-only", action="store_true", help="rebuild the report from --out")
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.report_only:
        with open(args.out) as f:
            record = json.load(f)
    else:
        record = measure(args)
    print(output.save(record, args.out, args.report, report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
