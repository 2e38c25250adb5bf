"""Multimodal factorized bilinear (MFB) and high-order (MFH) pooling of modality vectors."""

import functools

import keras
from keras import ops

from mmzoo.fusion.base import Fusion
from mmzoo.fusion.weighted import add_projection, presence_mask, project
from mmzoo.registry import register_fusion

EPSILON = 1e-12


def power_l2_normalize(z):
    """`sign(z) * sqrt(|z|)` then L2 normalisation over the last axis, in float32.

    The square root is taken as `sqrt(|z| + eps) - sqrt(eps)` (eps = 1e-12)
    so its gradient stays finite at 0.
    """
    z = ops.cast(z, "float32")
    z = ops.sign(z) * (ops.sqrt(ops.abs(z) + EPSILON) - EPSILON**0.5)
    return z / ops.sqrt(ops.maximum(ops.sum(ops.square(z), axis=-1, keepdims=True), EPSILON))


class FactorizedPooling(Fusion):
    """Shared core of MFB (`order=1`) and MFH (`order=p`): cascaded factorized bilinear blocks.

    Block `i` projects every modality to `factor * units` features
    (`U_i^T x`, `V_i^T y`, ...), multiplies them elementwise together and by
    the previous block's expanded product (dropout applied to the result,
    which is passed on), sum-pools each group of `factor` consecutive
    features to `units`, and power- and L2-normalises. The blocks' outputs
    are concatenated. Everything after the projections is float32.
    """

    def __init__(self, units=256, factor=5, order=1, dropout=0.1, use_bias=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("units", units), ("factor", factor), ("order", order)):
            if int(value) < 1:
                raise ValueError(f"{type(self).__name__} {arg} must be a positive int; received {value}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{type(self).__name__} dropout must be in [0, 1); received {dropout}.")
        self.units = int(units)
        self.factor = int(factor)
        self.order = int(order)
        self.dropout = dropout
        self.use_bias = use_bias
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        names = sorted(input_shape)
        dims = [s[-1] for s in self.ordered_shapes(input_shape)]
        self.blocks = [
            [
                add_projection(self, f"{n}_block{i}", d, self.factor * self.units, self.use_bias)
                for n, d in zip(names, dims)
            ]
            for i in range(self.order)
        ]

    def expanded(self, xs, block, mask):
        """Elementwise product of the block's projections (float32); absent modalities give 1."""
        factors = []
        for m, (x, projection) in enumerate(zip(xs, block)):
            f = ops.cast(project(x, projection), "float32")
            if mask is not None:
                f = ops.where(mask[:, m : m + 1] > 0, f, ops.ones_like(f))
            factors.append(f)
        return functools.reduce(ops.multiply, factors)

    def call(self, inputs, presence=None, training=None):
        xs = self.ordered(inputs)
        mask = presence_mask(xs, self.ordered_presence(inputs, presence))
        outputs, previous = [], None
        for block in self.blocks:
            expanded = self.expanded(xs, block, mask)
            if previous is not None:
                expanded = expanded * previous
            if training and self.dropout > 0:
                expanded = keras.random.dropout(expanded, self.dropout, seed=self.seed_generator)
            previous = expanded
            pooled = ops.sum(ops.reshape(expanded, (-1, self.units, self.factor)), axis=-1)
            outputs.append(power_l2_normalize(pooled))
        out = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=-1)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(self.ordered_shapes(input_shape)[0][:-1]) + (self.units * self.order,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "factor": self.factor,
            "order": self.order,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "seed": self.seed,
        }


@register_fusion(
    "mfb",
    inputs="vectors",
    paper="Yu et al. 2017, Multi-modal Factorized Bilinear Pooling with Co-Attention Learning "
    "for Visual Question Answering (ICCV)",
)
class MultimodalFactorizedBilinear(FactorizedPooling):
    """Multimodal Factorized Bilinear pooling (MFB).

    Implements Yu, Yu, Fan & Tao 2017, "Multi-modal Factorized Bilinear
    Pooling with Co-Attention Learning for Visual Question Answering". For
    two modalities `x`, `y` (sorted-name order):

        z = SumPool_k((U^T x) ∘ (V^T y)),  z <- sign(z) sqrt(|z|),  z <- z / ||z||,

    with `U`, `V` projecting to `k * o` features, dropout on the product
    (training only), the normalisations in float32. With more than two
    modalities the elementwise product runs over all projected modalities
    (`(U^T x) ∘ (V^T y) ∘ (W^T w) ...`, a factorized multilinear pooling);
    an absent modality (with `presence`) contributes a factor of 1, so the
    product runs over the present ones.

    Args:
        units: output size `o`.
        factor: factor `k`: each projection has `k * o` features.
        dropout: dropout rate on the expanded product.
        use_bias: the projections have a bias.
        seed: dropout seed.

    Returns:
        `(batch, units)` features of unit L2 norm.

    Example:
        >>> import numpy as np
        >>> f = MultimodalFactorizedBilinear(units=8, factor=3)
        >>> tuple(f({"a": np.ones((2, 3), "float32"), "b": np.ones((2, 5), "float32")}).shape)
        (2, 8)
    """

    def __init__(self, units=256, factor=5, dropout=0.1, use_bias=True, seed=None, **kwargs):
        kwargs.pop("order", None)
        super().__init__(units=units, factor=factor, order=1, dropout=dropout, use_bias=use_bias, seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["order"]
        return config


@register_fusion(
    "mfh",
    inputs="vectors",
    paper="Yu et al. 2018, Beyond Bilinear: Generalized Multimodal Factorized High-Order Pooling "
    "for Visual Question Answering (IEEE TNNLS)",
)
class MultimodalFactorizedHighOrder(FactorizedPooling):
    """Multimodal Factorized High-order pooling (MFH): `order` cascaded MFB blocks, concatenated.

    Implements Yu, Yu, Xiang, Fan & Tao 2018, "Beyond Bilinear: Generalized
    Multimodal Factorized High-order Pooling for Visual Question Answering":

        z_exp^i = Dropout((U_i^T x) ∘ (V_i^T y) ∘ z_exp^(i-1)),  z_exp^0 = 1,
        z^i = normalise(SumPool_k(z_exp^i)),  z = [z^1; ...; z^p],

    each block with its own projections, `normalise` being the power and L2
    normalisation of MFB (float32). More than two modalities and `presence`
    are handled as in MFB.

    Args:
        units: output size `o` of each block.
        factor: factor `k`.
        order: number of blocks `p`.
        dropout: dropout rate on each expanded product.
        use_bias: the projections have a bias.
        seed: dropout seed.

    Returns:
        `(batch, order * units)` features.

    Example:
        >>> import numpy as np
        >>> f = MultimodalFactorizedHighOrder(units=8, factor=3, order=2)
        >>> tuple(f({"a": np.ones((2, 3), "float32"), "b": np.ones((2, 5), "float32")}).shape)
        (2, 16)
    """

    def __init__(self, units=256, factor=5, order=2, dropout=0.1, use_bias=True, seed=None, **kwargs):
        super().__init__(
            units=units, factor=factor, order=order, dropout=dropout, use_bias=use_bias, seed=seed, **kwargs
        )
