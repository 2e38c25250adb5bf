"""The orchestrator of `python -m benchmarks.generation` (the package docstring says what it measures)."""

import argparse
import datetime
import json
import os
import sys
import time

import numpy as np

from benchmarks.output import save
from benchmarks.throughput.harness import Worker, log, machine_info, ok, torch_available

from . import report as generation_report

BENCHMARKS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The decoder: TextGeneration's default width/heads/layers, a captioning-sized vocabulary, 32 new tokens.
FULL = {
    "size": {
        "vocabulary_size": 2000,
        "units": 64,
        "num_heads": 4,
        "num_layers": 2,
        "intermediate_dim": 256,
        "memory_length": 4,
        "new_tokens": 32,
    },
    "batches": [1, 32],
    "rounds": 3,
    "calls": 3,
    "warmup": 1,
}
QUICK = {
    "size": {**FULL["size"], "vocabulary_size": 100, "new_tokens": 4},
    "batches": [1, 4],
    "rounds": 1,
    "calls": 1,
    "warmup": 1,
}


def measure(workers, cfg):
    """Every (framework, batch, cache) cell, alternating the frameworks round after round; medians."""
    cells = [(name, batch, cache) for batch in cfg["batches"] for cache in (True, False) for name in workers]
    runs = {cell: [] for cell in cells}
    for r in range(cfg["rounds"]):
        order = cells[r % len(cells) :] + cells[: r % len(cells)]
        for name, batch, cache in order:
            reply = ok(
                workers[name](
                    "generation",
                    action="measure",
                    slot="generation",
                    batch=batch,
                    cache=cache,
                    calls=cfg["calls"],
                    warmup=cfg["warmup"],
                ),
                f"{name} batch {batch} cache={cache}",
            )
            runs[(name, batch, cache)].append(reply)
            if reply.get("ok"):
                log(f"   {name:<8} batch {batch:<3} cache={cache!s:<5} {reply['tokens_per_s']:9.1f} tokens/s")
    out = []
    for (name, batch, cache), replies in runs.items():
        good = [r for r in replies if r.get("ok")]
        row = {"framework": name, "batch": batch, "cache": cache}
        if good:
            row.update(
                tokens_per_s=float(np.median([r["tokens_per_s"] for r in good])),
                runs=[round(r["tokens_per_s"], 1) for r in good],
                seconds_per_call=float(np.median([r["seconds_per_call"] for r in good])),
                new_tokens=good[0]["new_tokens"],
                peak_rss_mb=max(r["peak_rss_mb"] for r in good),
            )
        else:
            row["error"] = replies[-1].get("error") if replies else "not run"
        out.append(row)
    return out


def main(argv=None):
    from . import __doc__ as overview

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.generation",
        description=overview,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default=os.path.join(BENCHMARKS, "results", "generation.json"))
    parser.add_argument("--report", default=os.path.join(BENCHMARKS, "GENERATION.md"))
    parser.add_argument("--notes", default=os.path.join(BENCHMARKS, "results", "generation_notes.md"))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke run")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both frameworks")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    parser.add_argument("--report-only", action="store_true", help="regenerate the report from the JSON only")
    args = parser.parse_args(argv)

    def write(record):
        return save(record, args.out, args.report, lambda r: generation_report.render(r, args.notes))

    if args.report_only:
        with open(args.out) as f:
            write(json.load(f))
        return 0
    cfg = json.loads(json.dumps(QUICK if args.quick else FULL))
    if args.rounds:
        cfg["rounds"] = args.rounds
    # PASSIVE: OpenMP threads (PyTorch's) sleep instead of spinning while they wait; on a machine shared with
    # other jobs, spinning threads made Hugging Face's generate 10-100x slower (benchmarks/results/generation_notes.md)
    env = {"CUDA_VISIBLE_DEVICES": "-1", "OMP_WAIT_POLICY": "PASSIVE"}
    started = time.time()
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.generation"] + (argv if argv is not None else sys.argv[1:])),
        "quick": args.quick,
        "machine": machine_info(args.threads, "cpu"),
        "settings": {**cfg, "environment": env},
        "params": {},
        "decoder_params": {},
    }
    workers = {"mmzoo": Worker("keras", args.threads, env)}
    if args.no_torch:
        record["torch_skipped"] = "--no-torch"
    elif not torch_available():
        record["torch_skipped"] = "torch is not installed (pip install -r benchmarks/requirements.txt)"
    else:
        workers["pytorch"] = Worker("torch", args.threads, env)
    try:
        record["versions"] = {}
        for name, worker in list(workers.items()):
            record["versions"].update(
                {k: v for k, v in worker("info").items() if k not in ("ok", "devices", "threads", "gpu")}
            )
            reply = ok(worker("generation", action="build", slot="generation", size=cfg["size"]), f"build {name}")
            if reply.get("ok"):
                record["params"][name] = reply["params"]
                record["decoder_params"][name] = reply["decoder_params"]
            else:
                record.setdefault("errors", {})[name] = reply.get("error")
                worker.close()
                del workers[name]
        record["rows"] = measure(workers, cfg) if workers else []
    finally:
        for worker in workers.values():
            worker.close()
    record["duration_s"] = round(time.time() - started, 1)
    write(record)
    log(f"wrote {args.out} and {args.report} in {record['duration_s']:.0f} s")
    return 0
