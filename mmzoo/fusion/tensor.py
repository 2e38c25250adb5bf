"""Tensor fusion (TFN) and its low-rank factorisation (LMF) of modality vectors."""

import functools
import math

from keras import ops

from mmzoo.fusion.base import Fusion
from mmzoo.fusion.weighted import ProjectedFusion, presence_mask, zero_absent
from mmzoo.registry import register_fusion


def augmented(xs, mask):
    """`[x_m; 1]` per modality (absent modalities zeroed first, leaving `[0; 1]`)."""
    return [ops.concatenate([x, ops.ones_like(x[:, :1])], axis=-1) for x in zero_absent(xs, mask)]


@register_fusion(
    "tfn", inputs="vectors", paper="Zadeh et al. 2017, Tensor Fusion Network for Multimodal Sentiment Analysis (EMNLP)"
)
class TensorFusion(ProjectedFusion):
    """Tensor Fusion Network: the flattened outer product of the modality vectors, each extended by 1.

    Implements the fusion layer of Zadeh, Chen, Poria, Cambria & Morency
    2017, "Tensor Fusion Network for Multimodal Sentiment Analysis":
    `z = flatten([h_1; 1] ⊗ [h_2; 1] ⊗ ... ⊗ [h_M; 1])`, modalities in
    sorted-name order, computed in float32. The appended 1 keeps every
    unimodal and lower-order interaction term in `z`; an absent modality
    (with `presence`) is zeroed to `[0; 1]`, leaving exactly the terms of the
    present ones.

    The output has `prod_m (d_m + 1)` features, which grows fast (three
    128-d modalities give 2.1 million, and the next Dense layer multiplies
    that by its units). `units` first projects each modality linearly to
    `units` features, giving `(units + 1) ** M`. A product above `max_size`
    is an error naming the sizes.

    Args:
        units: optional size each modality is projected to first; None
            uses the features as they are.
        max_size: largest output size allowed.
        use_bias: the projections have a bias.

    Returns:
        `(batch, prod_m (d_m + 1))` features.

    Example:
        >>> import numpy as np
        >>> f = TensorFusion()
        >>> tuple(f({"a": np.ones((2, 3), "float32"), "b": np.ones((2, 4), "float32")}).shape)
        (2, 20)
    """

    def __init__(self, units=None, max_size=1_000_000, use_bias=True, **kwargs):
        super().__init__(units=units, use_bias=use_bias, **kwargs)
        self.max_size = int(max_size)

    def projected_size(self, dims):
        return self.units

    def fused_size(self, input_shape):
        """Output size for `input_shape`; raises if it exceeds `max_size`."""
        names = sorted(input_shape)
        dims = [s[-1] for s in self.ordered_shapes(input_shape)]
        sizes = [(self.units if self.units is not None else d) + 1 for d in dims]
        size = math.prod(sizes)
        if size > self.max_size:
            fits = max(1, int(round(self.max_size ** (1 / len(sizes)))) - 1)
            while (fits + 1) ** len(sizes) > self.max_size and fits > 1:
                fits -= 1
            product = " x ".join(f"{n} ({s})" for n, s in zip(names, sizes))
            raise ValueError(
                f"TFN '{self.name}' would output {size:,} features (the outer product of "
                f"{product}; each size is the feature size + 1), more than max_size={self.max_size:,}. "
                f"Pass units= to project each modality first, e.g. units={min(fits, 64)} gives "
                f"{(min(fits, 64) + 1) ** len(sizes):,} features, or raise max_size."
            )
        return size

    def build(self, input_shape):
        self.fused_size(input_shape)
        super().build(input_shape)

    def call(self, inputs, presence=None):
        xs = self.ordered(inputs)
        mask = presence_mask(xs, self.ordered_presence(inputs, presence))
        factors = [ops.cast(a, "float32") for a in augmented(self.project_all(xs), mask)]

        def outer(z, a):
            return ops.reshape(z[:, :, None] * a[:, None, :], (-1, z.shape[-1] * a.shape[-1]))

        return ops.cast(functools.reduce(outer, factors), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(self.ordered_shapes(input_shape)[0][:-1]) + (self.fused_size(input_shape),)

    def get_config(self):
        return {**super().get_config(), "max_size": self.max_size}


@register_fusion(
    "lmf",
    inputs="vectors",
    paper="Liu et al. 2018, Efficient Low-rank Multimodal Fusion with Modality-Specific Factors (ACL)",
)
class LowRankFusion(Fusion):
    """Low-rank Multimodal Fusion: TFN's weight tensor factorised into rank-`r` modality factors.

    Implements Liu, Shen, Lakshminarasimhan, Liang, Zadeh & Morency 2018,
    "Efficient Low-rank Multimodal Fusion with Modality-Specific Factors":
    each modality has a factor `W_m` of shape `(rank, d_m + 1, units)` and

        h = sum_{i=1..rank} lambda_i * prod_m ([x_m; 1] . W_m^(i)) + b,

    which equals a linear layer on TFN's outer product whose weight tensor
    has rank `rank`, at a cost linear in the number of modalities. The
    projections run in the compute dtype, the product over modalities and
    the rank sum in float32. An absent modality (with `presence`) is zeroed
    to `[0; 1]`, as in TFN.

    Args:
        rank: rank `r` of the factorisation.
        units: output size; None takes the largest input size.

    Returns:
        `(batch, units)` features.

    Example:
        >>> import numpy as np
        >>> f = LowRankFusion(rank=2, units=6)
        >>> tuple(f({"a": np.ones((2, 3), "float32"), "b": np.ones((2, 4), "float32")}).shape)
        (2, 6)
    """

    def __init__(self, rank=4, units=None, **kwargs):
        super().__init__(**kwargs)
        if int(rank) < 1:
            raise ValueError(f"LMF rank must be a positive int; received {rank}.")
        self.rank = int(rank)
        self.units = None if units is None else int(units)

    def _units(self, dims):
        return self.units if self.units is not None else max(dims)

    def build(self, input_shape):
        names = sorted(input_shape)
        dims = [s[-1] for s in self.ordered_shapes(input_shape)]
        self.output_units = self._units(dims)
        self.factors = [
            self.add_weight(
                shape=(self.rank, d + 1, self.output_units), initializer="glorot_normal", name=f"{n}_factor"
            )
            for n, d in zip(names, dims)
        ]
        self.rank_weights = self.add_weight(shape=(self.rank,), initializer="ones", name="rank_weights", autocast=False)
        self.bias = self.add_weight(shape=(self.output_units,), initializer="zeros", name="bias", autocast=False)

    def call(self, inputs, presence=None):
        xs = self.ordered(inputs)
        mask = presence_mask(xs, self.ordered_presence(inputs, presence))
        per_modality = [
            ops.cast(ops.einsum("bd,rdu->bru", a, w), "float32") for a, w in zip(augmented(xs, mask), self.factors)
        ]
        product = functools.reduce(ops.multiply, per_modality)
        out = ops.einsum("r,bru->bu", self.rank_weights, product) + self.bias
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        shapes = self.ordered_shapes(input_shape)
        return tuple(shapes[0][:-1]) + (self._units([s[-1] for s in shapes]),)

    def get_config(self):
        return {**super().get_config(), "rank": self.rank, "units": self.units}
