"""Transformer fusions over token sequences: MulT-style cross-modal attention and an early-fusion encoder."""

import keras
from keras import ops

from mmzoo.fusion.blocks import SequenceFusion, TransformerBlock, presence_matrix
from mmzoo.registry import register_fusion


@register_fusion(
    "cross_attention",
    inputs="sequences",
    paper="Tsai et al. 2019, Multimodal Transformer for Unaligned Multimodal Language Sequences (MulT)",
)
class CrossModalAttentionFusion(SequenceFusion):
    """MulT cross-modal transformers: every modality attends to every other one.

    Paper: Tsai et al. 2019, "Multimodal Transformer for Unaligned Multimodal
    Language Sequences" (ACL). Each modality's tokens `(batch, steps_m, dim_m)`
    (steps and dims may differ; a `(batch, dim)` vector is one token) are
    projected to `units` and given positions (learned per step, or
    sinusoidal). For every ordered
    pair (target t, source s != t) a stack of `num_layers` pre-LN cross-modal
    blocks lets t's tokens query s's tokens (keys and values from s), followed
    by a LayerNorm; each pair's output is pooled over t's steps, and the
    pooled pairs are concatenated in sorted-name order (t, then s). There is
    no final projection: the task head reads the concatenation.

    With `presence`, an absent source's tokens are masked out of the keys
    (the pair then adds nothing to t's tokens but the feed-forward) and an
    absent target's pooled outputs are zeroed; with no modality present the
    output is zero.

    Args:
        units: width every modality is projected to.
        num_heads: attention heads (divide `units`).
        num_layers: cross-modal blocks per modality pair (MulT used 4-5; the
            default is 1 because there are M * (M - 1) stacks: the `mult`
            preset uses 2).
        dropout: dropout on embedded tokens and inside the blocks.
        positions: "learned" (per step and modality; needs known steps) or "sinusoidal".
        pooling: "mean" over the target's steps, or "last" (MulT's last element).

    Returns:
        `(batch, M * (M - 1) * units)` for M modalities (at least two).

    Example:
        >>> import numpy as np
        >>> fusion = CrossModalAttentionFusion(units=8, num_heads=2, num_layers=1)
        >>> tuple(fusion({"a": np.zeros((2, 5, 3), "float32"), "b": np.ones((2, 7, 4), "float32")}).shape)
        (2, 16)
    """

    def __init__(self, units=64, num_heads=4, num_layers=1, dropout=0.1, positions="learned", pooling="mean", **kwargs):
        super().__init__(
            units=units, num_heads=num_heads, num_layers=num_layers, dropout=dropout, positions=positions, **kwargs
        )
        if pooling not in ("mean", "last"):
            raise ValueError(f"cross_attention pooling must be 'mean' or 'last'; received {pooling!r}.")
        self.pooling = pooling

    def _pairs(self):
        count = len(self.modality_names)
        return [(t, s) for t in range(count) for s in range(count) if s != t]

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                f"Fusion '{self.name}' (cross_attention) needs at least two inputs to attend across; "
                f"received {sorted(input_shape)}. Use fusion='transformer' or 'concat' for one input."
            )
        self._build_projections(input_shape)
        names = self.modality_names
        self.pair_blocks, self.pair_norms = [], []
        for t, s in self._pairs():
            shape_t = self.token_shapes[t][:2] + (self.units,)
            shape_s = self.token_shapes[s][:2] + (self.units,)
            blocks = []
            for i in range(self.num_layers):
                block = TransformerBlock(
                    self.units,
                    self.num_heads,
                    dropout=self.dropout,
                    cross=True,
                    name=f"{names[t]}_from_{names[s]}_block{i}",
                )
                block.build(shape_t, shape_s)
                blocks.append(block)
            norm = keras.layers.LayerNormalization(epsilon=1e-5, name=f"{names[t]}_from_{names[s]}_norm")
            norm.build(shape_t)
            self.pair_blocks.append(blocks)
            self.pair_norms.append(norm)

    def call(self, inputs, presence=None, training=None):
        tokens = self.embed(inputs, training=training)
        present = presence_matrix(self, inputs, presence)
        outputs = []
        for (t, s), blocks, norm in zip(self._pairs(), self.pair_blocks, self.pair_norms):
            mask = None if present is None else self.token_mask(tokens[s], present[:, s])
            z = tokens[t]
            for block in blocks:
                z = block(z, context=tokens[s], key_mask=mask, training=training)
            z = norm(z)
            z = ops.mean(z, axis=1) if self.pooling == "mean" else z[:, -1]
            if present is not None:
                z = z * ops.cast(present[:, t : t + 1], z.dtype)
            outputs.append(z)
        return ops.concatenate(outputs, axis=-1)

    def compute_output_shape(self, input_shape):
        count = len(input_shape)
        batch = next(iter(input_shape.values()))[0]
        return (batch, count * (count - 1) * self.units)

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling}


