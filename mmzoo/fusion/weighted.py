"""Weighted-sum and additive fusion of projected modality vectors, and the vector-fusion helpers.

Besides `weighted_sum` and `additive`, this module holds the small mechanisms
the vector fusions share (`gated.py`, `tensor.py`, `bilinear.py`, `late.py`):
per-modality projections, presence as a `(batch, modalities)` mask, and a
presence-masked softmax computed in float32.
"""

import functools

from keras import ops

from mmzoo.fusion.base import Fusion
from mmzoo.registry import register_fusion


def add_projection(layer, name, in_dim, units, use_bias=True):
    """Adds a Dense-like `(kernel, bias)` pair to `layer` (bias None without `use_bias`)."""
    kernel = layer.add_weight(shape=(int(in_dim), int(units)), initializer="glorot_uniform", name=f"{name}_kernel")
    bias = layer.add_weight(shape=(int(units),), initializer="zeros", name=f"{name}_bias") if use_bias else None
    return kernel, bias


def project(x, projection):
    """`x @ kernel + bias` for a pair from `add_projection`."""
    kernel, bias = projection
    y = ops.matmul(x, kernel)
    return y if bias is None else y + bias


def presence_mask(xs, presence):
    """Presence aligned with `xs` as a `(batch, len(xs))` float32 mask; None when none was given.

    Args:
        xs: modality tensors in sorted-name order.
        presence: the list from `Fusion.ordered_presence` (None entries mean present).
    """
    if all(p is None for p in presence):
        return None
    columns = []
    for x, p in zip(xs, presence):
        if p is None:
            columns.append(ops.ones_like(ops.cast(x[:, 0], "float32")))
        else:
            columns.append(ops.reshape(ops.cast(p, "float32"), (-1,)))
    return ops.stack(columns, axis=1)


def zero_absent(xs, mask):
    """Zeroes each modality where `mask` (from `presence_mask`) is 0."""
    if mask is None:
        return list(xs)
    return [x * ops.cast(mask[:, i : i + 1], x.dtype) for i, x in enumerate(xs)]


def masked_softmax(logits, mask=None, axis=-1):
    """Softmax in float32 over `axis`, giving masked-out entries weight 0 and renormalising.

    Where every entry is masked the weights are all 0 (not NaN).
    """
    logits = ops.cast(logits, "float32")
    if mask is None:
        return ops.softmax(logits, axis=axis)
    mask = ops.cast(mask, "float32")
    weights = ops.softmax(ops.where(mask > 0, logits, -1e9), axis=axis) * mask
    return weights / ops.maximum(ops.sum(weights, axis=axis, keepdims=True), 1e-12)


def modality_softmax(logits, mask=None):
    """Weights from `(M,)` per-modality logits: `(M,)`, or `(batch, M)` renormalised under `mask`."""
    logits = ops.cast(logits, "float32")
    if mask is None:
        return ops.softmax(logits)
    return masked_softmax(ops.broadcast_to(logits[None, :], ops.shape(mask)), mask)


def weighted_combination(xs, logits, mask=None):
    """`sum_m softmax(logits)_m * x_m` over modalities, in float32; returns (output, weights).

    Args:
        xs: M tensors `(batch, dim)` of equal size.
        logits: `(M,)` per-modality logits.
        mask: optional `(batch, M)` presence mask.
    """
    weights = modality_softmax(logits, mask)
    stacked = ops.stack([ops.cast(x, "float32") for x in xs], axis=1)
    per_example = weights if mask is not None else weights[None, :]
    return ops.sum(stacked * per_example[:, :, None], axis=1), weights


