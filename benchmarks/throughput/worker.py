"""One framework's measuring process for `python -m benchmarks.throughput` (JSON lines in, JSON lines out).

Started by the orchestrator as `python -m benchmarks.throughput.worker
keras|torch --threads N` from the repository root. Each framework lives in
its own process because TensorFlow's and PyTorch's thread pools in one
process compete for the cores and slow each other down, which would skew the
comparison. The orchestrator alternates between the processes; a process
waiting for its next command is blocked on a pipe and uses no CPU.

Commands (`op`): build, train, infer, latency, flops, matmul_peak,
pipeline, generation (`benchmarks/generation`), drop, info, quit. Every measuring command resets the process's
peak resident memory (`/proc/self/clear_refs`) first and reports the peak
after it.
"""

import argparse
import json
import os
import sys
import time
import traceback

import numpy as np

# ---- memory ------------------------------------------------------------------------------------


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_mb(field="VmHWM"):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


GPU_PEAK = None  # (reset, read_mb) for the worker's framework when it runs on a GPU


def measured(fn):
    """Runs `fn()` between a peak-RSS reset and a read; returns its dict with memory fields added."""
    reset_peak_rss()
    if GPU_PEAK:
        GPU_PEAK[0]()
    before = rss_mb("VmRSS")
    out = fn()
    out.update(rss_before_mb=round(before, 1), peak_rss_mb=round(rss_mb("VmHWM"), 1))
    if GPU_PEAK:
        out["gpu_peak_mb"] = round(GPU_PEAK[1](), 1)
    return out


def time_batches(fn, x, batch, cmd):
    """Inference throughput: `cmd["warmup"]` untimed calls, then samples/s over `cmd["batches"]` calls."""
    for _ in range(cmd.get("warmup", 2)):
        fn(x)

    def run():
        start = time.perf_counter()
        for _ in range(cmd["batches"]):
            fn(x)
        seconds = time.perf_counter() - start
        return {"samples_per_s": cmd["batches"] * batch / seconds, "seconds": seconds}

    return measured(run)


def time_calls(fn, x, cmd):
    """Batch-1 latency: `cmd["warmup"]` untimed calls, then the percentiles of `cmd["calls"]` timed ones."""
    for _ in range(cmd.get("warmup", 3)):
        fn(x)

    def run():
        times = []
        for _ in range(cmd["calls"]):
            start = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - start)
        return percentiles(times)

    return measured(run)


def percentiles(times):
    ms = np.asarray(times) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "calls": len(ms)}


# ---- Keras / mmzoo -----------------------------------------------------------------------------

# before/after paths: the FastPredictor option each one turns off
KERNEL_OFF = {"no_fused_lstm": "fused_lstm", "no_folded_bn": "fold_batchnorm"}


