"""Small 2-D CNN encoder, shared by images and log-mel spectrograms."""

import keras

from mmzoo.encoders.base import Encoder, image_shape, propagate_frozen, spatial_tokens, with_channels
from mmzoo.encoders.fused_batchnorm import FusedBatchNormalization, conv_bn
from mmzoo.registry import register_encoder


@register_encoder("cnn", modalities=("image", "audio"), paper="LeCun et al. 1998 (LeNet-style)")
class ConvEncoder(Encoder):
    """Conv -> BatchNorm -> ReLU -> MaxPool blocks, global average pooled, then a Dense.

    For audio the input is the `(time, mels)` log-mel from the `Audio` spec;
    a channel axis is added, so the same encoder reads images and spectrograms.

    Args:
        filters: output channels of each block.
        kernel_size: convolution kernel size.
        units: size of the output feature vector.
        dropout: dropout rate before the output projection.
        return_sequences: return one token per spatial position of the last
            block, `(batch, positions, units)`, instead of the pooled vector.
        bn_momentum: BatchNorm moving-average momentum; 0.9 rather than Keras's
            0.99 so inference statistics are right after a few hundred steps
            (with 0.99 a short run on AV-MNIST predicted one class in inference).

    Example:
        >>> import numpy as np
        >>> enc = ConvEncoder(filters=(8, 16), units=32)
        >>> tuple(enc(np.zeros((2, 28, 28, 1), "float32")).shape)
        (2, 32)
    """

    def __init__(
        self,
        filters=(32, 64, 128),
        kernel_size=3,
        units=128,
        dropout=0.1,
        bn_momentum=0.9,
        return_sequences=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = tuple(filters)
        self.kernel_size = kernel_size
        self.units = units
        self.dropout = dropout
        self.bn_momentum = bn_momentum
        self.return_sequences = return_sequences
        self.blocks = []
        for i, f in enumerate(self.filters):
            self.blocks.append(
                [
                    keras.layers.Conv2D(f, kernel_size, padding="same", use_bias=False, name=f"conv{i}"),
                    FusedBatchNormalization(momentum=bn_momentum, name=f"bn{i}"),
                    keras.layers.Activation("relu", name=f"relu{i}"),
                    keras.layers.MaxPooling2D(2, padding="same", name=f"pool{i}"),
                ]
            )
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.drop = keras.layers.Dropout(dropout)
        self.proj = keras.layers.Dense(units, activation="relu", name="proj")
        propagate_frozen(self)

    def build(self, input_shape):
        shape = image_shape(input_shape)
        for block in self.blocks:
            for layer in block:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.proj.build((shape[0], shape[-1]))

    def call(self, x, training=None):
        x = with_channels(x)
        for conv, bn, act, pool in self.blocks:
            x = pool(act(conv_bn(conv, bn, x, training)))
        if self.return_sequences:
            x = spatial_tokens(x)
        else:
            x = self.pool(x)
        return self.proj(self.drop(x, training=training))

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            shape = image_shape(input_shape)
            for block in self.blocks:
                for layer in block:
                    shape = layer.compute_output_shape(shape)
            return (input_shape[0], shape[1] * shape[2], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "kernel_size": self.kernel_size,
            "units": self.units,
            "dropout": self.dropout,
            "bn_momentum": self.bn_momentum,
            "return_sequences": self.return_sequences,
        }
