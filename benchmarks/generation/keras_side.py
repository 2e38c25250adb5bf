"""The mmzoo side of `python -m benchmarks.generation`: a text-generation model and its `generate` timed.

Runs inside the Keras worker of the side-by-side harness (`benchmarks/throughput/worker.py`).
The model: one `Features` input (a vector of `units` numbers) through
`early_fusion` into `TextGeneration`'s mapping network, which makes the
decoder's memory of `memory_length` tokens (ClipCap's prefix), so the
conditioning costs one small matrix product and the time is the decoder's.
"""

import time

import numpy as np

SILENT = (0, 2, 3)  # padding, start, end: ids that end a sequence early or vanish from the strings


def build(cmd):
    """The model sized by `cmd["size"]`; padding/start/end ruled out, so every sequence has the budget's words."""
    import keras

    import mmzoo

    size = cmd["size"]
    keras.utils.set_random_seed(0)
    vocabulary = [f"w{i}" for i in range(size["vocabulary_size"] - 4)]
    task = mmzoo.TextGeneration(
        target="text",
        max_length=size["new_tokens"] - 1,  # words; the sampler's last step is the end token's slot
        vocabulary_size=size["vocabulary_size"],
        vocabulary=vocabulary,
        units=size["units"],
        num_heads=size["num_heads"],
        num_layers=size["num_layers"],
        dropout=0.0,
        prefix_length=size["memory_length"],
        standardize=None,
    )
    spec = mmzoo.Features("conditioning", shape=(size["units"],), normalize=False)
    model = mmzoo.build_model("early_fusion", [spec], task=task)
    decoder = model.get_layer("text_decoder")
    bias = decoder.logits.bias
    bias.assign(np.where(np.isin(np.arange(bias.shape[0]), SILENT), -1e4, 0.0).astype("float32"))
    return {"model": model, "params": int(model.count_params()), "decoder_params": decoder.count_params(), "size": size}


def generate(slot, batch, cache):
    """One greedy `model.generate` call (the task's max_length words and the end token's step): the strings."""
    size = slot["size"]
    x = slot.setdefault("inputs", {}).get(batch)
    if x is None:
        rng = np.random.default_rng(batch)
        x = {"conditioning": rng.normal(size=(batch, size["units"])).astype("float32")}
        slot["inputs"][batch] = x
    return slot["model"].generate(x, sampler="greedy", batch_size=batch, use_cache=cache)


def measure(slot, cmd, measured):
    """`cmd["calls"]` timed `generate` calls after `cmd["warmup"]`; tokens per second and per-call times."""
    batch, cache = cmd["batch"], cmd["cache"]
    for _ in range(cmd.get("warmup", 1)):
        generate(slot, batch, cache)

    def run():
        times = []
        for _ in range(cmd["calls"]):
            start = time.perf_counter()
            texts = generate(slot, batch, cache)
            times.append(time.perf_counter() - start)
        words = [len(str(t).split()) for t in np.asarray(texts).ravel()]
        if set(words) != {slot["size"]["new_tokens"]}:
            raise RuntimeError(
                f"generate returned {sorted(set(words))} words per text, not {slot['size']['new_tokens']}"
            )
        seconds = sorted(times)[len(times) // 2]
        return {
            "tokens_per_s": batch * slot["size"]["new_tokens"] / seconds,
            "seconds_per_call": seconds,
            "new_tokens": slot["size"]["new_tokens"],
            "calls": len(times),
        }

    return measured(run)


def handle(slots, cmd, measured):
    """The worker's `generation` command: `action` "build" (into `slots[cmd["slot"]]`) or "measure"."""
    if cmd["action"] == "build":
        slots[cmd["slot"]] = build(cmd)
        return {k: slots[cmd["slot"]][k] for k in ("params", "decoder_params")}
    return measure(slots[cmd["slot"]], cmd, measured)