class KerasWorker:
    """Holds mmzoo and hand-written Keras models ("slots") and measures them."""

    def __init__(self, threads):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        self.tf = tf
        import keras  # noqa: F401

        global GPU_PEAK
        if tf.config.list_physical_devices("GPU"):
            GPU_PEAK = (
                lambda: tf.config.experimental.reset_memory_stats("GPU:0"),
                lambda: tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20,
            )

        from . import keras_models

        self.K = keras_models
        self.slots = {}

    def info(self, _):
        import keras
        import tensorflow as tf

        import mmzoo

        return {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "mmzoo": mmzoo.__version__,
            "devices": [d.name for d in tf.config.list_physical_devices()],
        }

    def build(self, cmd):
        import keras

        tf = self.tf
        K = self.K
        keras.utils.set_random_seed(0)
        rss_before_build = rss_mb("VmRSS")
        sizes = cmd.get("sizes", {})
        modalities = tuple(cmd.get("modalities", ("audio", "image", "text")))
        precision = cmd.get("precision", "float32")
        keras.mixed_precision.set_global_policy("float32" if precision == "float32" else f"mixed_{precision}")
        start = time.perf_counter()
        strings = cmd["impl"] == "mmzoo_strings"
        if cmd["impl"] in ("mmzoo", "mmzoo_strings"):
            if strings:
                import mmzoo

                specs = K.reference_specs(modalities, token_ids=False, **sizes)
                model = mmzoo.build_model(cmd["model"], specs, mmzoo.Classification(K.CLASSES), compile=False)
                model.task.compile(model, jit_compile=cmd.get("jit", False))
            else:
                model = K.build_mmzoo(
                    cmd["model"],
                    modalities,
                    jit_compile=cmd.get("jit", False),
                    steps_per_execution=cmd.get("steps_per_execution", 1),
                    **sizes,
                )
        else:
            model = K.build_handwritten(cmd["model"], modalities, jit_compile=cmd.get("jit", False), **sizes)
        if cmd.get("keras_batchnorm"):  # before/after of the fused BatchNorm: Keras's own code path
            for layer in model._flatten_layers():
                if type(layer).__name__ == "FusedBatchNormalization":
                    layer._fusable = lambda *args: False
        names = [t.name.split(":")[0] for t in model.inputs]
        used = tuple(m for m in modalities if m in names)
        batches = {}
        for b in sorted({cmd.get("train_batch", 64), cmd.get("infer_batch", 256), 1}):
            x, y = K.reference_arrays(b, used, strings=strings, **sizes)
            batches[b] = (x, y)
        train_batch = cmd.get("train_batch", 64)
        x, y = batches[train_batch]
        retrieval = cmd["model"] == "clip"
        ds = tf.data.Dataset.from_tensors((x,) if retrieval else (x, y)).repeat().prefetch(2)
        self.slots[cmd["slot"]] = {
            "model": model,
            "batches": batches,
            "train_ds": ds,
            "train_batch": train_batch,
            "trained": False,
            "impl": cmd["impl"],
            "strings": strings,
            "rss_before_build": rss_before_build,
        }
        return {
            "params": int(model.count_params()),
            "build_s": time.perf_counter() - start,
            "jit_compile": bool(model.jit_compile),
        }

    def build_bert(self, cmd):
        """A slot holding the BERT classifier of `benchmarks/pretrained` (measured by the same ops)."""
        from benchmarks.pretrained import models

        keras = __import__("keras")
        keras.utils.set_random_seed(0)
        rss_before_build = rss_mb("VmRSS")
        start = time.perf_counter()
        slot, reply = models.keras_slot(cmd)
        self.slots[cmd["slot"]] = {**slot, "trained": False, "rss_before_build": rss_before_build}
        return {**reply, "build_s": time.perf_counter() - start}

    def _fit(self, slot, steps):
        import keras

        times = []

        class Timer(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                times.append(time.perf_counter())

        slot["model"].fit(slot["train_ds"], steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[Timer()])
        return times

    def train(self, cmd):
        slot = self.slots[cmd["slot"]]
        spe = int(getattr(slot["model"], "steps_per_execution", 1) or 1)
        whole = cmd.get("include_warmup") and not slot["trained"]
        if whole:  # peak memory of the whole training (tracing included), above the RSS before the build
            reset_peak_rss()
        if not slot["trained"]:
            start = time.perf_counter()
            self._fit(slot, max(2, cmd.get("warmup", 3)) * spe)
            slot["trained"] = True
            slot["first_fit_s"] = time.perf_counter() - start

        def run():
            steps = max(2, cmd["steps"] // spe) * spe
            times = self._fit(slot, steps)
            # the first timestamp closes the first execution: rate over the rest, without fit's set-up
            executions = len(times) - 1
            seconds = times[-1] - times[0]
            samples = executions * spe * slot["train_batch"]
            return {
                "samples_per_s": samples / seconds,
                "seconds": seconds,
                "steps": executions * spe,
                "first_fit_s": slot.get("first_fit_s"),
            }

        if whole:
            out = run()
            out.update(rss_before_mb=round(slot["rss_before_build"], 1), peak_rss_mb=round(rss_mb("VmHWM"), 1))
            return out
        return measured(run)

    def infer(self, cmd):
        slot = self.slots[cmd["slot"]]
        model = slot["model"]
        b = cmd.get("batch", 256)
        x, _ = slot["batches"][b]
        path = cmd.get("path", "predict")
        fn = self._predict_fn(model, path, b)
        return time_batches(fn, x, b, cmd)

    def _predict_fn(self, model, path, batch):
        import keras

        if path in KERNEL_OFF:  # mmzoo's compiled path without one of its kernels (before/after)
            from mmzoo.inference.fast_predict import FastPredictor

            attribute = f"_benchmark_{path}"
            if not hasattr(model, attribute):
                object.__setattr__(model, attribute, FastPredictor(model, weak=True, **{KERNEL_OFF[path]: False}))
            predictor = getattr(model, attribute)
            return lambda x: predictor(x, batch_size=batch)
        if path == "keras_predict":  # Keras's own predict, bypassing mmzoo's compiled path
            return lambda x: keras.Model.predict(
                model, model._prepare(x) if hasattr(model, "_prepare") else x, batch_size=batch, verbose=0
            )
        return lambda x: model.predict(x, batch_size=batch, verbose=0)

    def latency(self, cmd):
        slot = self.slots[cmd["slot"]]
        x, _ = slot["batches"][1]
        return time_calls(self._predict_fn(slot["model"], cmd.get("path", "predict"), 1), x, cmd)

    def matmul_peak(self, cmd):
        tf = self.tf
        n = cmd.get("size", 2048)
        a = tf.random.normal((n, n))
        b = tf.random.normal((n, n))
        f = tf.function(tf.matmul, autograph=False)
        f(a, b).numpy()
        best = 0.0
        for _ in range(cmd.get("repeats", 5)):
            start = time.perf_counter()
            f(a, b).numpy()
            best = max(best, 2 * n**3 / (time.perf_counter() - start))
        return {"flops_per_s": best, "size": n}

    def pipeline(self, cmd):
        from . import pipeline

        return pipeline.measure(cmd, measured)

    def generation(self, cmd):  # python -m benchmarks.generation
        from benchmarks.generation import keras_side

        return keras_side.handle(self.slots, cmd, measured)

    def drop(self, cmd):
        self.slots.pop(cmd["slot"], None)
        import gc

        import keras

        keras.backend.clear_session()
        gc.collect()
        return {}


# ---- PyTorch -----------------------------------------------------------------------------------


class TorchWorker:
    """Holds PyTorch ports in eager, torch.compile and channels-last configurations."""

    def __init__(self, threads):
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:
            pass
        self.torch = torch
        from . import keras_models, torch_models

        self.K = keras_models
        self.T = torch_models
        self.slots = {}
        self.autocast = None
        self.device = torch.device("cpu")
        global GPU_PEAK
        if torch.cuda.is_available():
            GPU_PEAK = (torch.cuda.reset_peak_memory_stats, lambda: torch.cuda.max_memory_allocated() / 2**20)

    def info(self, _):
        torch = self.torch
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        return {"torch": torch.__version__, "threads": torch.get_num_threads(), "gpu": gpu}

    def build(self, cmd):
        torch, T, K = self.torch, self.T, self.K
        torch.manual_seed(0)
        config = cmd["impl"]  # eager | compile | channels_last
        sizes = cmd.get("sizes", {})
        modalities = tuple(cmd.get("modalities", ("audio", "image", "text")))
        start = time.perf_counter()
        model = T.build(cmd["model"], modalities)
        params = T.count_params(model)
        channels_last = config == "channels_last"
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        used = tuple(m for m in modalities if m in model.branches.modalities)
        batches = {}
        for b in sorted({cmd.get("train_batch", 64), cmd.get("infer_batch", 256), 1}):
            x, y = K.reference_arrays(b, used, **sizes)
            batches[b] = (T.to_torch_batch(x, channels_last), torch.from_numpy(y).long())
        device = torch.device(cmd.get("device", "cpu"))
        if device.type != "cpu":
            model = model.to(device)
            batches = {b: ({k: v.to(device) for k, v in x.items()}, y.to(device)) for b, (x, y) in batches.items()}
        runner = torch.compile(model) if config == "compile" else model
        precision = cmd.get("precision", "float32")
        self.autocast = None if precision == "float32" else (device.type, getattr(torch, precision))
        self.device = device
        self.slots[cmd["slot"]] = {
            "model": model,
            "runner": runner,
            "batches": batches,
            "loss": T.loss_fn(cmd["model"]),
            "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3),
            "train_batch": cmd.get("train_batch", 64),
            "trained": False,
        }
        return {"params": int(params), "build_s": time.perf_counter() - start}

    def build_bert(self, cmd):
        """A slot holding the transformers BERT classifier of `benchmarks/pretrained` (eager or compiled)."""
        from benchmarks.pretrained import models

        self.torch.manual_seed(0)
        start = time.perf_counter()
        slot, reply = models.torch_slot(cmd)
        self.autocast, self.device = None, self.torch.device("cpu")
        self.slots[cmd["slot"]] = {**slot, "trained": False}
        return {**reply, "build_s": time.perf_counter() - start}

    def _autocast(self):
        import contextlib

        if self.autocast is None:
            return contextlib.nullcontext()
        return self.torch.autocast(self.autocast[0], dtype=self.autocast[1])

    def _sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def _step(self, slot, x, y):
        slot["optimizer"].zero_grad(set_to_none=True)
        with self._autocast():
            loss = slot["loss"](slot["runner"](x), y)
        loss.backward()
        slot["optimizer"].step()
        return loss

    def train(self, cmd):
        slot = self.slots[cmd["slot"]]
        slot["model"].train()
        x, y = slot["batches"][slot["train_batch"]]
        if not slot["trained"]:
            start = time.perf_counter()
            for _ in range(max(2, cmd.get("warmup", 3))):
                self._step(slot, x, y)
            slot["trained"] = True
            slot["first_fit_s"] = time.perf_counter() - start

        def run():
            start = time.perf_counter()
            for _ in range(cmd["steps"]):
                loss = self._step(slot, x, y)
            float(loss.detach())
            self._sync()
            seconds = time.perf_counter() - start
            return {
                "samples_per_s": cmd["steps"] * slot["train_batch"] / seconds,
                "seconds": seconds,
                "steps": cmd["steps"],
                "first_fit_s": slot["first_fit_s"],
            }

        return measured(run)

    def _infer_fn(self, slot):
        torch = self.torch
        slot["model"].eval()

        def fn(x):
            with torch.inference_mode(), self._autocast():
                out = slot["runner"](x)
            self._sync()
            return out

        return fn

    def infer(self, cmd):
        slot = self.slots[cmd["slot"]]
        b = cmd.get("batch", 256)
        x, _ = slot["batches"][b]
        fn = self._infer_fn(slot)
        return time_batches(fn, x, b, cmd)

    def latency(self, cmd):
        slot = self.slots[cmd["slot"]]
        x, _ = slot["batches"][1]
        return time_calls(self._infer_fn(slot), x, cmd)

    def flops(self, cmd):
        from . import flops

        slot = self.slots[cmd["slot"]]
        x, _ = slot["batches"][1]
        return flops.torch_forward_flops(slot["model"], x)

    def matmul_peak(self, cmd):
        torch = self.torch
        n = cmd.get("size", 2048)
        device = torch.device(cmd.get("device", "cpu"))
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        torch.mm(a, b)
        self.device = device
        best = 0.0
        for _ in range(cmd.get("repeats", 5)):
            start = time.perf_counter()
            torch.mm(a, b)
            self._sync()
            best = max(best, 2 * n**3 / (time.perf_counter() - start))
        return {"flops_per_s": best, "size": n}

    def generation(self, cmd):  # python -m benchmarks.generation
        from benchmarks.generation import torch_side

        return torch_side.handle(self.slots, cmd, measured)

    def drop(self, cmd):
        self.slots.pop(cmd["slot"], None)
        import gc

        gc.collect()
        try:
            self.torch._dynamo.reset()
        except Exception:  # noqa: BLE001 - dynamo missing or already reset
            pass
        return {}


def main():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput.worker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("framework", choices=("keras", "torch"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    out = sys.stdout
    sys.stdout = sys.stderr  # library prints never corrupt the protocol
    worker = (KerasWorker if args.framework == "keras" else TorchWorker)(args.threads)
    out.write(json.dumps({"ok": True, "ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        try:
            reply = {"ok": True, **getattr(worker, cmd["op"])(cmd)}
        except Exception as e:  # noqa: BLE001 - reported to the orchestrator, which records it
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]}
        out.write(json.dumps(reply, default=float) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
