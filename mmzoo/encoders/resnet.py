"""Small residual CNN encoder (ResNet with basic blocks), for images and log-mel spectrograms."""

import keras
from keras import ops

from mmzoo.encoders.base import Encoder, image_shape, propagate_frozen, spatial_tokens, with_channels
from mmzoo.encoders.fused_batchnorm import FusedBatchNormalization, conv_bn
from mmzoo.registry import register_encoder


def _chain_shape(layers, shape):
    for layer in layers:
        shape = layer.compute_output_shape(shape)
    return shape


def _build_chain(layers, shape):
    for layer in layers:
        layer.build(shape)
        shape = layer.compute_output_shape(shape)
    return shape


@keras.saving.register_keras_serializable(package="mmzoo")
class ResidualBlock(keras.layers.Layer):
    """Basic residual block: relu(BN(conv3x3(relu(BN(conv3x3(x))))) + shortcut(x)).

    He et al. 2016, "Deep Residual Learning for Image Recognition" (the
    two-layer "basic" block of ResNet-18/34). The shortcut is the identity,
    or a strided 1x1 convolution + BN ("projection", option B) when the block
    changes the resolution or the number of channels.

    Args:
        filters: output channels.
        strides: stride of the first convolution (2 halves the resolution).
        project: use the 1x1-projection shortcut; needed when `strides != 1`
            or the input has a different number of channels.
        bn_momentum: BatchNorm moving-average momentum.

    Example:
        >>> import numpy as np
        >>> block = ResidualBlock(8, strides=2, project=True)
        >>> tuple(block(np.zeros((2, 12, 12, 4), "float32")).shape)
        (2, 6, 6, 8)
    """

    def __init__(self, filters, strides=1, project=False, bn_momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.strides = strides
        self.project = project
        self.bn_momentum = bn_momentum
        conv = dict(padding="same", use_bias=False, kernel_initializer="he_normal")
        self.conv1 = keras.layers.Conv2D(filters, 3, strides=strides, name="conv1", **conv)
        self.bn1 = FusedBatchNormalization(momentum=bn_momentum, name="bn1")
        self.conv2 = keras.layers.Conv2D(filters, 3, name="conv2", **conv)
        self.bn2 = FusedBatchNormalization(momentum=bn_momentum, name="bn2")
        self.shortcut = []
        if project:
            self.shortcut = [
                keras.layers.Conv2D(filters, 1, strides=strides, name="shortcut_conv", **conv),
                FusedBatchNormalization(momentum=bn_momentum, name="shortcut_bn"),
            ]
        propagate_frozen(self)

    def build(self, input_shape):
        if not self.project and (self.strides != 1 or input_shape[-1] != self.filters):
            raise ValueError(
                f"ResidualBlock '{self.name}': an identity shortcut needs strides=1 and "
                f"{self.filters} input channels; received strides={self.strides} and input shape "
                f"{tuple(input_shape)}. Pass project=True."
            )
        _build_chain([self.conv1, self.bn1, self.conv2, self.bn2], input_shape)
        _build_chain(self.shortcut, input_shape)

    def call(self, x, training=None):
        shortcut = x
        if self.shortcut:
            conv, bn = self.shortcut
            shortcut = conv_bn(conv, bn, x, training)
        y = ops.relu(conv_bn(self.conv1, self.bn1, x, training))
        y = conv_bn(self.conv2, self.bn2, y, training)
        return ops.relu(y + shortcut)

    def compute_output_shape(self, input_shape):
        return self.conv1.compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "strides": self.strides,
            "project": self.project,
            "bn_momentum": self.bn_momentum,
        }


