"""TextDecoder: a Transformer decoder over a memory sequence, with a key/value cache.

The decoder of the text-generation task (Vaswani et al. 2017, "Attention Is
All You Need"): token and position embeddings, `num_layers` KerasHub
`TransformerDecoder` blocks (causal self-attention, cross-attention over the
encoders' memory), and a Dense layer to the vocabulary. Training calls it on a
whole teacher-forced sequence; decoding calls `step` one token at a time with
a cache of self-attention keys/values (written at the step's index) and the
cross-attention keys/values of the memory (computed once by `start_cache`), so
a step costs the same at every position.
"""

import keras
from keras import ops


def keras_hub():
    """Imports KerasHub, with the fix in the error when it is missing."""
    try:
        import keras_hub as hub
    except ImportError as error:  # pragma: no cover - the test extra installs it
        raise ImportError(
            'Text generation needs KerasHub (its decoder layers and samplers): pip install "mmzoo[hub]".'
        ) from error
    return hub


@keras.saving.register_keras_serializable(package="mmzoo")
class TextDecoder(keras.layers.Layer):
    """Teacher-forced logits `(batch, T - 1, vocabulary)` from ids `(batch, T)` and a memory `(batch, S, units)`.

    Args:
        vocabulary_size: output classes (the tokenizer's size, reserved ids included).
        sequence_length: longest decoder input (the target's `max_length + 1`).
        units: model width; the memory must have this last dimension.
        num_heads: attention heads (must divide `units`).
        num_layers: decoder blocks.
        intermediate_dim: feed-forward width (default `4 * units`).
        dropout: dropout rate in the blocks.
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        units=64,
        num_heads=4,
        num_layers=2,
        intermediate_dim=None,
        dropout=0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if units % num_heads:
            raise ValueError(f"TextDecoder units={units} must be divisible by num_heads={num_heads}.")
        self.vocabulary_size = int(vocabulary_size)
        self.sequence_length = int(sequence_length)
        self.units = int(units)
        self.num_heads = int(num_heads)
        self.num_layers = int(num_layers)
        self.intermediate_dim = int(intermediate_dim or 4 * units)
        self.dropout = float(dropout)
        hub = keras_hub()
        self.embedding = hub.layers.TokenAndPositionEmbedding(
            self.vocabulary_size, self.sequence_length, self.units, name="embedding"
        )
        self.blocks = [
            hub.layers.TransformerDecoder(self.intermediate_dim, self.num_heads, dropout=self.dropout, name=f"block{i}")
            for i in range(self.num_layers)
        ]
        self.logits = keras.layers.Dense(self.vocabulary_size, name="logits")

    def build(self, ids_shape, memory_shape):
        self.embedding.build((None, None))
        for block in self.blocks:
            block.build((None, None, self.units), (None, None, self.units))
        self.logits.build((None, None, self.units))

    def call(self, ids, memory, training=None):
        x = self.embedding(ids[:, :-1])
        for block in self.blocks:
            x = block(x, memory, training=training)
        return ops.cast(self.logits(x), "float32")

    def compute_output_spec(self, ids, memory, training=None):
        length = None if ids.shape[1] is None else ids.shape[1] - 1
        return keras.KerasTensor((ids.shape[0], length, self.vocabulary_size), dtype="float32")

    def start_cache(self, memory, length):
        """The decoding cache `(self_cache, cross_cache, memory)` for prompts of `length` tokens.

        The self-attention cache starts at zeros; the cross-attention keys and
        values are computed from `memory` once here.
        """
        batch, source = ops.shape(memory)[0], ops.shape(memory)[1]
        head = self.units // self.num_heads
        zeros = ops.zeros((batch, 1, self.units), memory.dtype)
        self_cache = ops.zeros((batch, self.num_layers, 2, length, self.num_heads, head), memory.dtype)
        cross = ops.zeros((batch, 2, source, self.num_heads, head), memory.dtype)
        crosses = []
        for i, block in enumerate(self.blocks):
            _, _, filled = block(
                zeros,
                memory,
                self_attention_cache=self_cache[:, i],
                self_attention_cache_update_index=0,
                cross_attention_cache=cross,
                cross_attention_cache_update_index=0,
            )
            crosses.append(filled)
        return self_cache, ops.stack(crosses, axis=1), memory

    def step(self, ids, cache, index):
        """Logits `(batch, vocabulary)` of the token after `ids[:, index]` and the updated cache."""
        self_cache, cross_cache, memory = cache
        token = ops.slice(ids, [0, index], [ops.shape(ids)[0], 1])
        x = self.embedding(token, start_index=index)
        updated = []
        for i, block in enumerate(self.blocks):
            x, layer_cache, _ = block(
                x,
                memory,
                self_attention_cache=self_cache[:, i],
                self_attention_cache_update_index=index,
                cross_attention_cache=cross_cache[:, i],
                cross_attention_cache_update_index=None,
            )
            updated.append(layer_cache)
        logits = ops.cast(self.logits(x), "float32")[:, 0]
        return logits, (ops.stack(updated, axis=1), cross_cache, memory)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "sequence_length": self.sequence_length,
            "units": self.units,
            "num_heads": self.num_heads,
            "num_layers": self.num_layers,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
        }
