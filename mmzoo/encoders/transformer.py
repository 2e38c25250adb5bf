"""Transformer encoder over token ids, audio frames or feature sequences (pre-LN blocks, masked mean pooling)."""

import math

import keras
import numpy as np
from keras import ops

from mmzoo.encoders.sequence_input import SequenceEncoder, masked_mean
from mmzoo.registry import register_encoder


@keras.saving.register_keras_serializable(package="mmzoo")
class TransformerEncoderBlock(keras.layers.Layer):
    """Pre-LayerNorm transformer encoder block with a padding mask.

    Papers: Vaswani et al. 2017 (the block), Xiong et al. 2020 (LayerNorm
    before each sublayer, stable without warm-up).
    `x = x + Dropout(MHA(LN(x), mask))`, then `x = x + Dropout(W_2 gelu(W_1 LN(x)))`.
    The attention has no dropout of its own, so Keras computes it with
    `ops.dot_product_attention` (logits and softmax in float32 under mixed precision).

    Args:
        units: model width (the input's last axis); divisible by `num_heads`.
        num_heads: attention heads.
        ff_dim: hidden size of the feed-forward.
        dropout: dropout on the residual branches.

    Call args:
        x: `(batch, steps, units)`.
        padding_mask: optional boolean `(batch, steps)`; False steps are never attended to.

    Example:
        >>> import numpy as np
        >>> tuple(TransformerEncoderBlock(8, 2, 16)(np.zeros((2, 5, 8), "float32")).shape)
        (2, 5, 8)
    """

    def __init__(self, units, num_heads=4, ff_dim=256, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        if units % num_heads:
            raise ValueError(
                f"TransformerEncoderBlock '{self.name}': units={units} must be divisible by "
                f"num_heads={num_heads}; pick e.g. units={num_heads * max(1, units // num_heads)}."
            )
        self.units = units
        self.num_heads = num_heads
        self.ff_dim = ff_dim
        self.dropout = dropout
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="attention_norm")
        self.attention = keras.layers.MultiHeadAttention(num_heads, units // num_heads, name="attention")
        self.ff_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="ff_norm")
        self.ff_in = keras.layers.Dense(ff_dim, activation="gelu", name="ff_in")
        self.ff_out = keras.layers.Dense(units, name="ff_out")
        self.drop = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.ff_norm.build(input_shape)
        self.ff_in.build(input_shape)
        self.ff_out.build(tuple(input_shape[:-1]) + (self.ff_dim,))

    def call(self, x, padding_mask=None, training=None):
        h = self.attention_norm(x)
        attention_mask = None  # (batch, 1, keys): no query attends to a padded key
        if padding_mask is not None:
            attention_mask = ops.expand_dims(ops.cast(padding_mask, "bool"), 1)
        h = self.attention(h, h, attention_mask=attention_mask, training=training)
        x = x + self.drop(h, training=training)
        h = self.ff_out(self.ff_in(self.ff_norm(x)))
        return x + self.drop(h, training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_heads": self.num_heads,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
        }


def sinusoidal_positions(steps, units, dtype):
    """Fixed sine/cosine position codes `(steps, units)` (Vaswani et al. 2017, section 3.5)."""
    k = np.arange(units)
    freq = np.exp(-math.log(10000.0) * (k - k % 2) / units).astype("float32")
    phase = ((k % 2) * (np.pi / 2)).astype("float32")  # cosine on odd features
    angles = ops.cast(ops.arange(steps), "float32")[:, None] * freq[None] + phase[None]
    return ops.cast(ops.sin(angles), dtype)


