"""Transformer building blocks shared by the attention fusions: masked attention, pre-LN blocks, token embedding.

`MaskedMultiHeadAttention` computes its scores and softmax in float32 (also
under `mixed_float16`) and gives a query whose keys are all masked a zero
output instead of an average of masked values; `TransformerBlock` wraps it in
a pre-LayerNorm residual block (self- or cross-attention, Vaswani et al. 2017;
Tsai et al. 2019); `SequenceFusion` is the base of the fusions that read
per-modality token sequences (`cross_attention`, `transformer`).
"""

import math

import keras
import numpy as np
from keras import ops

from mmzoo.fusion.base import Fusion

_NEG = -1e9


def sinusoidal_positions(steps, units, dtype="float32"):
    """Sinusoidal position encodings `(steps, units)` (Vaswani et al. 2017, section 3.5).

    Example:
        >>> tuple(sinusoidal_positions(3, 4).shape)
        (3, 4)
    """
    k = np.arange(units)
    freq = np.exp(-math.log(10000.0) * (k - k % 2) / units).astype("float32")
    phase = ((k % 2) * (np.pi / 2)).astype("float32")  # cos on odd features
    positions = ops.cast(ops.arange(steps), "float32")[:, None]
    return ops.cast(ops.sin(positions * freq[None] + phase[None]), dtype)


def softmax(scores, axis=-1):
    """Softmax in float32; unlike `ops.softmax` it does not warn on a size-1 axis (a single key/modality)."""
    scores = ops.cast(scores, "float32")
    e = ops.exp(scores - ops.stop_gradient(ops.max(scores, axis=axis, keepdims=True)))
    return e / ops.sum(e, axis=axis, keepdims=True)


def presence_matrix(fusion, inputs, presence):
    """`(batch, num_modalities)` float32 presence in sorted-name order, or None if not given."""
    ordered = fusion.ordered(inputs)
    given = fusion.ordered_presence(inputs, presence)
    if all(p is None for p in given):
        return None
    first = ordered[0]
    ones = ops.ones_like(ops.reshape(first, (ops.shape(first)[0], -1))[:, 0], dtype="float32")
    columns = [ones if p is None else ops.reshape(ops.cast(p, "float32"), (-1,)) for p in given]
    return ops.stack(columns, axis=1)


