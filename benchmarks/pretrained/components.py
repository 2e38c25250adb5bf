"""Where a BERT training step's time goes: its parts timed alone, TensorFlow/Keras against PyTorch.

    python -m benchmarks.pretrained.components [--framework tf|torch] [--threads 2] [--repeats 5]

At the benchmark's shapes (batch 32, 128 tokens, hidden 256, 4 heads,
feed-forward 1024), forward and backward of: the tanh GELU on the
feed-forward activations, a layer norm, the masked attention core
(scores, masked softmax, dropout, context) and the feed-forward matmul;
then one AdamW update of the model's 11.2M parameters and the whole
encoder block; and tokenizing a batch of 32 strings to 128 ids (mmzoo's
in-graph `HubTokenizer` against Hugging Face's `BertTokenizerFast` on the
same vocabulary, which give the same ids). Keras layers/ops run inside a `tf.function` (as `fit` runs
them), once without and once with XLA; PyTorch eager. Prints one JSON line
per part: median milliseconds over `--repeats` timed calls after warm-up.
Run it in one process per framework, one after the other, on a quiet
machine; the numbers go to `benchmarks/results/pretrained_notes.md`.
"""

import argparse
import json
import os
import time

import numpy as np

from . import models

B, T, H, HEADS, FF = models.BATCH, models.SEQUENCE_LENGTH, 256, 4, 1024


def _median_ms(fn, repeats):
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(1e3 * float(np.median(times)), 2)


