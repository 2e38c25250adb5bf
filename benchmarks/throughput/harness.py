"""The orchestrator of `python -m benchmarks.throughput` (the package docstring says what it measures).

It starts one worker process per framework (`worker.py`), sends them the
measurements as JSON lines, alternating the implementations round after
round, keeps the median, saves `throughput.json` after every part (so
`--resume` can continue an interrupted run) and writes the report
(`report.py`).
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

BENCHMARKS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCHMARKS)

TORCH_CONFIGS = ("eager", "compile", "channels_last")
FULL = {
    "rounds": 3,
    "train_steps": 10,
    "infer_batches": 4,
    "latency_calls": 50,
    "warmup": 3,
    "growth": {"batch": [16, 64, 256, 512], "text": [32, 64, 128, 256, 512], "image": [32, 64, 128, 224]},
    "growth_models": ["early_fusion", "tfn", "mult", "transformer"],
    "growth_steps": 4,
    "pipeline": {"examples": 512, "steps": 16, "rounds": 3},
    "matmul": 2048,
}
TINY = {
    "rounds": 1,
    "train_steps": 2,
    "infer_batches": 1,
    "latency_calls": 3,
    "warmup": 1,
    "growth": {"batch": [16]},
    "growth_models": None,
    "growth_steps": 2,
    "pipeline": {"examples": 64, "steps": 2, "rounds": 1},
    "matmul": 256,
    "defaults_spe": 2,
    "defaults_jit": False,
}
QUICK = {
    "rounds": 2,
    "train_steps": 4,
    "infer_batches": 2,
    "latency_calls": 15,
    "warmup": 2,
    "growth": {"batch": [16, 64], "text": [32, 64], "image": [32, 64]},
    "growth_models": None,
    "growth_steps": 2,
    "pipeline": {"examples": 128, "steps": 4, "rounds": 1},
    "matmul": 1024,
}


class Worker:
    """A framework's measuring process, spoken to in JSON lines."""

    def __init__(self, framework, threads, env=None):
        self.framework = framework
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.throughput.worker", framework, "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
        self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"The {self.framework} worker exited (code {self.proc.poll()}); see its stderr above.")
        return json.loads(line)

    def __call__(self, op, **cmd):
        self.proc.stdin.write(json.dumps({"op": op, **cmd}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def machine_info(threads, device):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = None
    try:
        with open("/proc/meminfo") as f:
            memory = round(int(f.readline().split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": threads,
        "memory_gib": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "device": device,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def torch_available():
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def log(*parts):
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def ok(reply, what):
    if not reply.get("ok"):
        log(f"FAILED {what}: {reply.get('error')}")
    return reply


def alternate(rounds, slots, op, **cmd):
    """Runs `op` on every slot, `rounds` times, rotating the order each round; median per slot."""
    runs = {name: [] for name in slots}
    for r in range(rounds):
        order = list(slots)[r % len(slots) :] + list(slots)[: r % len(slots)]
        for name in order:
            worker, extra = slots[name]
            reply = ok(worker(op, **{**cmd, **extra}), f"{op} {name}")
            runs[name].append(reply)
    out = {}
    for name, replies in runs.items():
        good = [r for r in replies if r.get("ok")]
        if not good:
            out[name] = {"error": replies[-1].get("error")}
            continue
        entry = {
            "peak_rss_mb": max(r["peak_rss_mb"] for r in good),
            "rss_before_mb": min(r["rss_before_mb"] for r in good),
        }
        if "samples_per_s" in good[0]:
            entry["samples_per_s"] = float(np.median([r["samples_per_s"] for r in good]))
            entry["runs"] = [round(r["samples_per_s"], 2) for r in good]
        if "p50_ms" in good[0]:
            entry["p50_ms"] = float(np.median([r["p50_ms"] for r in good]))
            entry["p95_ms"] = float(np.median([r["p95_ms"] for r in good]))
            entry["runs_p50"] = [round(r["p50_ms"], 3) for r in good]
        if good[0].get("first_fit_s") is not None:
            entry["warmup_s"] = good[0]["first_fit_s"]
        out[name] = entry
    return out


def measure_model(name, keras_w, torch_w, cfg, args):
    """Every measurement of one architecture, alternating the implementations."""
    from . import keras_models as K

    log(f"== {name}")
    common = {
        "model": name,
        "train_batch": 64,
        "infer_batch": 256,
        "precision": args.precision,
        "modalities": args.modalities,
    }
    result = {"params": {}, "build_s": {}}
    keras_slots, torch_slots = {}, {}
    builds = [("mmzoo", "mmzoo")]
    if name in K.HANDWRITTEN:
        builds.append(("keras (hand-written)", "handwritten"))
    if name == "early_fusion" and not args.quick:
        builds.append(("mmzoo (raw strings)", "mmzoo_strings"))
    if name == "early_fusion":
        builds.append(("mmzoo (Keras BatchNormalization)", "mmzoo"))
    for label, impl in builds:
        reply = ok(
            keras_w(
                "build",
                slot=label,
                impl=impl,
                jit=args.jit_value,
                keras_batchnorm=label == "mmzoo (Keras BatchNormalization)",
                **common,
            ),
            f"build {label}",
        )
        if reply.get("ok"):
            keras_slots[label] = (keras_w, {"slot": label})
            result["params"][label] = reply["params"]
            result["build_s"][label] = reply["build_s"]
            result.setdefault("jit_compile", reply.get("jit_compile"))
    if torch_w is not None:
        for config in args.torch_configs:
            label = f"pytorch {config}"
            reply = ok(torch_w("build", slot=label, impl=config, device=args.torch_device, **common), f"build {label}")
            if reply.get("ok"):
                torch_slots[label] = (torch_w, {"slot": label})
                result["params"][label] = reply["params"]
    if "mmzoo" in result["params"] and any(k.startswith("pytorch") for k in result["params"]):
        from . import torch_models as T

        torch_params = next(v for k, v in result["params"].items() if k.startswith("pytorch"))
        result["param_diff"] = (torch_params - result["params"]["mmzoo"]) / result["params"]["mmzoo"]
        T.check_params(torch_params, result["params"]["mmzoo"])
    slots = {**keras_slots, **torch_slots}
    rounds, warm = cfg["rounds"], cfg["warmup"]
    log(f"   train x{rounds}")
    result["train"] = alternate(rounds, slots, "train", steps=cfg["train_steps"], warmup=warm)
    infer_slots = {k: v for k, v in slots.items() if k != "mmzoo (Keras BatchNormalization)"}  # same inference
    if "mmzoo" in keras_slots:
        infer_slots["mmzoo (Keras predict)"] = (keras_w, {"slot": "mmzoo", "path": "keras_predict"})
        if "text" in args.modalities:
            infer_slots["mmzoo (no fused LSTM)"] = (keras_w, {"slot": "mmzoo", "path": "no_fused_lstm"})
        if {"image", "audio"} & set(args.modalities):  # the reference CNNs: BatchNorm after each convolution
            infer_slots["mmzoo (no folded BatchNorm)"] = (keras_w, {"slot": "mmzoo", "path": "no_folded_bn"})
    log(f"   infer x{rounds}")
    result["infer"] = alternate(rounds, infer_slots, "infer", batches=cfg["infer_batches"], batch=256, warmup=2)
    log(f"   latency x{rounds}")
    result["latency"] = alternate(rounds, infer_slots, "latency", calls=cfg["latency_calls"], warmup=warm)
    if torch_slots:
        reply = ok(torch_w("flops", slot=next(iter(torch_slots))), "flops")
        if reply.get("ok"):
            result["flops"] = {k: v for k, v in reply.items() if k != "ok"}
    for label in keras_slots:
        keras_w("drop", slot=label)
    for label in torch_slots:
        torch_w("drop", slot=label)
    return result


def measure_growth(cfg, args, models, env):
    """mmzoo training throughput and memory as batch size, text length and image size grow.

    Each setting runs in a fresh Keras worker, so its peak memory (tracing included, above the process's
    memory before the model was built) is not hidden by memory an earlier setting left allocated.
    """
    out = {}
    for name in models:
        rows = []
        for axis, values in cfg["growth"].items():
            for value in values:
                if (
                    axis == "text"
                    and "text" not in args.modalities
                    or axis == "image"
                    and "image" not in args.modalities
                ):
                    continue
                cmd = {
                    "model": name,
                    "slot": "growth",
                    "impl": "mmzoo",
                    "jit": args.jit_value,
                    "precision": args.precision,
                    "train_batch": 64,
                    "infer_batch": 64,
                    "modalities": args.modalities,
                }
                if axis == "batch":
                    cmd.update(train_batch=value, infer_batch=value)
                elif axis == "text":
                    cmd["sizes"] = {"sequence_length": value}
                else:
                    cmd["sizes"] = {"image_size": value}
                row = {"axis": axis, "value": value}
                keras_w = Worker("keras", args.threads, env)
                build = ok(keras_w("build", **cmd), f"growth build {name} {axis}={value}")
                if build.get("ok"):
                    reply = ok(
                        keras_w("train", slot="growth", steps=cfg["growth_steps"], warmup=1, include_warmup=True),
                        f"growth {name} {axis}={value}",
                    )
                    if reply.get("ok"):
                        row.update(
                            samples_per_s=reply["samples_per_s"],
                            peak_rss_mb=reply["peak_rss_mb"],
                            rss_before_mb=reply["rss_before_mb"],
                        )
                    else:
                        row["error"] = reply.get("error")
                else:
                    row["error"] = build.get("error")
                keras_w.close()
                rows.append(row)
                log(f"   growth {name} {axis}={value}: {row.get('samples_per_s', row.get('error'))}")
        out[name] = rows
    return out


def measure_defaults(keras_w, cfg, args):
    """The measured basis of the library's defaults: jit_compile and steps_per_execution (early_fusion)."""
    spe = cfg.get("defaults_spe", 8)
    variants = {
        "jit_compile=False": {"jit": False},
        "jit_compile=True": {"jit": True},
        f"steps_per_execution={spe}": {"jit": False, "steps_per_execution": spe},
    }
    if not cfg.get("defaults_jit", True):
        del variants["jit_compile=True"]
    slots = {}
    for label, extra in variants.items():
        reply = ok(
            keras_w(
                "build",
                slot=label,
                impl="mmzoo",
                model="early_fusion",
                train_batch=64,
                infer_batch=256,
                precision=args.precision,
                modalities=args.modalities,
                **extra,
            ),
            f"build {label}",
        )
        if reply.get("ok"):
            slots[label] = (keras_w, {"slot": label})
    steps = max(spe, cfg["train_steps"])  # whole executions
    out = {
        "train": alternate(cfg["rounds"], slots, "train", steps=steps, warmup=cfg["warmup"]),
        "infer": alternate(cfg["rounds"], slots, "infer", batches=cfg["infer_batches"], batch=256),
    }
    for label in slots:
        keras_w("drop", slot=label)
    return out


def parse_args(argv=None):
    from . import __doc__ as overview

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput",
        description=overview,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output",
        default=os.path.join(BENCHMARKS, "results", "throughput"),
        help="folder for throughput.json and growth.png",
    )
    parser.add_argument(
        "--report", default=os.path.join(BENCHMARKS, "PERFORMANCE.md"), help="Markdown report to regenerate"
    )
    parser.add_argument(
        "--models", nargs="+", help="architectures (default: all of mmzoo.list_models(); --quick: early_fusion)"
    )
    parser.add_argument("--quick", action="store_true", help="short runs for validation (numbers are rough)")
    parser.add_argument("--tiny", action="store_true", help="the smallest run that exercises every part (tests)")
    parser.add_argument(
        "--modalities",
        nargs="+",
        default=["audio", "image", "text"],
        choices=("audio", "image", "text"),
        help="reference inputs to use (default: all three)",
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both frameworks")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument(
        "--precision",
        choices=("float32", "bfloat16", "float16"),
        default="float32",
        help="Keras mixed-precision policy / torch.autocast dtype",
    )
    parser.add_argument(
        "--jit",
        choices=("auto", "on", "off"),
        default="auto",
        help="Keras jit_compile (auto: Keras's rule, off on CPU-only machines)",
    )
    parser.add_argument("--torch-configs", nargs="*", default=list(TORCH_CONFIGS), choices=TORCH_CONFIGS)
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=("growth", "pipeline", "defaults"), help="parts to leave out"
    )
    parser.add_argument("--rounds", type=int, help="alternating rounds per measurement")
    parser.add_argument("--report-only", action="store_true", help="regenerate the report from the JSON only")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run: keep what the existing JSON measured with the same "
        "settings on this machine and measure only the rest",
    )
    args = parser.parse_args(argv)
    args.jit_value = {"auto": "auto", "on": True, "off": False}[args.jit]
    args.torch_device = "cuda" if args.device == "gpu" else "cpu"
    return args


def _all_models():
    """Every registered architecture. The only use of mmzoo in this process (the workers do the work), so
    TensorFlow is imported here only when `--models` is not given."""
    import mmzoo  # noqa: F401  (registers the architectures)
    from mmzoo.registry import MODELS

    return MODELS.names()


def main(argv=None):
    args = parse_args(argv)
    from . import report as throughput_report

    json_path = os.path.join(args.output, "throughput.json")
    if args.report_only:
        with open(json_path) as f:
            record = json.load(f)
        throughput_report.write(record, args.report, args.output)
        return record
    args.quick = args.quick or args.tiny
    cfg = dict(TINY if args.tiny else QUICK if args.quick else FULL)
    if args.rounds:
        cfg["rounds"] = args.rounds
    models = args.models or (["early_fusion"] if args.quick else _all_models())
    os.makedirs(args.output, exist_ok=True)
    env = {"CUDA_VISIBLE_DEVICES": "-1"} if args.device == "cpu" else {}
    started, ticks = time.time(), cpu_ticks()
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.throughput"] + (argv if argv is not None else sys.argv[1:])),
        "quick": args.quick,
        "machine": machine_info(args.threads, args.device),
        "settings": {k: v for k, v in cfg.items()}
        | {
            "precision": args.precision,
            "jit": args.jit,
            "torch_configs": args.torch_configs,
            "modalities": args.modalities,
        },
        "models": {},
    }
    if args.resume:
        record = resume_record(json_path, record)
        done = [name for name in models if name in record["models"]]
        models = [name for name in models if name not in done]
        log(f"resuming {json_path}: kept {done or 'nothing'}")
    keras_w = Worker("keras", args.threads, env)
    torch_w = None
    kept_versions = record.get("versions")
    record["versions"] = {k: v for k, v in keras_w("info").items() if k != "ok"}
    if args.no_torch:
        record["torch_skipped"] = "--no-torch"
    elif not torch_available():
        record["torch_skipped"] = "torch is not installed (pip install -r benchmarks/requirements.txt)"
    else:
        torch_w = Worker("torch", args.threads, env)
        record["versions"].update({k: v for k, v in torch_w("info").items() if k != "ok"})
    if record.get("torch_skipped"):
        log("PyTorch side skipped:", record["torch_skipped"])
    if kept_versions is not None and kept_versions != record["versions"]:
        raise SystemExit(
            f"--resume: {json_path} was measured with {kept_versions}, this run has "
            f"{record['versions']}; run without --resume to start afresh."
        )
    try:
        peaks = {"tensorflow": ok(keras_w("matmul_peak", size=cfg["matmul"]), "matmul")}
        if torch_w is not None:
            peaks["torch"] = ok(torch_w("matmul_peak", size=cfg["matmul"], device=args.torch_device), "matmul")
        record["matmul_peak"] = {k: v.get("flops_per_s") for k, v in peaks.items()}
        for name in models:
            try:
                record["models"][name] = measure_model(name, keras_w, torch_w, cfg, args)
            except (RuntimeError, OSError, json.JSONDecodeError) as e:  # a worker died: record it, start afresh
                log(f"FAILED {name}: {e}")
                record["models"][name] = {"error": str(e)}
                for w in (keras_w, torch_w):
                    if w is not None:
                        w.proc.kill()
                keras_w = Worker("keras", args.threads, env)
                torch_w = Worker("torch", args.threads, env) if torch_w is not None else None
            _save(record, json_path, started, ticks)
        if "pipeline" not in args.skip and "pipeline" not in record:
            log("== input pipeline")
            reply = ok(keras_w("pipeline", modalities=args.modalities, **cfg["pipeline"]), "pipeline")
            record["pipeline"] = {k: v for k, v in reply.items() if k != "ok"}
            _save(record, json_path, started, ticks)
        if "defaults" not in args.skip and "defaults" not in record:
            log("== defaults (jit_compile, steps_per_execution)")
            record["defaults"] = measure_defaults(keras_w, cfg, args)
            _save(record, json_path, started, ticks)
        if "growth" not in args.skip and "growth" not in record:
            log("== cost growth")
            record["growth"] = measure_growth(cfg, args, cfg["growth_models"] or models[:1], env)
    finally:
        keras_w.close()
        if torch_w is not None:
            torch_w.close()
    _save(record, json_path, started, ticks)
    throughput_report.write(record, args.report, args.output)
    log(f"wrote {json_path} and {args.report} in {time.time() - started:.0f} s")
    return record


