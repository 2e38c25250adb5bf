"""Both sides of the pretrained-backbone benchmark: one BERT configuration in KerasHub and in transformers.

`CONFIG` is a BERT-style encoder small enough for a CPU (4 layers, hidden size
256, 4 heads, feed-forward 1024, 512 positions, 2 segments, BERT's 30,522-word
vocabulary). `build_keras` is that backbone with a classification head (the
Keras side: KerasHub's `BertTextClassifier`, or mmzoo's KerasHub encoder
family); `build_torch` is the same network as Hugging Face's
`BertForSequenceClassification`. Both use the tanh approximation of GELU
(KerasHub's BERT does; `gelu_pytorch_tanh` is the same function in
transformers), layer-norm epsilon 1e-12, dropout 0.1 on embeddings,
attention probabilities and residual branches, the pooled `[CLS]` output
through a tanh dense layer, dropout 0.1 and a linear classifier, so the
parameter counts match exactly (`check_params`). Both train with AdamW (same
learning rate and weight decay) on sparse/categorical cross-entropy from
logits.
"""

import tempfile

import numpy as np

CONFIG = {
    "vocabulary_size": 30_522,
    "num_layers": 4,
    "num_heads": 4,
    "hidden_dim": 256,
    "intermediate_dim": 1024,
    "max_sequence_length": 512,
    "dropout": 0.1,
}
TINY_CONFIG = {**CONFIG, "vocabulary_size": 1000, "num_layers": 1, "hidden_dim": 32, "intermediate_dim": 64}
SEQUENCE_LENGTH, BATCH, CLASSES = 128, 32, 2
LEARNING_RATE, WEIGHT_DECAY = 5e-5, 0.01


def arrays(batch, sequence_length=SEQUENCE_LENGTH, vocabulary_size=CONFIG["vocabulary_size"], seed=0):
    """One batch of KerasHub-style inputs and labels: random ids, one segment, padded to `sequence_length`.

    Lengths are drawn between a quarter of the length and the full length (padding id 0, mask 0 there), so
    both frameworks compute the masked attention a fine-tuning batch needs rather than a mask-free shortcut.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(max(1, sequence_length // 4), sequence_length + 1, batch)
    mask = np.arange(sequence_length)[None, :] < lengths[:, None]
    ids = np.where(mask, rng.integers(1000 % vocabulary_size or 1, vocabulary_size, (batch, sequence_length)), 0)
    x = {
        "token_ids": ids.astype("int32"),
        "segment_ids": np.zeros((batch, sequence_length), "int32"),
        "padding_mask": mask.astype("int32"),
    }
    return x, rng.integers(0, CLASSES, batch).astype("int32")


# ---- Keras -------------------------------------------------------------------------------------


def keras_backbone(config=CONFIG):
    """KerasHub's `BertBackbone` with `config`, random weights."""
    import keras_hub

    return keras_hub.models.BertBackbone(**config)


def write_preset(folder, config=CONFIG):
    """A random-weight KerasHub BERT preset in `folder` (what `save_to_preset` writes), with a WordPiece
    vocabulary of `config["vocabulary_size"]` entries (BERT's special tokens, then made-up words)."""
    import keras_hub

    keras_backbone(config).save_to_preset(folder)
    keras_hub.models.BertTokenizer(vocabulary=vocabulary(config)).save_to_preset(folder)
    return folder


def vocabulary(config=CONFIG):
    """BERT's special tokens, then made-up words "w0", "w1", ... up to `config["vocabulary_size"]` entries."""
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return special + [f"w{i}" for i in range(config["vocabulary_size"] - len(special))]


def adamw():
    import keras

    return keras.optimizers.AdamW(LEARNING_RATE, weight_decay=WEIGHT_DECAY)


def build_keras(impl="keras_hub", config=CONFIG, jit_compile=False, preset=None):
    """The Keras side, compiled with cross-entropy and AdamW (mmzoo's default optimizer for "mmzoo_default").

    impl: "keras_hub" (KerasHub's `BertTextClassifier` on a fresh backbone, no preprocessor: token ids in);
    "mmzoo" (mmzoo's public API: `build_model` with the "keras_hub" encoder on the preset written at `preset`,
    a `Text` input of token ids, the head right on the pooled output, compiled by the task with AdamW); or
    "mmzoo_default" (the same model compiled as `build_model` compiles it by default).
    """
    import keras

    if impl == "keras_hub":
        import keras_hub

        model = keras_hub.models.BertTextClassifier(keras_backbone(config), CLASSES, preprocessor=None)
        model.compile(
            optimizer=adamw(),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit_compile,
        )
        return model
    if impl in ("mmzoo", "mmzoo_default"):
        return build_mmzoo(preset, config, jit_compile, default_optimizer=impl == "mmzoo_default")
    raise ValueError(f"impl={impl!r}: expected 'keras_hub', 'mmzoo' or 'mmzoo_default'.")


