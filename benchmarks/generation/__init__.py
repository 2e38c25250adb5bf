"""Decoding speed of `model.generate`: tokens per second, with and without the cache, beside Hugging Face.

One command measures greedy decoding of a text-generation model at batch 1
and batch 32, with the key/value cache and without it, for

- mmzoo: `mmzoo.build_model("early_fusion", [Features], task=mmzoo.TextGeneration(...))`,
  decoded with `model.generate(inputs, max_length=..., sampler="greedy")`;
- PyTorch: a Hugging Face `GPT2LMHeadModel` configured to the same decoder
  (layers, width, heads, feed-forward width, vocabulary, ReLU, untied output
  layer, cross-attention over a memory of the same length) decoded with
  `generate(..., use_cache=True|False)`;

writes `benchmarks/results/generation.json` and regenerates
`benchmarks/GENERATION.md` (with `benchmarks/results/generation_notes.md`
included verbatim). Both sides produce exactly `--new-tokens` tokens per
sequence: the end token is ruled out (mmzoo: its output bias set to -1e4;
Hugging Face: `min_new_tokens`), since an untrained model would otherwise stop
at a random point. Tokens per second = batch x new tokens / wall seconds of
one `generate` call (raw conditioning in, tokens or strings out), the median
over alternating rounds after a warm-up call. Each framework runs in its own
worker process of the side-by-side harness (`benchmarks/throughput/worker.py`)
with the same thread count.

    python -m benchmarks.generation                 # the full run (a few minutes on 2 cores)
    python -m benchmarks.generation --quick         # a smoke run: tiny sizes, one round
    python -m benchmarks.generation --report-only   # GENERATION.md from the JSON only
"""