@register_fusion(
    "transformer",
    inputs="sequences",
    paper="early-fusion transformer with a [CLS] token: Devlin et al. 2019 (BERT); "
    "e.g. VisualBERT (Li et al. 2019), Nagrani et al. 2021",
)
class TransformerFusion(SequenceFusion):
    """Early-fusion transformer: all modalities' tokens in one sequence, read out at a [CLS] token.

    Papers: Vaswani et al. 2017 (encoder), Devlin et al. 2019 (BERT's [CLS]
    token and segment/type embeddings), as used for multimodal early fusion by
    VisualBERT (Li et al. 2019) and the single-stream baselines of Nagrani et
    al. 2021 ("Attention Bottlenecks for Multimodal Fusion"). Each modality's
    tokens are projected to `units` and get positions (learned per step, or
    sinusoidal) plus a learned modality (type) embedding; a learned [CLS] token is prepended,
    everything is concatenated in sorted-name order, `num_layers` pre-LN
    self-attention blocks run over it, and the LayerNormed [CLS] token is
    the output.

    With `presence`, an absent modality's tokens are masked out of the keys
    (no token attends to them); with no modality present the output is zero.

    Args:
        units: model width.
        num_heads: attention heads (divide `units`).
        num_layers: self-attention blocks.
        dropout: dropout on embedded tokens and inside the blocks.
        positions: "learned" (per step and modality; needs known steps) or "sinusoidal".

    Returns:
        `(batch, units)`.

    Example:
        >>> import numpy as np
        >>> fusion = TransformerFusion(units=8, num_heads=2, num_layers=1)
        >>> tuple(fusion({"a": np.zeros((2, 5, 3), "float32"), "b": np.ones((2, 4), "float32")}).shape)
        (2, 8)
    """

    def build(self, input_shape):
        self._build_projections(input_shape)
        count = len(self.modality_names)
        self.modality_embedding = self.add_weight(
            shape=(count, self.units),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="modality_embedding",
        )
        self.cls_token = self.add_weight(
            shape=(1, 1, self.units), initializer=keras.initializers.RandomNormal(stddev=0.02), name="cls_token"
        )
        steps = (
            1 + sum(shape[1] for shape in self.token_shapes)
            if all(shape[1] is not None for shape in self.token_shapes)
            else None
        )
        self.blocks = []
        for i in range(self.num_layers):
            block = TransformerBlock(self.units, self.num_heads, dropout=self.dropout, name=f"block{i}")
            block.build((None, steps, self.units))
            self.blocks.append(block)
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.final_norm.build((None, self.units))

    def call(self, inputs, presence=None, training=None):
        tokens = self.embed(inputs, training=training)
        present = presence_matrix(self, inputs, presence)
        dtype = tokens[0].dtype
        types = ops.cast(self.modality_embedding, dtype)
        sequence = [ops.ones_like(tokens[0][:, :1, :1]) * ops.cast(self.cls_token, dtype)]
        masks = [ops.ones_like(tokens[0][:, :1, 0], dtype="bool")]
        for i, h in enumerate(tokens):
            sequence.append(h + types[i])
            if present is not None:
                masks.append(self.token_mask(h, present[:, i]))
        x = ops.concatenate(sequence, axis=1)
        mask = None if present is None else ops.concatenate(masks, axis=1)
        for block in self.blocks:
            x = block(x, key_mask=mask, training=training)
        out = self.final_norm(x[:, 0])
        if present is not None:
            out = out * ops.cast(ops.max(present, axis=1, keepdims=True) > 0, out.dtype)
        return out

    def compute_output_shape(self, input_shape):
        batch = next(iter(input_shape.values()))[0]
        return (batch, self.units)