@register_encoder(
    "resnet", modalities=("image", "audio"), paper="He et al. 2016, Deep Residual Learning for Image Recognition"
)
class ResNetEncoder(Encoder):
    """A small ResNet: stem conv, stages of residual blocks, global average pooling, Dense.

    He et al. 2016, "Deep Residual Learning for Image Recognition": basic
    blocks (two 3x3 conv + BN), each stage after the first halving the
    resolution with a stride-2 block whose shortcut is a 1x1 projection. The
    stem is a single 3x3 conv + BN + ReLU at stride 1 (the paper's CIFAR
    variant, §4.2), suited to the small images and spectrograms of
    multimodal tasks; pass `stem_strides=2` for large inputs. For audio the
    input is the `(time, bins)` log-mel/MFCC from the `Audio` spec, read as
    a one-channel image.

    Args:
        stages: output channels of each stage.
        blocks: residual blocks per stage (an int for every stage, or one per stage).
        stem_filters: channels of the stem conv (default: `stages[0]`).
        stem_strides: stride of the stem conv.
        units: size of the output features.
        dropout: dropout rate before the output projection.
        bn_momentum: BatchNorm momentum; 0.9 (not Keras's 0.99) so inference
            statistics settle within a short run (see `ConvEncoder`).
        return_sequences: return one token per spatial position of the last
            stage, `(batch, positions, units)`, instead of the pooled vector.

    Returns:
        `(batch, units)` features, or `(batch, positions, units)` tokens.

    Example:
        >>> import numpy as np
        >>> enc = ResNetEncoder(stages=(8, 16), blocks=1, units=32)
        >>> tuple(enc(np.zeros((2, 28, 28, 1), "float32")).shape)
        (2, 32)
        >>> seq = ResNetEncoder(stages=(8, 16), blocks=1, units=32, return_sequences=True)
        >>> tuple(seq(np.zeros((2, 28, 28, 1), "float32")).shape)
        (2, 196, 32)
    """

    def __init__(
        self,
        stages=(32, 64, 128),
        blocks=2,
        stem_filters=None,
        stem_strides=1,
        units=128,
        dropout=0.1,
        bn_momentum=0.9,
        return_sequences=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.stages = tuple(stages)
        self.blocks = (blocks,) * len(self.stages) if isinstance(blocks, int) else tuple(blocks)
        if len(self.blocks) != len(self.stages) or min(self.blocks) < 1:
            raise ValueError(
                f"ResNetEncoder needs one block count >= 1 per stage; received stages={self.stages}, blocks={blocks}."
            )
        self.stem_filters = stem_filters or self.stages[0]
        self.stem_strides = stem_strides
        self.units = units
        self.dropout = dropout
        self.bn_momentum = bn_momentum
        self.return_sequences = return_sequences
        self.stem = [
            keras.layers.Conv2D(
                self.stem_filters,
                3,
                strides=stem_strides,
                padding="same",
                use_bias=False,
                kernel_initializer="he_normal",
                name="stem_conv",
            ),
            FusedBatchNormalization(momentum=bn_momentum, name="stem_bn"),
        ]
        self.residual_blocks, channels = [], self.stem_filters
        for i, (filters, count) in enumerate(zip(self.stages, self.blocks)):
            for j in range(count):
                strides = 2 if i > 0 and j == 0 else 1
                self.residual_blocks.append(
                    ResidualBlock(
                        filters,
                        strides=strides,
                        project=strides != 1 or channels != filters,
                        bn_momentum=bn_momentum,
                        name=f"stage{i}_block{j}",
                    )
                )
                channels = filters
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.drop = keras.layers.Dropout(dropout)
        self.proj = keras.layers.Dense(units, activation="relu", name="proj")
        propagate_frozen(self)

    def build(self, input_shape):
        shape = _build_chain(self.stem + self.residual_blocks, image_shape(input_shape))
        self.proj.build((None, shape[-1]))

    def call(self, x, training=None):
        conv, bn = self.stem
        x = ops.relu(conv_bn(conv, bn, with_channels(x), training))
        for block in self.residual_blocks:
            x = block(x, training=training)
        x = spatial_tokens(x) if self.return_sequences else self.pool(x)
        return self.proj(self.drop(x, training=training))

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            shape = _chain_shape(self.stem + self.residual_blocks, image_shape(input_shape))
            return (input_shape[0], shape[1] * shape[2], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "stages": list(self.stages),
            "blocks": list(self.blocks),
            "stem_filters": self.stem_filters,
            "stem_strides": self.stem_strides,
            "units": self.units,
            "dropout": self.dropout,
            "bn_momentum": self.bn_momentum,
            "return_sequences": self.return_sequences,
        }
