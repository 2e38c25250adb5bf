"""Raw-waveform 1-D CNN encoder (M5-style), for `mmzoo.Audio(..., frontend="waveform")`."""

import keras
from keras import ops

from mmzoo.encoders.base import Encoder, propagate_frozen
from mmzoo.encoders.fused_batchnorm import conv_bn
from mmzoo.registry import register_encoder


@register_encoder(
    "wave_cnn",
    modalities=("audio",),
    paper="Dai et al. 2017, Very Deep Convolutional Neural Networks for Raw Waveforms",
    spec_options={"frontend": "waveform"},
)
class WaveCNNEncoder(Encoder):
    """1-D CNN over the raw waveform: a wide strided first conv, then conv blocks, pooled, Dense.

    Dai et al. 2017, "Very Deep Convolutional Neural Networks for Raw
    Waveforms" (the M5 network): the first convolution has a long receptive
    field (80 samples, 10 ms at 8 kHz) and stride 4, standing in for a
    learned filter bank; every block is Conv1D -> BatchNorm -> ReLU ->
    MaxPool(4); global average pooling replaces fully connected layers.
    Pools use "same" padding, so short clips never pool down to nothing.

    Takes the `(batch, samples, 1)` waveform of `mmzoo.Audio(..., frontend="waveform")`.

    Args:
        filters: channels of each block; the first block uses `first_kernel`
            and `first_stride`, the others `kernel_size` and stride 1.
        first_kernel: length of the first convolution kernel in samples.
        first_stride: stride of the first convolution.
        kernel_size: kernel length of the later blocks.
        pool_size: max-pooling size after each block.
        units: size of the output features.
        dropout: dropout rate before the output projection.
        bn_momentum: BatchNorm momentum (0.9: see `ConvEncoder`).
        return_sequences: return one token per time step of the last block,
            `(batch, steps, units)`, instead of the pooled vector.

    Returns:
        `(batch, units)` features, or `(batch, steps, units)` tokens.

    Example:
        >>> import numpy as np
        >>> enc = WaveCNNEncoder(filters=(8, 16), units=32)
        >>> tuple(enc(np.zeros((2, 4000, 1), "float32")).shape)
        (2, 32)
    """

    accepts = {"frontend": ("waveform",)}

    def __init__(
        self,
        filters=(128, 128, 256, 512),
        first_kernel=80,
        first_stride=4,
        kernel_size=3,
        pool_size=4,
        units=128,
        dropout=0.1,
        bn_momentum=0.9,
        return_sequences=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = tuple(filters)
        self.first_kernel = first_kernel
        self.first_stride = first_stride
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.units = units
        self.dropout = dropout
        self.bn_momentum = bn_momentum
        self.return_sequences = return_sequences
        self.blocks = []
        for i, f in enumerate(self.filters):
            first = i == 0
            self.blocks.append(
                [
                    keras.layers.Conv1D(
                        f,
                        first_kernel if first else kernel_size,
                        strides=first_stride if first else 1,
                        padding="same",
                        use_bias=False,
                        name=f"conv{i}",
                    ),
                    keras.layers.BatchNormalization(momentum=bn_momentum, name=f"bn{i}"),
                    keras.layers.MaxPooling1D(pool_size, padding="same", name=f"pool{i}"),
                ]
            )
        self.pool = keras.layers.GlobalAveragePooling1D()
        self.drop = keras.layers.Dropout(dropout)
        self.proj = keras.layers.Dense(units, activation="relu", name="proj")
        propagate_frozen(self)

    def _check(self, shape):
        if len(shape) != 3 or shape[-1] != 1:
            raise ValueError(
                f"Encoder '{self.name}' expects a mono waveform of shape (batch, samples, 1), as given by "
                f"mmzoo.Audio(..., frontend='waveform'); received {tuple(shape)}."
            )

    def build(self, input_shape):
        self._check(input_shape)
        shape = tuple(input_shape)
        for block in self.blocks:
            for layer in block:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.proj.build((None, shape[-1]))

    def call(self, x, training=None):
        for conv, bn, pool in self.blocks:
            x = pool(ops.relu(conv_bn(conv, bn, x, training)))
        if not self.return_sequences:
            x = self.pool(x)
        return self.proj(self.drop(x, training=training))

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            shape = tuple(input_shape)
            for block in self.blocks:
                for layer in block:
                    shape = layer.compute_output_shape(shape)
            return (input_shape[0], shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "first_kernel": self.first_kernel,
            "first_stride": self.first_stride,
            "kernel_size": self.kernel_size,
            "pool_size": self.pool_size,
            "units": self.units,
            "dropout": self.dropout,
            "bn_momentum": self.bn_momentum,
            "return_sequences": self.return_sequences,
        }