@keras.saving.register_keras_serializable(package="mmzoo")
class MaskedMultiHeadAttention(keras.layers.Layer):
    """Multi-head scaled dot-product attention with a key mask, softmax in float32.

    Paper: Vaswani et al. 2017, "Attention Is All You Need".
    `output = W_o concat_h(softmax(Q_h K_h^T / sqrt(d)) V_h) + b_o`. Keys where
    `key_mask` is 0 get exactly zero weight; a query with no valid key outputs
    zeros (not the mean of masked values, not NaN).

    Args:
        units: model width (query/key/value/output size); divisible by `num_heads`.
        num_heads: number of heads.
        dropout: dropout on the attention weights.

    Call args:
        query: `(batch, steps_q, dim_q)`.
        value: `(batch, steps_k, dim_k)`, used as keys and values.
        key_mask: optional `(batch, steps_k)`, 1 (True) where a key may be attended.

    Returns:
        `(batch, steps_q, units)`.

    Example:
        >>> import numpy as np
        >>> att = MaskedMultiHeadAttention(units=8, num_heads=2)
        >>> tuple(att(np.zeros((2, 3, 5), "float32"), np.zeros((2, 4, 6), "float32")).shape)
        (2, 3, 8)
    """

    def __init__(self, units, num_heads=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if units % num_heads:
            raise ValueError(
                f"Attention units must be divisible by num_heads; received units={units}, "
                f"num_heads={num_heads}. Pick e.g. units={num_heads * max(1, units // num_heads)}."
            )
        self.units = units
        self.num_heads = num_heads
        self.dropout = dropout
        self.query_dense = keras.layers.Dense(units, name="query")
        self.key_dense = keras.layers.Dense(units, name="key")
        self.value_dense = keras.layers.Dense(units, name="value")
        self.output_dense = keras.layers.Dense(units, name="output")
        self.weights_dropout = keras.layers.Dropout(dropout)

    def build(self, query_shape, value_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        self.query_dense.build(query_shape)
        self.key_dense.build(value_shape)
        self.value_dense.build(value_shape)
        self.output_dense.build(tuple(query_shape[:-1]) + (self.units,))

    def _heads(self, x):
        head_dim = self.units // self.num_heads
        x = ops.reshape(x, (-1, ops.shape(x)[1], self.num_heads, head_dim))
        return ops.transpose(x, (0, 2, 1, 3))  # (batch, heads, steps, head_dim)

    def call(self, query, value, key_mask=None, training=None):
        q = ops.cast(self._heads(self.query_dense(query)), "float32")
        k = ops.cast(self._heads(self.key_dense(value)), "float32")
        v = self._heads(self.value_dense(value))
        scores = ops.einsum("bhtd,bhsd->bhts", q, k) / math.sqrt(self.units // self.num_heads)
        if key_mask is not None:
            valid = ops.cast(key_mask, "bool")[:, None, None, :]
            scores = ops.where(valid, scores, _NEG)
        weights = softmax(scores, axis=-1)
        if key_mask is not None:  # no valid key: attend to nothing
            weights = weights * ops.cast(ops.any(valid, axis=-1, keepdims=True), "float32")
        weights = self.weights_dropout(ops.cast(weights, v.dtype), training=training)
        out = ops.transpose(ops.einsum("bhts,bhsd->bhtd", weights, v), (0, 2, 1, 3))
        return self.output_dense(ops.reshape(out, (-1, ops.shape(out)[1], self.units)))

    def compute_output_shape(self, query_shape, value_shape=None):
        return tuple(query_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_heads": self.num_heads, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="mmzoo")
class TransformerBlock(keras.layers.Layer):
    """Pre-LayerNorm transformer block: masked (cross-)attention and a feed-forward, each residual.

    Papers: Vaswani et al. 2017 (the block), Xiong et al. 2020 (pre-LN), Tsai
    et al. 2019 (MulT's cross-modal block: queries from the target, keys and
    values from a separately normalised source).
    `x = x + Dropout(Attention(LN(x), LN_c(context)))`, then
    `x = x + Dropout(W_2 Dropout(relu(W_1 LN(x))))`.

    Args:
        units: model width (the input's last axis).
        num_heads: attention heads.
        ffn_units: hidden size of the feed-forward (default `4 * units`).
        dropout: dropout on attention weights, residual branches and the feed-forward.
        cross: attend to a `context` sequence (its own LayerNorm) instead of to `x`.

    Call args:
        x: `(batch, steps, units)`.
        context: `(batch, steps_c, units)` when `cross=True`.
        key_mask: optional `(batch, steps_c)` (or `steps` for self-attention), 1 = attend.

    Returns:
        `(batch, steps, units)`.

    Example:
        >>> import numpy as np
        >>> block = TransformerBlock(units=8, num_heads=2, cross=True)
        >>> tuple(block(np.zeros((2, 3, 8), "float32"), context=np.ones((2, 5, 8), "float32")).shape)
        (2, 3, 8)
    """

    def __init__(self, units, num_heads=1, ffn_units=None, dropout=0.0, cross=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.num_heads = num_heads
        self.ffn_units = ffn_units
        self.dropout = dropout
        self.cross = cross
        self.attention = MaskedMultiHeadAttention(units, num_heads, dropout=dropout, name="attention")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")
        self.context_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="context_norm") if cross else None
        self.ffn_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="ffn_norm")
        self.ffn_in = keras.layers.Dense(ffn_units or 4 * units, activation="relu", name="ffn_in")
        self.ffn_out = keras.layers.Dense(units, name="ffn_out")
        self.drop = keras.layers.Dropout(dropout)

    def build(self, x_shape, context_shape=None):
        if self.cross and context_shape is None:
            raise ValueError(f"TransformerBlock '{self.name}' has cross=True and needs a `context` sequence.")
        context_shape = context_shape if self.cross else x_shape
        self.norm.build(x_shape)
        if self.cross:
            self.context_norm.build(context_shape)
        self.attention.build(x_shape, context_shape)
        self.ffn_norm.build(x_shape)
        self.ffn_in.build(x_shape)
        self.ffn_out.build(tuple(x_shape[:-1]) + (self.ffn_in.units,))

    def call(self, x, context=None, key_mask=None, training=None):
        query = self.norm(x)
        keys = self.context_norm(context) if self.cross else query
        x = x + self.drop(self.attention(query, keys, key_mask=key_mask, training=training), training=training)
        h = self.drop(self.ffn_in(self.ffn_norm(x)), training=training)
        return x + self.drop(self.ffn_out(h), training=training)

    def compute_output_shape(self, x_shape, context_shape=None):
        return tuple(x_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_heads": self.num_heads,
            "ffn_units": self.ffn_units,
            "dropout": self.dropout,
            "cross": self.cross,
        }


class SequenceFusion(Fusion):
    """Base of fusions over per-modality token sequences: projection, positions, presence.

    A `(batch, dim)` vector input is read as a single token, so these fusions
    also run on models built without `sequences=True`.

    Args:
        units: model width every modality is projected to.
        num_heads: attention heads.
        num_layers: transformer blocks (per modality pair for cross-attention).
        dropout: dropout in the blocks and on the embedded tokens.
        positions: "learned" (an embedding per step and modality; needs a
            known number of steps) or "sinusoidal" (Vaswani et al. 2017).
    """

    def __init__(self, units=64, num_heads=4, num_layers=2, dropout=0.1, positions="learned", **kwargs):
        super().__init__(**kwargs)
        if positions not in ("learned", "sinusoidal"):
            raise ValueError(f"positions must be 'learned' or 'sinusoidal'; received {positions!r}.")
        self.units = units
        self.num_heads = num_heads
        self.num_layers = num_layers
        self.dropout = dropout
        self.positions = positions
        self.token_dropout = keras.layers.Dropout(dropout)

    def _token_shapes(self, input_shape):
        shapes = []
        for name in sorted(input_shape):
            shape = tuple(input_shape[name])
            if len(shape) not in (2, 3):
                raise ValueError(
                    f"Fusion '{self.name}' expects token sequences (batch, steps, dim) or vectors "
                    f"(batch, dim) per input; input '{name}' has shape {shape}."
                )
            shapes.append(shape if len(shape) == 3 else (shape[0], 1, shape[1]))
        return shapes

    def _build_projections(self, input_shape):
        self.modality_names = sorted(input_shape)
        self.token_shapes = self._token_shapes(input_shape)
        self.projections, self.position_embeddings = [], []
        for name, shape in zip(self.modality_names, self.token_shapes):
            layer = keras.layers.Dense(self.units, name=f"{name}_projection")
            layer.build(shape)
            self.projections.append(layer)
            if self.positions == "learned":
                if shape[1] is None:
                    raise ValueError(
                        f"Fusion '{self.name}' learns a position embedding per step, but input '{name}' has "
                        f"an unknown number of steps {shape}. Pass positions='sinusoidal'."
                    )
                # on the tokens' scale (not BERT's 0.02): position-dependent features (which image
                # column, which mel band) are then visible from the first step; with 0.02 the XOR
                # test sat at chance for most of its epochs
                self.position_embeddings.append(
                    self.add_weight(
                        shape=(shape[1], self.units),
                        initializer=keras.initializers.RandomNormal(stddev=0.5),
                        name=f"{name}_positions",
                    )
                )

    def embed(self, inputs, training=None):
        """Projected tokens `(batch, steps_m, units)` plus positions, sorted by name."""
        if sorted(inputs) != self.modality_names:
            raise ValueError(
                f"Fusion '{self.name}' was built for inputs {self.modality_names}; received {sorted(inputs)}."
            )
        tokens = []
        for i, (x, projection) in enumerate(zip(self.ordered(inputs), self.projections)):
            if len(x.shape) == 2:
                x = ops.expand_dims(x, 1)
            h = projection(x)
            if self.positions == "learned":
                h = h + ops.cast(self.position_embeddings[i], h.dtype)[None]
            else:
                h = h + sinusoidal_positions(ops.shape(h)[1], self.units, h.dtype)[None]
            tokens.append(self.token_dropout(h, training=training))
        return tokens

    @staticmethod
    def token_mask(tokens, present):
        """`(batch, steps)` bool key mask from a `(batch,)` float presence column."""
        return (ops.ones_like(tokens[:, :, 0], dtype="float32") * present[:, None]) > 0

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_heads": self.num_heads,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "positions": self.positions,
        }
