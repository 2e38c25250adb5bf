"""The PyTorch side of `python -m benchmarks.generation`: a Hugging Face GPT-2 decoder sized like mmzoo's.

Runs inside the torch worker of the side-by-side harness (`benchmarks/throughput/worker.py`).
"""

import time

END = 3  # mmzoo's CaptionTokenizer ids: 0 padding, 1 unknown, 2 start, 3 end
START = 2


def build(cmd):
    """A `GPT2LMHeadModel` with cross-attention, sized by `cmd["size"]`, and its conditioning memory."""
    import torch

    try:
        from transformers import GPT2Config, GPT2LMHeadModel
    except ImportError as error:
        raise ImportError("The PyTorch side needs transformers: pip install -r benchmarks/requirements.txt") from error
    size = cmd["size"]
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=size["vocabulary_size"],
        n_positions=size["new_tokens"] + 2,
        n_embd=size["units"],
        n_layer=size["num_layers"],
        n_head=size["num_heads"],
        n_inner=size["intermediate_dim"],
        activation_function="relu",  # KerasHub's TransformerDecoder default
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        add_cross_attention=True,
        tie_word_embeddings=False,  # mmzoo's decoder has its own output layer
        bos_token_id=START,
        eos_token_id=END,
        pad_token_id=0,
    )
    model = GPT2LMHeadModel(config).eval()
    params = int(sum(p.numel() for p in model.parameters()))
    return {"model": model, "params": params, "decoder_params": params, "size": size}


def generate(slot, batch, cache):
    """One greedy `generate` call: `(batch, new_tokens)` new token ids."""
    import torch

    size = slot["size"]
    memory = slot.setdefault("memory", {}).get(batch)
    if memory is None:
        generator = torch.Generator().manual_seed(batch)
        memory = torch.randn(batch, size["memory_length"], size["units"], generator=generator)
        slot["memory"][batch] = memory
    prompt = torch.full((batch, 1), START, dtype=torch.long)
    with torch.inference_mode():
        out = slot["model"].generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            encoder_hidden_states=memory,
            max_new_tokens=size["new_tokens"],
            min_new_tokens=size["new_tokens"],  # no end token before the budget
            do_sample=False,
            use_cache=cache,
        )
    return out[:, 1:]


def measure(slot, cmd, measured):
    """`cmd["calls"]` timed `generate` calls after `cmd["warmup"]`; tokens per second and per-call times."""
    batch, cache = cmd["batch"], cmd["cache"]
    for _ in range(cmd.get("warmup", 1)):
        generate(slot, batch, cache)

    def run():
        times = []
        for _ in range(cmd["calls"]):
            start = time.perf_counter()
            tokens = generate(slot, batch, cache)
            times.append(time.perf_counter() - start)
        seconds = sorted(times)[len(times) // 2]
        return {
            "tokens_per_s": batch * int(tokens.shape[1]) / seconds,
            "seconds_per_call": seconds,
            "new_tokens": int(tokens.shape[1]),
            "calls": len(times),
        }

    return measured(run)


def handle(slots, cmd, measured):
    """The worker's `generation` command: `action` "build" (into `slots[cmd["slot"]]`) or "measure"."""
    if cmd["action"] == "build":
        slots[cmd["slot"]] = build(cmd)
        return {k: slots[cmd["slot"]][k] for k in ("params", "decoder_params")}
    return measure(slots[cmd["slot"]], cmd, measured)
