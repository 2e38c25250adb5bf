"""Late (decision-level) fusion: combining per-modality decisions."""

from keras import ops

from mmzoo.fusion.base import Fusion
from mmzoo.fusion.weighted import presence_mask, weighted_combination
from mmzoo.registry import register_fusion

MODES = ("mean", "learned")


@register_fusion(
    "late_fusion",
    inputs="decisions",
    paper="decision-level fusion; Snoek, Worring & Smeulders 2005, Early versus Late Fusion "
    "in Semantic Video Analysis (ACM MM)",
)
class LateFusion(Fusion):
    """Combines per-modality decisions (e.g. task logits) of equal size into one.

    Decision-level fusion as compared by Snoek, Worring & Smeulders 2005
    ("Early versus Late Fusion in Semantic Video Analysis"): each modality
    makes its own prediction and the predictions are combined.
    `mode="mean"` averages them; `mode="learned"` weights them with
    `softmax(logits)`, one learned logit per modality (initialised equal).
    With `presence`, absent modalities are excluded and the weights
    renormalised over the present ones, per example. Computed in float32.

    Args:
        mode: "mean" or "learned".

    Returns:
        `(batch, size)` combined decisions.

    Example:
        >>> import numpy as np
        >>> f = LateFusion()
        >>> f({"a": np.zeros((1, 2), "float32"), "b": np.full((1, 2), 2.0, "float32")}).numpy().tolist()
        [[1.0, 1.0]]
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"LateFusion mode must be one of {MODES}; received {mode!r}.")
        self.mode = mode

    def build(self, input_shape):
        sizes = {name: tuple(shape)[-1] for name, shape in sorted(input_shape.items())}
        if len(set(sizes.values())) != 1:
            listed = ", ".join(f"{n}: {s}" for n, s in sizes.items())
            raise ValueError(
                f"Late fusion '{self.name}' combines decisions of equal size; received {listed}. Give "
                f"every modality the same output head (e.g. the task's logits)."
            )
        self.logits = None
        if self.mode == "learned":
            self.logits = self.add_weight(
                shape=(len(sizes),), initializer="zeros", name="modality_logits", autocast=False
            )

    def modality_logits(self, count):
        return self.logits if self.logits is not None else ops.zeros((count,), "float32")

    def call(self, inputs, presence=None):
        xs = self.ordered(inputs)
        mask = presence_mask(xs, self.ordered_presence(inputs, presence))
        out, _ = weighted_combination(xs, self.modality_logits(len(xs)), mask)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(self.ordered_shapes(input_shape)[0])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