def build_mmzoo(preset, config=CONFIG, jit_compile=False, default_optimizer=False):
    """A text classifier on token ids through mmzoo's public API and its KerasHub encoder family.

    Same network as `BertForSequenceClassification`: the backbone's pooled output, dropout, a linear layer
    (the task's head; its softmax is the only addition, no parameters).
    """
    import mmzoo
    from mmzoo.training.warmup import default_optimizer as mmzoo_optimizer

    text = mmzoo.Text(
        "text", vocabulary_size=config["vocabulary_size"], sequence_length=SEQUENCE_LENGTH, token_ids=True
    )
    task = mmzoo.Classification(num_classes=CLASSES)
    model = mmzoo.build_model(
        "early_fusion",
        [text],
        task,
        encoders={"text": ("keras_hub", {"preset": preset, "dropout": config["dropout"]})},
        head_units=(),
        compile=False,
    )
    optimizer = mmzoo_optimizer(model, 1e-3) if default_optimizer else adamw()
    task.compile(model, optimizer=optimizer, jit_compile=jit_compile)
    return model


# ---- PyTorch -----------------------------------------------------------------------------------


def torch_config(config=CONFIG):
    """`transformers.BertConfig` equal to KerasHub's `BertBackbone(**config)` plus the classifier."""
    import transformers

    return transformers.BertConfig(
        vocab_size=config["vocabulary_size"],
        hidden_size=config["hidden_dim"],
        num_hidden_layers=config["num_layers"],
        num_attention_heads=config["num_heads"],
        intermediate_size=config["intermediate_dim"],
        hidden_act="gelu_pytorch_tanh",
        hidden_dropout_prob=config["dropout"],
        attention_probs_dropout_prob=config["dropout"],
        max_position_embeddings=config["max_sequence_length"],
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        num_labels=CLASSES,
    )


def build_torch(config=CONFIG, attention="sdpa"):
    """`BertForSequenceClassification` behind a module that takes the KerasHub input dict, returns logits."""
    import torch
    import transformers

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = transformers.BertForSequenceClassification._from_config(
                torch_config(config), attn_implementation=attention
            )

        def forward(self, x):
            return self.bert(
                input_ids=x["token_ids"], token_type_ids=x["segment_ids"], attention_mask=x["padding_mask"]
            ).logits

    return Classifier()


def torch_optimizer(model, fused=None):
    import torch

    return torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY, fused=fused)


def check_params(keras_params, torch_params):
    """Stops the benchmark unless both sides have exactly the same number of parameters."""
    if keras_params != torch_params:
        raise SystemExit(
            f"Parameter counts differ: Keras {keras_params:,}, PyTorch {torch_params:,}; the two configurations "
            "must be the same network (see benchmarks/pretrained/models.py)."
        )


# ---- the benchmark workers' slots (benchmarks/throughput/worker.py, op "build_bert") ------------


def _sizes(cmd):
    config = TINY_CONFIG if cmd.get("tiny") else CONFIG
    return config, cmd.get("sequence_length", SEQUENCE_LENGTH), cmd.get("train_batch", BATCH)


def keras_slot(cmd):
    """(slot, reply) for the Keras worker: the model, its batches and a repeating training dataset."""
    import tensorflow as tf

    config, length, batch = _sizes(cmd)
    preset = cmd["impl"].startswith("mmzoo")
    with tempfile.TemporaryDirectory(prefix="bert_preset_") as folder:  # read once, by the encoder
        path = write_preset(folder, config) if preset else None
        model = build_keras(cmd["impl"], config, jit_compile=cmd.get("jit", False), preset=path)
    batches = {}
    for b in {batch, cmd.get("infer_batch", BATCH)}:
        x, y = arrays(b, length, config["vocabulary_size"])
        batches[b] = ({"text": x["token_ids"]} if preset else x), y  # mmzoo: the mask is ids != [PAD]
    train = tf.data.Dataset.from_tensors(batches[batch]).repeat().prefetch(2)
    slot = {"model": model, "batches": batches, "train_ds": train, "train_batch": batch, "impl": cmd["impl"]}
    return slot, {"params": int(model.count_params()), "jit_compile": bool(model.jit_compile)}


def torch_slot(cmd):
    """(slot, reply) for the PyTorch worker: eager (`impl="eager"`) or `torch.compile` (`impl="compile"`)."""
    import torch

    config, length, batch = _sizes(cmd)
    model = build_torch(config, attention=cmd.get("attention", "sdpa"))
    batches = {}
    for b in {batch, cmd.get("infer_batch", BATCH)}:
        x, y = arrays(b, length, config["vocabulary_size"])
        batches[b] = ({k: torch.from_numpy(v).long() for k, v in x.items()}, torch.from_numpy(y).long())
    slot = {
        "model": model,
        "runner": torch.compile(model) if cmd["impl"] == "compile" else model,
        "batches": batches,
        "loss": torch.nn.CrossEntropyLoss(),
        "optimizer": torch_optimizer(model, fused=cmd.get("fused_adamw")),
        "train_batch": batch,
    }
    return slot, {"params": sum(p.numel() for p in model.parameters())}