def resume_record(path, fresh):
    """The record of an interrupted run at `path`, to be continued by the run described by `fresh`.

    Keeps the architectures (and pipeline, defaults, growth parts) measured without error, when the
    settings and the machine (CPU, cores, threads, device) match; each sitting is listed under "parts",
    and the durations add up. Anything else starts afresh, with a message saying why. (`main` stops if
    the workers then report other library versions than the kept record's.)
    """
    if not os.path.exists(path):
        return fresh
    with open(path) as f:
        old = json.load(f)
    same_machine = {k: old.get("machine", {}).get(k) for k in ("cpu", "cores", "threads", "device")} == {
        k: fresh["machine"][k] for k in ("cpu", "cores", "threads", "device")
    }
    if old.get("settings") != json.loads(json.dumps(fresh["settings"])) or not same_machine or old.get("quick"):
        log(f"not resuming {path}: it was measured with other settings or on another machine")
        return fresh
    old["models"] = {k: v for k, v in old.get("models", {}).items() if "error" not in v}
    old["parts"] = old.get("parts") or [{k: old.get(k) for k in ("date", "command", "duration_s")}]
    old["parts"].append({"date": fresh["date"], "command": fresh["command"], "duration_s": 0.0})
    old["resumed_duration_s"] = sum(p["duration_s"] or 0 for p in old["parts"][:-1])
    return old


def cpu_ticks():
    """(steal, total) CPU ticks so far from /proc/stat, or None where there is none (not Linux)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (values[7] if len(values) > 7 else 0), sum(values)


def _save(record, path, started, ticks=None):
    elapsed = round(time.time() - started, 1)
    record["duration_s"] = round(record.get("resumed_duration_s", 0) + elapsed, 1)
    now = cpu_ticks() if ticks else None
    if now and now[1] > ticks[1]:  # a virtual machine's CPU time taken by the hypervisor: numbers run slower
        record["machine"]["steal_percent"] = round(100 * (now[0] - ticks[0]) / (now[1] - ticks[1]), 1)
    if record.get("parts"):
        record["parts"][-1]["duration_s"] = elapsed
        record["parts"][-1]["steal_percent"] = record["machine"].get("steal_percent")
    with open(path + ".tmp", "w") as f:
        json.dump(record, f, indent=1, default=float)
    os.replace(path + ".tmp", path)