@register_encoder(
    "transformer",
    modalities=("text", "audio", "features"),
    paper="Vaswani et al. 2017; pre-LN blocks as in Xiong et al. 2020",
)
class TransformerEncoder(SequenceEncoder):
    """Embedding or projection, positions, pre-LN transformer blocks, masked mean pooling.

    Papers: Vaswani et al. 2017, "Attention Is All You Need"; Xiong et al.
    2020, "On Layer Normalization in the Transformer Architecture" (pre-LN).
    Token ids are embedded (id 0 is padding: never attended to, left out of
    the mean) and scaled by `sqrt(units)`; float frames and vectors are
    projected to `units`. Learned positions (BERT-style) or fixed sinusoidal
    ones are added, `num_layers` blocks run, and a final LayerNorm precedes
    the masked mean over steps.

    Args:
        vocabulary_size: number of token ids (from the `Text` spec); None for float inputs.
        units: model width and output size; divisible by `num_heads`.
        num_heads: attention heads.
        num_layers: transformer blocks.
        ff_dim: hidden size of each block's feed-forward.
        dropout: dropout on the embedded tokens and the residual branches.
        positions: "learned" (up to `max_length` steps) or "sinusoidal" (any length).
        max_length: most steps learned positions cover.
        return_sequences: return the `(batch, steps, units)` sequence, zero at padding.

    Example:
        >>> import numpy as np
        >>> enc = TransformerEncoder(vocabulary_size=50, units=16, num_heads=2, ff_dim=32)
        >>> tuple(enc(np.array([[3, 4, 5, 0]])).shape)
        (1, 16)
        >>> enc = TransformerEncoder(units=16, num_heads=2, positions="sinusoidal", return_sequences=True)
        >>> tuple(enc(np.zeros((2, 30, 20), "float32")).shape)
        (2, 30, 16)
    """

    def __init__(
        self,
        vocabulary_size=None,
        units=128,
        num_heads=4,
        num_layers=2,
        ff_dim=256,
        dropout=0.1,
        positions="learned",
        max_length=512,
        return_sequences=False,
        **kwargs,
    ):
        super().__init__(vocabulary_size=vocabulary_size, return_sequences=return_sequences, **kwargs)
        if positions not in ("learned", "sinusoidal"):
            raise ValueError(
                f"Encoder '{self.name}': positions must be 'learned' or 'sinusoidal'; received {positions!r}."
            )
        self.units = units
        self.num_heads = num_heads
        self.num_layers = num_layers
        self.ff_dim = ff_dim
        self.dropout = dropout
        self.positions = positions
        self.max_length = max_length
        self.stem = self.make_stem(units, project=True)
        self.position_embedding = None
        if positions == "learned":
            self.position_embedding = keras.layers.Embedding(max_length, units, name="position_embedding")
        self.blocks = [
            TransformerEncoderBlock(units, num_heads, ff_dim, dropout, name=f"block{i}") for i in range(num_layers)
        ]
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.drop = keras.layers.Dropout(dropout)

    @property
    def output_dim(self):
        return self.units

    def build(self, input_shape):
        self.stem.build(input_shape)
        shape = self.stem_shape(input_shape)
        if self.position_embedding is not None:
            if shape[1] is not None and shape[1] > self.max_length:
                raise ValueError(
                    f"Encoder '{self.name}' has learned positions for {self.max_length} steps; its input has "
                    f"{shape[1]}. Pass max_length>={shape[1]} or positions='sinusoidal'."
                )
            self.position_embedding.build((None,))
        for block in self.blocks:
            block.build(shape)
        self.norm.build(shape)

    def call(self, x, mask=None, training=None):
        x, mask = self.stem(x, mask=mask)
        if self.vocabulary_size is not None:  # token embeddings scaled as in Vaswani et al. 3.4
            x = x * ops.cast(math.sqrt(self.units), x.dtype)
        steps = ops.shape(x)[1]
        if self.position_embedding is not None:
            x = x + ops.cast(self.position_embedding(ops.arange(steps)), x.dtype)[None]
        else:
            x = x + sinusoidal_positions(steps, self.units, x.dtype)[None]
        x = self.drop(x, training=training)
        for block in self.blocks:
            x = block(x, padding_mask=mask, training=training)
        x = self.norm(x)
        return self.finish(x, mask, None if self.return_sequences else masked_mean(x, mask))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_heads": self.num_heads,
            "num_layers": self.num_layers,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "positions": self.positions,
            "max_length": self.max_length,
        }
