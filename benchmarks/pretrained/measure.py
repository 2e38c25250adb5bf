"""The run of `python -m benchmarks.pretrained` (the package docstring says what it measures)."""

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import sys
import time

import numpy as np

from benchmarks.output import save
from benchmarks.throughput.harness import Worker, alternate, cpu_ticks, log, machine_info, ok

from . import models, report

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(os.path.dirname(HERE), "results")
FULL = {"rounds": 3, "train_steps": 3, "warmup": 2, "infer_batches": 3}
TINY = {"rounds": 1, "train_steps": 2, "warmup": 1, "infer_batches": 1, "tiny": True}


def mmzoo_has_keras_hub():
    """Whether this checkout's mmzoo has the KerasHub encoder family (the public-API side of the comparison)."""
    from mmzoo.registry import ENCODERS

    return "keras_hub" in ENCODERS.names()


def variants(args):
    """(label, build command) per configuration: the Keras ones, then the PyTorch ones.

    mmzoo (where this checkout has the KerasHub family) with AdamW at each `jit_compile`, and as `build_model`
    compiles it by default (`mmzoo.training.warmup.default_optimizer`); KerasHub's own `BertTextClassifier`
    (without `jit_compile`), the same network without mmzoo around it.
    """
    keras_side = []
    if args.mmzoo and "mmzoo" in args.keras:
        keras_side += [(f"mmzoo, jit_compile={jit}", {"impl": "mmzoo", "jit": jit}) for jit in args.jit]
    if args.mmzoo and "mmzoo_default" in args.keras:
        keras_side.append(("mmzoo, default optimizer", {"impl": "mmzoo_default", "jit": False}))
    if "keras_hub" in args.keras or not args.mmzoo:
        jits = [False] if args.mmzoo else args.jit
        keras_side += [(f"KerasHub, jit_compile={jit}", {"impl": "keras_hub", "jit": jit}) for jit in jits]
    torch_side = [(f"PyTorch {c}", {"impl": c}) for c in args.torch_configs]
    return keras_side, torch_side


def logged_rounds(rounds, slots, op, **cmd):
    """`harness.alternate` one round at a time (the order rotating as there), logging each round; medians."""
    names = list(slots)
    merged = {}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        out = alternate(1, {name: slots[name] for name in order}, op, **cmd)
        log(f"   {op} round {r + 1}: " + ", ".join(f"{k} {v.get('samples_per_s', 0):.2f}" for k, v in out.items()))
        for name, entry in out.items():
            merged.setdefault(name, []).append(entry)
    result = {}
    for name in names:
        good = [e for e in merged[name] if "samples_per_s" in e]
        if not good:
            result[name] = merged[name][-1]
            continue
        runs = [e["samples_per_s"] for e in good]
        result[name] = {
            "samples_per_s": float(np.median(runs)),
            "runs": [round(v, 2) for v in runs],
            "peak_rss_mb": max(e["peak_rss_mb"] for e in good),
            "rss_before_mb": min(e["rss_before_mb"] for e in good),
        }
        if good[0].get("warmup_s") is not None:
            result[name]["warmup_s"] = round(good[0]["warmup_s"], 1)
    return result


