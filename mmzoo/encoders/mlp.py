"""MLP encoder for pre-extracted feature vectors (and mean-pooled sequences)."""

import keras

from mmzoo.encoders.base import Encoder
from mmzoo.registry import ENCODERS


@ENCODERS.register("mlp", modalities=("features",), paper="multilayer perceptron")
class MLPEncoder(Encoder):
    """Dense -> ReLU -> Dropout blocks; `(steps, dim)` sequences are mean-pooled first.

    Args:
        units: sizes of the hidden layers (an int for one layer); the last is the output size.
        dropout: dropout rate after each block.

    Example:
        >>> import numpy as np
        >>> MLPEncoder(units=(16, 8))(np.zeros((2, 50), "float32")).shape
        (2, 8)
    """

    def __init__(self, units=(128, 128), dropout=0.2, **kwargs):
        super().__init__(**kwargs)
        self.units = (units,) if isinstance(units, int) else tuple(units)
        self.dropout = dropout
        self.dense = [keras.layers.Dense(u, activation="relu", name=f"dense{i}") for i, u in enumerate(self.units)]
        self.drops = [keras.layers.Dropout(dropout) for _ in self.units]

    def build(self, input_shape):
        dim = input_shape[-1]
        for layer in self.dense:
            layer.build((None, dim))
            dim = layer.units

    def call(self, x, training=None):
        if len(x.shape) == 3:
            x = keras.ops.mean(x, axis=1)
        for dense, drop in zip(self.dense, self.drops):
            x = drop(dense(x), training=training)
        return x

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units[-1])

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "dropout": self.dropout}
