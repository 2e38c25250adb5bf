"""Gated Multimodal Unit (GMU) fusion of modality vectors."""

from keras import ops

from mmzoo.fusion.weighted import ProjectedFusion, add_projection, masked_softmax, presence_mask, project, zero_absent
from mmzoo.registry import register_fusion


@register_fusion(
    "gmu", inputs="vectors", paper="Arevalo et al. 2017, Gated Multimodal Units for Information Fusion (ICLR workshop)"
)
class GatedMultimodalUnit(ProjectedFusion):
    """Gated Multimodal Unit: per-unit gates choose how much each modality contributes.

    Implements Arevalo, Solorio, Montes-y-Gomez & Gonzalez 2017, "Gated
    Multimodal Units for Information Fusion". With two modalities `v`, `t`
    (the first and second in sorted-name order) it is exactly the paper's
    unit:

        h_v = tanh(W_v x_v),  h_t = tanh(W_t x_t),
        z = sigmoid(W_z [x_v; x_t]),  h = z * h_v + (1 - z) * h_t.

    With M > 2 modalities it uses the paper's general form, one gate per
    modality computed from all inputs, normalised per unit over the
    modalities: `z = softmax_m(W_z^m [x_1; ...; x_M])`, `h = sum_m z_m * h_m`
    (for M = 2 this is the sigmoid form, as `sigmoid(a) = softmax([a, 0])_0`).
    With `presence`, absent modalities' features are zeroed and their gates
    masked out, the rest renormalised. Gates and the gated sum are float32.

    Args:
        units: size of the hidden representations `h_m` and of the output;
            None takes the largest input size.
        use_bias: the projections and gates have a bias (the paper writes
            its equations without; `use_bias=False` is literally them).

    Returns:
        `(batch, units)` features.

    Example:
        >>> import numpy as np
        >>> f = GatedMultimodalUnit(units=8)
        >>> tuple(f({"text": np.ones((2, 3), "float32"), "image": np.ones((2, 5), "float32")}).shape)
        (2, 8)
    """

    def projected_size(self, dims):
        return self.units if self.units is not None else max(dims)

    def build(self, input_shape):
        super().build(input_shape)
        dims = [s[-1] for s in self.ordered_shapes(input_shape)]
        self.num_gates = 1 if len(dims) == 2 else len(dims)
        self.gate = add_projection(self, "gate", sum(dims), self.num_gates * self.output_units, self.use_bias)

    def gates(self, inputs, presence=None):
        """The gates `(batch, M, units)` (float32, sum to 1 over modalities)."""
        xs = self.ordered(inputs)
        mask = presence_mask(xs, self.ordered_presence(inputs, presence))
        return self._gates(zero_absent(xs, mask), mask)

    def _gates(self, xs, mask):
        logits = ops.cast(project(ops.concatenate(xs, axis=-1), self.gate), "float32")
        if len(xs) == 2:
            logits = ops.stack([logits, ops.zeros_like(logits)], axis=1)
        else:
            logits = ops.reshape(logits, (-1, self.num_gates, self.output_units))
        return masked_softmax(logits, None if mask is None else mask[:, :, None], axis=1)

    def call(self, inputs, presence=None):
        xs = self.ordered(inputs)
        mask = presence_mask(xs, self.ordered_presence(inputs, presence))
        xs = zero_absent(xs, mask)
        hidden = ops.stack([ops.cast(ops.tanh(h), "float32") for h in self.project_all(xs)], axis=1)
        return ops.cast(ops.sum(self._gates(xs, mask) * hidden, axis=1), self.compute_dtype)
