"""Throughput, latency, memory and FLOPs of every zoo architecture, side by side with PyTorch.

One command writes `<output>/throughput.json` and `<output>/growth.png` and
regenerates `benchmarks/PERFORMANCE.md` from the JSON (see that file for the
numbers and what each column means). Run it from the repository root:

    python -m benchmarks.throughput             # full run (CPU, float32, all architectures)
    python -m benchmarks.throughput --quick     # a few minutes: one architecture, short runs
    python -m benchmarks.throughput --device gpu --precision bfloat16 --jit on --output benchmarks/results/gpu
    python -m benchmarks.throughput --report-only  # PERFORMANCE.md from the existing JSON
    python -m benchmarks.throughput --resume    # continue an interrupted run, measuring only the rest

At the reference input set (`mmzoo.models.reference`: 64 tokens over 20k words,
64x64x3 images, 1 s of 16 kHz audio through the in-graph log-mel, 10
classes), for each architecture it measures training samples/s (batch 64),
inference samples/s (batch 256), batch-1 latency p50/p95, peak resident
memory, parameters and FLOPs per sample, for

- mmzoo (`mmzoo.build_model`, trained with `model.fit`, predicting with `model.predict`),
- the same network hand-written in plain Keras (`keras_models.HANDWRITTEN`),
- PyTorch ports (`torch_models.py`) in eager mode, `torch.compile` and channels-last.

Each framework runs in its own worker process (`python -m benchmarks.throughput.worker`) with
the same thread count; the measurements alternate between them, round after
round, after warm-up, and the median of the rounds is reported. It also
measures the machine's float32 matmul peak (for utilisation), an input
pipeline from PNG/WAV files vs cached tensors (`pipeline.py`), the
jit_compile / steps_per_execution / text-as-strings choices, and cost growth
with batch size, text length and image size.

Needs PyTorch for the side-by-side part (`pip install -r benchmarks/requirements.txt`);
without it the Keras part runs and the report says PyTorch was not measured.
"""