def tf_parts(repeats, jit):
    import keras
    import tensorflow as tf
    from keras_hub.layers import TransformerEncoder
    from keras_hub.src.utils.keras_utils import gelu_approximate

    rng = np.random.default_rng(0)
    ff = tf.Variable(rng.standard_normal((B, T, FF)).astype("float32"))
    hidden = tf.Variable(rng.standard_normal((B, T, H)).astype("float32"))
    mask = tf.constant(models.arrays(B)[0]["padding_mask"].astype(bool))
    norm = keras.layers.LayerNormalization(epsilon=1e-12)
    dense = keras.layers.Dense(FF)
    attention = keras.layers.MultiHeadAttention(HEADS, H // HEADS, dropout=0.1)
    block = TransformerEncoder(FF, HEADS, dropout=0.1, activation=gelu_approximate, layer_norm_epsilon=1e-12)
    for layer in (norm, dense):
        layer(hidden)
    attention(hidden, hidden, attention_mask=mask[:, None, :] & mask[:, :, None])
    block(hidden, padding_mask=mask)

    def grad_of(f, variables):
        @tf.function(jit_compile=jit)
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(f())
            return tape.gradient(loss, variables)

        return lambda: [g.numpy() for g in step() if g is not None][:1]

    parts = {
        "gelu (tanh), 32x128x1024": grad_of(lambda: gelu_approximate(ff), [ff]),
        "layer norm, 32x128x256": grad_of(lambda: norm(hidden), [hidden, *norm.trainable_weights]),
        "dense 256->1024": grad_of(lambda: dense(hidden), [hidden, *dense.trainable_weights]),
        "attention (projections, masked softmax, dropout)": grad_of(
            lambda: attention(hidden, hidden, attention_mask=mask[:, None, :] & mask[:, :, None], training=True),
            [hidden, *attention.trainable_weights],
        ),
        "encoder block": grad_of(
            lambda: block(hidden, padding_mask=mask, training=True), [hidden, *block.trainable_weights]
        ),
    }
    out = {name: _median_ms(fn, repeats) for name, fn in parts.items()}
    model = models.build_keras("keras_hub")
    optimizer = keras.optimizers.AdamW(models.LEARNING_RATE, weight_decay=models.WEIGHT_DECAY)
    variables = model.trainable_variables
    grads = [tf.ones_like(v) for v in variables]
    optimizer.build(variables)
    apply = tf.function(lambda: optimizer.apply_gradients(zip(grads, variables)), jit_compile=jit)
    out["AdamW update, 11.2M parameters"] = _median_ms(lambda: apply() and None, repeats)
    return out


def torch_parts(repeats):
    import torch
    from transformers.models.bert.modeling_bert import BertLayer

    torch.manual_seed(0)
    ff = torch.randn(B, T, FF, requires_grad=True)
    hidden = torch.randn(B, T, H, requires_grad=True)
    norm = torch.nn.LayerNorm(H, eps=1e-12)
    dense = torch.nn.Linear(H, FF)
    config = models.torch_config()
    config._attn_implementation = "sdpa"  # what BertForSequenceClassification uses by default here
    layer = BertLayer(config).train()
    attention = layer.attention
    mask = torch.from_numpy(models.arrays(B)[0]["padding_mask"]).bool()
    additive = torch.zeros(B, 1, 1, T).masked_fill(~mask[:, None, None, :], torch.finfo(torch.float32).min)

    def grad_of(f):
        def step():
            out = f()
            (out[0] if isinstance(out, tuple) else out).sum().backward()

        return step

    out = {
        "gelu (tanh), 32x128x1024": grad_of(lambda: torch.nn.functional.gelu(ff, approximate="tanh")),
        "layer norm, 32x128x256": grad_of(lambda: norm(hidden)),
        "dense 256->1024": grad_of(lambda: dense(hidden)),
        "attention (projections, masked softmax, dropout)": grad_of(lambda: attention(hidden, additive)),
        "encoder block": grad_of(lambda: layer(hidden, additive)),
    }
    out = {name: _median_ms(fn, repeats) for name, fn in out.items()}
    model = models.build_torch()
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    optimizer = models.torch_optimizer(model)
    out["AdamW update, 11.2M parameters"] = _median_ms(optimizer.step, repeats)
    return out


def sentences(batch=B, seed=0):
    """`batch` strings of 30-160 words of `models.vocabulary()` (longer ones are truncated to the length)."""
    rng = np.random.default_rng(seed)
    words = models.vocabulary()[5:]
    return [" ".join(rng.choice(words, rng.integers(30, 161))) for _ in range(batch)]


def tf_tokenization(repeats):
    """mmzoo's in-graph `HubTokenizer` (KerasHub's WordPiece + start/end packing) on a batch, in a tf.function."""
    import tempfile

    import tensorflow as tf

    from mmzoo.encoders.hub_preprocessing import HubTokenizer

    with tempfile.TemporaryDirectory() as folder:
        models.write_preset(folder)
        tokenizer = HubTokenizer(folder, sequence_length=T)
    text = tf.constant(sentences())
    call = tf.function(lambda x: tokenizer(x))
    ids = call(text).numpy()
    return {"tokenize batch of 32": _median_ms(lambda: call(text).numpy(), repeats)}, ids


def torch_tokenization(repeats):
    """Hugging Face's Rust `BertTokenizerFast` on the same vocabulary, padded to the same length, to tensors."""
    import transformers

    vocabulary = {token: i for i, token in enumerate(models.vocabulary())}
    tokenizer = transformers.BertTokenizerFast(vocab=vocabulary, do_lower_case=False)
    text = sentences()

    def call():
        return tokenizer(text, padding="max_length", truncation=True, max_length=T, return_tensors="pt")

    ids = call()["input_ids"].numpy()
    return {"tokenize batch of 32": _median_ms(call, repeats)}, ids


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", choices=("tf", "torch"), required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.framework == "tf":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        print(json.dumps({"framework": "mmzoo HubTokenizer (tf.function)", **tf_tokenization(args.repeats)[0]}))
        for jit in (False, True):
            print(json.dumps({"framework": f"tensorflow, jit_compile={jit}", **tf_parts(args.repeats, jit)}))
    else:
        import torch

        torch.set_num_threads(args.threads)
        print(json.dumps({"framework": "transformers BertTokenizerFast", **torch_tokenization(args.repeats)[0]}))
        print(json.dumps({"framework": "pytorch eager", **torch_parts(args.repeats)}))


if __name__ == "__main__":
    main()
