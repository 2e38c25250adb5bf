"""Concatenation (early) fusion of per-modality feature vectors."""

import keras

from mmzoo.fusion.base import Fusion
from mmzoo.registry import register_fusion


@register_fusion("concat", paper="early fusion, e.g. Baltrusaitis et al. 2019 survey")
class ConcatFusion(Fusion):
    """Concatenates modality features along the last axis (sorted by input name).

    Example:
        >>> import numpy as np
        >>> f = ConcatFusion()
        >>> tuple(f({"b": np.ones((2, 3), "float32"), "a": np.zeros((2, 4), "float32")}).shape)
        (2, 7)
    """

    def call(self, inputs, presence=None):
        return keras.ops.concatenate(self.ordered(inputs), axis=-1)

    def compute_output_shape(self, input_shape):
        shapes = self.ordered_shapes(input_shape)
        return tuple(shapes[0][:-1]) + (sum(s[-1] for s in shapes),)
