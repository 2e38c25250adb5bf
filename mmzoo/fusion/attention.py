"""Attention-weighted sum of modality feature vectors (additive attention over modalities)."""

import keras
from keras import ops

from mmzoo.fusion.base import Fusion
from mmzoo.fusion.blocks import presence_matrix, softmax
from mmzoo.registry import register_fusion


@register_fusion(
    "attention",
    inputs="vectors",
    paper="Hori et al. 2017, Attention-Based Multimodal Fusion for Video Description; "
    "additive attention of Bahdanau et al. 2015",
)
class AttentionFusion(Fusion):
    """Softmax-weighted sum over modalities of their projected feature vectors.

    Papers: Hori et al. 2017, "Attention-Based Multimodal Fusion for Video
    Description" (ICCV), with the additive (Bahdanau et al. 2015) scoring.
    Each modality vector `x_m` (`(batch, d_m)`, sizes may differ) is projected
    to `h_m = W_m x_m + b_m` (`units`); a scoring MLP shared by all modalities
    gives `e_m = v^T tanh(W h_m + U q + b) + c`; the weights
    `a = softmax_m(e)` are computed in float32 over modalities in sorted-name
    order, and the output is `sum_m a_m h_m`.

    The query `q` plays the role of Hori et al.'s decoder state: with
    `query="context"` (default) it is the mean of the present modalities'
    projections, so how much each modality counts depends on the whole
    sample (this is what lets the layer model interactions such as the
    XOR of two modalities); `query=None` scores each modality on its own
    (`e_m = v^T tanh(W h_m + b) + c`).

    `v` starts at zero, so training starts from uniform weights (the mean of
    the projections). A random `v` lets wide layers start with almost all
    weight on one modality; on data where no modality is informative alone
    (the XOR test) the others then get no gradient and training stalls at
    chance.

    With `presence`, an absent modality gets weight exactly 0 (the others are
    renormalised); a sample with no modality present gets zero weights and a
    zero output.

    Args:
        units: size of the projections and of the scoring MLP's hidden layer.
        return_weights: also return the attention weights, for inspection.
        query: "context" (default) or None, see above.

    Returns:
        `(batch, units)`, or `(fused, weights)` with `weights` float32
        `(batch, num_modalities)` in sorted-name order when `return_weights`.

    Example:
        >>> import numpy as np
        >>> fusion = AttentionFusion(units=4, return_weights=True)
        >>> fused, weights = fusion({"b": np.ones((2, 3), "float32"), "a": np.zeros((2, 5), "float32")})
        >>> tuple(fused.shape), tuple(weights.shape)
        ((2, 4), (2, 2))
        >>> np.allclose(weights.numpy().sum(axis=1), 1.0)
        True
    """

    def __init__(self, units=64, return_weights=False, query="context", **kwargs):
        super().__init__(**kwargs)
        if query not in ("context", None):
            raise ValueError(f"Fusion '{self.name}' (attention): query must be 'context' or None; received {query!r}.")
        self.units = units
        self.return_weights = return_weights
        self.query = query
        self.score_hidden = keras.layers.Dense(units, name="score_hidden")
        self.query_projection = keras.layers.Dense(units, use_bias=False, name="query") if query else None
        self.score_out = keras.layers.Dense(1, kernel_initializer="zeros", name="score")

    def build(self, input_shape):
        self.modality_names = sorted(input_shape)
        self.projections = []
        for name, shape in zip(self.modality_names, self.ordered_shapes(input_shape)):
            if len(shape) != 2:
                raise ValueError(
                    f"Fusion '{self.name}' (attention) expects feature vectors (batch, dim); input "
                    f"'{name}' has shape {shape}. For token sequences use fusion='cross_attention' or "
                    f"'transformer', or build the model without sequences=True."
                )
            layer = keras.layers.Dense(self.units, name=f"{name}_projection")
            layer.build(shape)
            self.projections.append(layer)
        self.score_hidden.build((None, self.units))
        if self.query_projection is not None:
            self.query_projection.build((None, self.units))
        self.score_out.build((None, self.units))

    def call(self, inputs, presence=None):
        if sorted(inputs) != self.modality_names:
            raise ValueError(
                f"Fusion '{self.name}' was built for inputs {self.modality_names}; received {sorted(inputs)}."
            )
        projected = ops.stack([p(x) for p, x in zip(self.projections, self.ordered(inputs))], axis=1)
        present = presence_matrix(self, inputs, presence)
        hidden = self.score_hidden(projected)  # (batch, M, units)
        if self.query_projection is not None:
            if present is None:
                context = ops.mean(projected, axis=1)
            else:  # mean over the present modalities only; zeros when none is present
                mask = ops.cast(present, projected.dtype)[..., None]
                count = ops.maximum(ops.sum(mask, axis=1), ops.cast(1, projected.dtype))
                context = ops.sum(projected * mask, axis=1) / count
            hidden = hidden + self.query_projection(context)[:, None, :]
        scores = ops.cast(self.score_out(ops.tanh(hidden))[..., 0], "float32")  # (batch, M)
        if present is not None:
            scores = ops.where(present > 0, scores, -1e9)
        weights = softmax(scores, axis=-1)
        if present is not None:  # exact zeros for absent modalities, and for samples with none present
            weights = weights * ops.cast(present > 0, "float32")
        fused = ops.sum(projected * ops.cast(weights, projected.dtype)[..., None], axis=1)
        return (fused, weights) if self.return_weights else fused

    def compute_output_shape(self, input_shape):
        batch = next(iter(input_shape.values()))[0]
        if self.return_weights:
            return (batch, self.units), (batch, len(input_shape))
        return (batch, self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "return_weights": self.return_weights, "query": self.query}