def loadavg():
    return [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None


def run(args):
    cfg = dict(TINY if args.tiny else FULL)
    if args.rounds:
        cfg["rounds"] = args.rounds
    started, ticks = time.time(), cpu_ticks()
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.pretrained"] + (args.argv or [])),
        "machine": machine_info(args.threads, "cpu"),
        "settings": {
            **cfg,
            "config": models.TINY_CONFIG if args.tiny else models.CONFIG,
            "sequence_length": models.SEQUENCE_LENGTH,
            "batch": models.BATCH,
            "classes": models.CLASSES,
            "torch_omp_wait_policy": args.omp_wait_policy,
            "optimizer": f"AdamW(learning_rate={models.LEARNING_RATE}, weight_decay={models.WEIGHT_DECAY})",
        },
        "load_average": {"start": loadavg()},
    }
    env = {"CUDA_VISIBLE_DEVICES": "-1"}
    keras_w = Worker("keras", args.threads, env)
    torch_env = {**env, "OMP_WAIT_POLICY": args.omp_wait_policy} if args.omp_wait_policy != "default" else env
    torch_w = Worker("torch", args.threads, torch_env)
    try:
        record["versions"] = {
            **{k: v for k, v in keras_w("info").items() if k != "ok"},
            **{k: v for k, v in torch_w("info").items() if k != "ok"},
            "keras_hub": importlib.metadata.version("keras-hub"),
            "transformers": importlib.metadata.version("transformers"),
        }
        keras_side, torch_side = variants(args)
        common = {"tiny": bool(cfg.get("tiny")), "train_batch": models.BATCH, "infer_batch": models.BATCH}
        slots, params, build_s = {}, {}, {}
        for worker, side in ((keras_w, keras_side), (torch_w, torch_side)):
            for label, cmd in side:
                log(f"build {label}")
                reply = ok(worker("build_bert", slot=label, **common, **cmd), f"build {label}")
                if not reply.get("ok"):
                    raise SystemExit(f"could not build {label}: {reply.get('error')}\n{reply.get('traceback', '')}")
                slots[label] = (worker, {"slot": label})
                params[label], build_s[label] = reply["params"], round(reply["build_s"], 2)
        models.check_params(params[keras_side[0][0]], params[torch_side[0][0]])
        if len(set(params.values())) != 1:
            raise SystemExit(f"Parameter counts differ between configurations: {params}")
        record.update(params=params, build_s=build_s)
        log(f"train x{cfg['rounds']}")
        record["train"] = logged_rounds(cfg["rounds"], slots, "train", steps=cfg["train_steps"], warmup=cfg["warmup"])
        record["load_average"]["after_train"] = loadavg()
        _save(record, args, started, ticks)
        log(f"infer x{cfg['rounds']}")
        record["infer"] = logged_rounds(
            cfg["rounds"], slots, "infer", batches=cfg["infer_batches"], batch=models.BATCH, warmup=cfg["warmup"]
        )
        record["load_average"]["after_infer"] = loadavg()
    finally:
        keras_w.close()
        torch_w.close()
    record["summary"] = report.summary(record)
    _save(record, args, started, ticks)
    return record


def _save(record, args, started, ticks):
    record["duration_s"] = round(time.time() - started, 1)
    now = cpu_ticks() if ticks else None
    if now and now[1] > ticks[1]:
        record["machine"]["steal_percent"] = round(100 * (now[0] - ticks[0]) / (now[1] - ticks[1]), 1)
    save(record, args.out, args.report, lambda r: report.write(r, args.notes))


def parse_args(argv=None):
    from . import __doc__ as overview

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pretrained",
        description=overview,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default=os.path.join(RESULTS, "pretrained.json"))
    parser.add_argument("--report", default=os.path.join(os.path.dirname(HERE), "PRETRAINED.md"))
    parser.add_argument("--notes", default=os.path.join(RESULTS, "pretrained_notes.md"), help="included verbatim")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both frameworks")
    parser.add_argument("--rounds", type=int, help="alternating rounds per measurement")
    parser.add_argument("--tiny", action="store_true", help="a one-layer toy model, one short round (tests)")
    parser.add_argument("--jit", nargs="+", type=lambda v: v == "True", default=[False, True], help="Keras jit_compile")
    parser.add_argument("--torch-configs", nargs="+", default=["eager", "compile"], choices=("eager", "compile"))
    parser.add_argument(
        "--omp-wait-policy",
        default="PASSIVE",
        choices=("PASSIVE", "ACTIVE", "default"),
        help="OMP_WAIT_POLICY of the PyTorch worker (PASSIVE: OpenMP threads sleep at barriers instead of "
        "spinning, which keeps PyTorch from stalling when other processes share the cores)",
    )
    parser.add_argument(
        "--keras",
        nargs="+",
        default=["mmzoo", "mmzoo_default", "keras_hub"],
        choices=("mmzoo", "mmzoo_default", "keras_hub"),
        help="Keras-side configurations (mmzoo with AdamW, mmzoo's default optimizer, KerasHub's classifier)",
    )
    parser.add_argument("--no-mmzoo", dest="mmzoo", action="store_false", help="KerasHub alone on the Keras side")
    parser.add_argument("--report-only", action="store_true", help="regenerate the report from the JSON")
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.report_only:
        with open(args.out) as f:
            record = json.load(f)
        record["summary"] = report.summary(record)
        save(record, args.out, args.report, lambda r: report.write(r, args.notes))
        return record
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        raise SystemExit("This benchmark needs torch and transformers: pip install -r benchmarks/requirements.txt")
    args.mmzoo = args.mmzoo and mmzoo_has_keras_hub()
    record = run(args)
    log(f"wrote {args.out} and {args.report} in {record['duration_s']:.0f} s")
    return record
