"""A pretrained GPT-2 decoder reading the inputs as a prefix (ClipCap; Mokady et al. 2021).

`TextGeneration(decoder="gpt2", decoder_preset=...)` loads a KerasHub GPT-2
preset (its backbone weights and byte-pair tokenizer). A mapping network
turns the fused vector into `prefix_length` embeddings of GPT-2's width (a
sequence fusion is projected token by token instead); they sit in front of
the caption's token embeddings, and GPT-2's causal self-attention reads them
as context. Decoding runs the prefix through the layers once to fill the
key/value cache, then one token per step.

The layers keep what they need in their config (GPT-2's sizes, the tokenizer's
vocabulary and merges), so a `.keras` file reloads without the preset.
Padding is id 0, which the loss ignores: in GPT-2's vocabulary that is "!",
so a "!" in a target is not learned.
"""

import keras
import tensorflow as tf
from keras import ops

from mmzoo.models.text_decoder import keras_hub

BACKBONE_FIELDS = (
    "vocabulary_size",
    "num_layers",
    "num_heads",
    "hidden_dim",
    "intermediate_dim",
    "max_sequence_length",
)


@keras.saving.register_keras_serializable(package="mmzoo")
class BytePairCaptionTokenizer(keras.layers.Layer):
    """Strings to `(batch, max_length + 2)` GPT-2 ids `<|endoftext|> t1 .. tn <|endoftext|> 0 ..`, and back.

    Args:
        vocabulary: GPT-2's `{token: id}` dict.
        merges: its merge rules ("a b" strings).
        max_length: most byte-pair tokens in a target.
    """

    def __init__(self, vocabulary, merges, max_length, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = {str(k): int(v) for k, v in dict(vocabulary).items()}
        self.merges = [str(m) for m in merges]
        self.max_length = int(max_length)
        # the TensorFlow path everywhere (eager too): ragged ids, and the ops the SavedModel holds
        self.tokenizer = keras_hub().tokenizers.GPT2Tokenizer(
            vocabulary=self.vocabulary, merges=self.merges, _allow_python_workflow=False
        )
        self.start_id = self.end_id = int(self.tokenizer.end_token_id)
        self.built = True

    @property
    def vocabulary_size(self):
        return self.tokenizer.vocabulary_size()

    def call(self, strings):
        strings = tf.reshape(tf.convert_to_tensor(strings, tf.string), (-1,))
        if tf.executing_eagerly():  # KerasHub densifies eager outputs (padding with id 0, a real token)
            if getattr(self, "_graph_tokenize", None) is None:
                self._graph_tokenize = tf.function(self.tokenizer.tokenize)
            ids = self._graph_tokenize(strings)
        else:
            ids = self.tokenizer.tokenize(strings)
        ids = tf.cast(ids, tf.int32)
        edge = tf.fill(tf.concat([tf.shape(strings)[:1], [1]], 0), self.end_id)
        ids = tf.concat([edge, ids, edge], axis=1)
        check = tf.debugging.assert_less_equal(
            ids.row_lengths(),
            tf.cast(self.max_length + 2, ids.row_splits.dtype),
            message=f"a target has more than max_length={self.max_length} tokens; raise max_length (never truncated)",
        )
        with tf.control_dependencies([check]):
            return ids.to_tensor(default_value=0, shape=(None, self.max_length + 2))

    def compute_output_spec(self, strings):
        return keras.KerasTensor((strings.shape[0], self.max_length + 2), dtype="int32")

    def detokenize(self, ids):
        """Strings of `(batch, length)` ids starting with the start token: the text up to the next end token."""
        ids = tf.cast(tf.convert_to_tensor(ids), tf.int32)[:, 1:]
        keep = tf.cumsum(tf.cast(tf.equal(ids, self.end_id), tf.int32), axis=1) == 0
        return self.tokenizer.detokenize(tf.ragged.boolean_mask(ids, keep))

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": self.vocabulary,
            "merges": self.merges,
            "max_length": self.max_length,
        }