class ProjectedFusion(Fusion):
    """Base of fusions that first project every modality to a common size `units`.

    With `units=None` modalities of equal size are used as they are, and
    modalities of different sizes are projected to the largest size.
    Projections are Dense-like weights per modality, in sorted-name order.

    Args:
        units: common feature size, or None (see above).
        use_bias: projections have a bias.
    """

    def __init__(self, units=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        if units is not None and int(units) < 1:
            raise ValueError(f"{type(self).__name__} units must be a positive int or None; received {units}.")
        self.units = None if units is None else int(units)
        self.use_bias = use_bias

    def projected_size(self, dims):
        """The common size, or None to use the features unprojected."""
        if self.units is not None:
            return self.units
        return None if len(set(dims)) == 1 else max(dims)

    def build(self, input_shape):
        names = sorted(input_shape)
        dims = [s[-1] for s in self.ordered_shapes(input_shape)]
        for name, dim in zip(names, dims):
            if dim is None:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}' needs a known feature size for "
                    f"input '{name}'; received shape {tuple(input_shape[name])}."
                )
        size = self.projected_size(dims)
        self.projections = None
        if size is not None:
            self.projections = [add_projection(self, f"{n}_proj", d, size, self.use_bias) for n, d in zip(names, dims)]
        self.output_units = size if size is not None else dims[0]

    def project_all(self, xs):
        if self.projections is None:
            return list(xs)
        return [project(x, p) for x, p in zip(xs, self.projections)]

    def compute_output_shape(self, input_shape):
        shapes = self.ordered_shapes(input_shape)
        dims = [s[-1] for s in shapes]
        size = self.projected_size(dims)
        return tuple(shapes[0][:-1]) + (size if size is not None else dims[0],)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias}


@register_fusion(
    "weighted_sum",
    inputs="vectors",
    paper="learned modality weights as in CentralNet, Vielzeuf et al. 2018 (ECCV workshops)",
)
class WeightedSumFusion(ProjectedFusion):
    """Softmax-weighted sum of projected modality features: `sum_m w_m * W_m x_m`.

    One learned scalar logit per modality (initialised equal); the weights
    `w = softmax(logits)` (float32) are non-negative and sum to 1. With
    `presence`, absent modalities get weight 0 and the softmax renormalises
    over the present ones, per example. Learned scalar modality weights
    follow CentralNet (Vielzeuf et al. 2018, "CentralNet: a Multilayer
    Approach for Multimodal Fusion"), normalised here with a softmax.

    Args:
        units: common size; None uses equal-size features as they are and
            projects different sizes to the largest.
        use_bias: projections have a bias.

    Returns:
        `(batch, units)` features.

    Example:
        >>> import numpy as np
        >>> f = WeightedSumFusion(units=4)
        >>> tuple(f({"a": np.ones((2, 3), "float32"), "b": np.ones((2, 5), "float32")}).shape)
        (2, 4)
    """

    def build(self, input_shape):
        super().build(input_shape)
        self.logits = self.add_weight(
            shape=(len(input_shape),), initializer="zeros", name="modality_logits", autocast=False
        )

    def modality_weights(self, inputs, presence=None):
        """The weights `(M,)`, or `(batch, M)` with presence, in sorted-name order."""
        xs = self.ordered(inputs)
        return modality_softmax(self.logits, presence_mask(xs, self.ordered_presence(inputs, presence)))

    def call(self, inputs, presence=None):
        xs = self.ordered(inputs)
        mask = presence_mask(xs, self.ordered_presence(inputs, presence))
        out, _ = weighted_combination(self.project_all(xs), self.logits, mask)
        return ops.cast(out, self.compute_dtype)


@register_fusion(
    "additive", inputs="vectors", paper="additive fusion, Baltrusaitis, Ahuja & Morency 2019 (survey, TPAMI)"
)
class AdditiveFusion(ProjectedFusion):
    """Sum of projected modality features: `sum_m W_m x_m` (absent modalities add 0).

    The plain additive joint representation of the multimodal survey of
    Baltrusaitis, Ahuja & Morency 2019 ("Multimodal Machine Learning: A
    Survey and Taxonomy").

    Args:
        units: common size; None uses equal-size features as they are and
            projects different sizes to the largest.
        use_bias: projections have a bias.

    Returns:
        `(batch, units)` features.

    Example:
        >>> import numpy as np
        >>> f = AdditiveFusion()
        >>> f({"a": np.ones((2, 3), "float32"), "b": np.ones((2, 3), "float32")}).numpy().tolist()
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    def call(self, inputs, presence=None):
        xs = self.ordered(inputs)
        mask = presence_mask(xs, self.ordered_presence(inputs, presence))
        return functools.reduce(ops.add, zero_absent(self.project_all(xs), mask))
