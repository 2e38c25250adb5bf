"""A pretrained-style BERT backbone fine-tuned and served on CPU: mmzoo through KerasHub vs transformers in PyTorch.

One command measures, side by side, the same BERT-style encoder (4 layers,
hidden size 256, 4 heads, feed-forward 1024, BERT's vocabulary, sequence
length 128, `models.CONFIG`) with a two-class head:

- training samples/s (AdamW, batch 32, one fine-tuning step after warm-up) and
- inference samples/s (batch 32),

for the Keras side (KerasHub's `BertTextClassifier`, and mmzoo's KerasHub
encoder family where this checkout has it; `jit_compile` off and on) and
Hugging Face `transformers.BertForSequenceClassification` in PyTorch, eager
and `torch.compile`. The parameter counts must match exactly (the run stops
otherwise). It reuses the side-by-side protocol of `benchmarks/throughput`:
each framework in its own worker process with the same thread count,
measurements alternating round after round, median of the rounds; the load
average is recorded before and after each part (the machine may be shared).

    python -m benchmarks.pretrained              # writes results/pretrained.json and PRETRAINED.md
    python -m benchmarks.pretrained --report-only

`benchmarks/results/pretrained_notes.md` (profiles and measurements taken
outside the run) is included verbatim in the report.
"""