@keras.saving.register_keras_serializable(package="mmzoo")
class PrefixLM(keras.layers.Layer):
    """GPT-2 logits `(batch, T - 1, vocabulary)` of ids `(batch, T)` after a prefix `(batch, k, hidden_dim)`.

    Args:
        backbone: GPT-2's sizes (`BACKBONE_FIELDS` of `GPT2Backbone.get_config()`).
    """

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        self.backbone_config = {k: int(backbone[k]) for k in BACKBONE_FIELDS}
        self.backbone = keras_hub().models.GPT2Backbone(**self.backbone_config, dropout=0.0, name="gpt2")
        self.num_heads = self.backbone_config["num_heads"]
        self.hidden_dim = self.backbone_config["hidden_dim"]

    def build(self, ids_shape, prefix_shape):
        self.built = True  # the backbone is a functional model, built when made

    def _run(self, x, start_index=0, cache=None):
        positions = self.backbone.position_embedding(x, start_index=start_index)
        x = self.backbone.embeddings_add((x, positions))
        caches = []
        for i, layer in enumerate(self.backbone.transformer_layers):
            if cache is None:
                x = layer(x)
            else:
                x, layer_cache = layer(
                    x, self_attention_cache=cache[:, i], self_attention_cache_update_index=start_index
                )
                caches.append(layer_cache)
        logits = self.backbone.token_embedding(self.backbone.layer_norm(x), reverse=True)
        return ops.cast(logits, "float32"), (ops.stack(caches, axis=1) if caches else None)

    def call(self, ids, prefix):
        k = prefix.shape[1]
        x = ops.concatenate([ops.cast(prefix, self.compute_dtype), self.backbone.token_embedding(ids[:, :-1])], axis=1)
        logits, _ = self._run(x)
        return logits[:, k:]

    def compute_output_spec(self, ids, prefix):
        length = None if ids.shape[1] is None else ids.shape[1] - 1
        return keras.KerasTensor((ids.shape[0], length, self.backbone_config["vocabulary_size"]), dtype="float32")

    def start_cache(self, prefix, length):
        """The cache after the prefix: `(key/value cache, prefix)` for prompts of `length` tokens."""
        k = prefix.shape[1]
        head = self.hidden_dim // self.num_heads
        batch = ops.shape(prefix)[0]
        layers = self.backbone_config["num_layers"]
        cache = ops.zeros((batch, layers, 2, k + length, self.num_heads, head), self.compute_dtype)
        _, cache = self._run(ops.cast(prefix, self.compute_dtype), 0, cache)
        return cache, prefix

    def step(self, ids, cache, index):
        """Logits `(batch, vocabulary)` of the token after `ids[:, index]` and the updated cache."""
        kv, prefix = cache
        k = prefix.shape[1]
        token = ops.slice(ids, [0, index], [ops.shape(ids)[0], 1])
        logits, kv = self._run(self.backbone.token_embedding(token), k + index, kv)
        return logits[:, 0], (kv, prefix)

    def get_config(self):
        return {**super().get_config(), "backbone": self.backbone_config}


def attach_prefix_lm(keras_inputs, features, task):
    """GPT-2 from `task.decoder_preset` as the decoder, the fused features as its prefix; returns the logits."""
    hub = keras_hub()
    pretrained = hub.models.GPT2Backbone.from_preset(task.decoder_preset)
    preset_tokenizer = hub.tokenizers.GPT2Tokenizer.from_preset(task.decoder_preset)
    target = keras_inputs[task.target] = keras.Input(shape=(), dtype="string", name=task.target)
    tokenizer = BytePairCaptionTokenizer(
        preset_tokenizer.vocabulary, preset_tokenizer.merges, task.max_length, name=f"{task.target}_tokenizer"
    )
    hidden = pretrained.hidden_dim
    if len(features.shape) == 3:
        memory = keras.layers.Dense(hidden, name=f"{task.target}_memory")(features)
    else:
        mapped = keras.layers.Dense(hidden * task.prefix_length // 2, activation="tanh", name=f"{task.target}_mapping")
        prefix = keras.layers.Dense(hidden * task.prefix_length, name=f"{task.target}_prefix")(mapped(features))
        memory = keras.layers.Reshape((task.prefix_length, hidden), name=f"{task.target}_memory")(prefix)
    needed = memory.shape[1] + task.max_length + 1
    if needed > pretrained.max_sequence_length:
        raise ValueError(
            f"TextGeneration: the prefix ({memory.shape[1]} tokens) and max_length={task.max_length} (+1) need "
            f"{needed} positions; the GPT-2 preset has {pretrained.max_sequence_length}. Shorten either."
        )
    decoder = PrefixLM(pretrained.get_config(), name=f"{task.target}_decoder")
    logits = decoder(tokenizer(target), memory)
    decoder.backbone.set_weights(pretrained.get_weights())
    return logits
