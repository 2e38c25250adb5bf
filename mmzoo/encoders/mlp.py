"""MLP encoder for pre-extracted feature vectors (and mean-pooled sequences)."""

import keras

from mmzoo.encoders.base import Encoder
from mmzoo.registry import register_encoder


@register_encoder("mlp", modalities=("features",), paper="multilayer perceptron")
class MLPEncoder(Encoder):
    """Dense -> ReLU -> Dropout blocks; `(steps, dim)` sequences are mean-pooled first.

    With `return_sequences=True` the blocks apply per step instead (a vector
    input becomes a single token), for the attention fusions.

    Args:
        units: sizes of the hidden layers (an int for one layer); the last is the output size.
        dropout: dropout rate after each block.
        return_sequences: keep the step axis, `(batch, steps, units[-1])`.

    Example:
        >>> import numpy as np
        >>> tuple(MLPEncoder(units=(16, 8))(np.zeros((2, 50), "float32")).shape)
        (2, 8)
    """

    def __init__(self, units=(128, 128), dropout=0.2, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        self.units = (units,) if isinstance(units, int) else tuple(units)
        self.dropout = dropout
        self.return_sequences = return_sequences
        self.dense = [keras.layers.Dense(u, activation="relu", name=f"dense{i}") for i, u in enumerate(self.units)]
        self.drops = [keras.layers.Dropout(dropout) for _ in self.units]

    def build(self, input_shape):
        dim = input_shape[-1]
        for layer in self.dense:
            layer.build((None, dim))
            dim = layer.units

    def call(self, x, training=None):
        if len(x.shape) == 3 and not self.return_sequences:
            x = keras.ops.mean(x, axis=1)
        elif len(x.shape) == 2 and self.return_sequences:
            x = keras.ops.expand_dims(x, 1)
        for dense, drop in zip(self.dense, self.drops):
            x = drop(dense(x), training=training)
        return x

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            steps = input_shape[1] if len(input_shape) == 3 else 1
            return (input_shape[0], steps, self.units[-1])
        return (input_shape[0], self.units[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "units": list(self.units),
            "dropout": self.dropout,
            "return_sequences": self.return_sequences,
        }
