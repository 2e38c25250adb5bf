"""Spatio-temporal convolution encoders for clips: factorised (2+1)D (R(2+1)D) and 3-D (C3D).

Both read `(batch, frames, height, width, channels)` clips from a `Video`
spec and share `ClipConvEncoder`'s head: the last feature map is averaged
over space, giving one token per remaining time step; the tokens are
returned (`return_sequences`, for the attention fusions) or averaged over
time, then projected by a Dense.

The (2+1)D convolution is written with two `Conv2D`s: a `k x k` spatial one on
the frames folded into the batch, then a `t x 1` temporal one on
`(batch, frames, height * width, channels)`, which slides over time at every
pixel. That is exactly a `Conv3D` with kernel `(1, k, k)` followed by one with
kernel `(t, 1, 1)`, and it exports to every format a 2-D CNN does.
"""

import keras
from keras import ops

from mmzoo.encoders.base import Encoder, propagate_frozen
from mmzoo.encoders.fused_batchnorm import FusedBatchNormalization, conv_bn
from mmzoo.encoders.video_frames import fold_frames, unfold_frames
from mmzoo.registry import register_encoder


def mid_channels(in_channels, out_channels, kernel_size, temporal_kernel):
    """R(2+1)D's intermediate width: the (2+1)D block gets the parameters of the full 3-D one (Tran et al. 2018)."""
    d, t = kernel_size, temporal_kernel
    return max(1, (t * d * d * in_channels * out_channels) // (d * d * in_channels + t * out_channels))


def strided_shape(shape, strides, filters):
    """The clip shape after a "same"-padded convolution with `(time, space)` strides and `filters` channels."""

    def out(n, stride):
        return None if n is None else -(-n // stride)

    t, s = strides
    return (shape[0], out(shape[1], t), out(shape[2], s), out(shape[3], s), filters)


@keras.saving.register_keras_serializable(package="mmzoo")
class Conv2Plus1D(keras.layers.Layer):
    """A factorised spatio-temporal convolution: spatial `k x k`, BatchNorm, ReLU, then temporal `t`.

    Tran et al. 2018, A Closer Look at Spatiotemporal Convolutions for Action
    Recognition. Input and output `(batch, frames, height, width, channels)`;
    "same" padding; `strides=(time, space)`. No bias and no activation after
    the temporal convolution (the block around it adds BatchNorm and ReLU).

    Args:
        filters: output channels.
        mid_filters: channels between the spatial and temporal convolutions.
        kernel_size: spatial kernel `k`.
        temporal_kernel: temporal kernel `t`.
        strides: `(time, space)` strides.
        bn_momentum: momentum of the inner BatchNorm.

    Example:
        >>> import numpy as np
        >>> layer = Conv2Plus1D(8, 6, strides=(2, 2))
        >>> tuple(layer(np.zeros((2, 4, 8, 8, 3), "float32")).shape)
        (2, 2, 4, 4, 8)
    """

    def __init__(
        self, filters, mid_filters, kernel_size=3, temporal_kernel=3, strides=(1, 1), bn_momentum=0.9, **kwargs
    ):
        super().__init__(**kwargs)
        self.filters, self.mid_filters = int(filters), int(mid_filters)
        self.kernel_size, self.temporal_kernel = int(kernel_size), int(temporal_kernel)
        self.strides = tuple(int(s) for s in strides)
        self.bn_momentum = bn_momentum
        self.spatial = keras.layers.Conv2D(
            self.mid_filters, kernel_size, strides=self.strides[1], padding="same", use_bias=False, name="spatial"
        )
        self.bn = FusedBatchNormalization(momentum=bn_momentum, name="bn")
        self.temporal = keras.layers.Conv2D(
            self.filters, (temporal_kernel, 1), strides=(self.strides[0], 1), padding="same", use_bias=False,
            name="temporal",
        )  # fmt: skip

    def build(self, input_shape):
        frame = (None,) + tuple(input_shape[2:])
        self.spatial.build(frame)
        shape = self.spatial.compute_output_shape(frame)
        self.bn.build(shape)
        self.temporal.build((None, input_shape[1], shape[1] * shape[2], self.mid_filters))

    def call(self, x, training=None):
        frames = x.shape[1]
        y = ops.relu(conv_bn(self.spatial, self.bn, fold_frames(x), training))
        height, width = y.shape[1], y.shape[2]
        y = unfold_frames(y, frames)  # (batch, frames, h, w, c)
        y = self.temporal(ops.reshape(y, (-1, frames, height * width, self.mid_filters)))
        return ops.reshape(y, (-1, y.shape[1], height, width, self.filters))

    def compute_output_shape(self, input_shape):
        return strided_shape(input_shape, self.strides, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "mid_filters": self.mid_filters,
            "kernel_size": self.kernel_size,
            "temporal_kernel": self.temporal_kernel,
            "strides": list(self.strides),
            "bn_momentum": self.bn_momentum,
        }


@keras.saving.register_keras_serializable(package="mmzoo")
class ClipMaxPooling(keras.layers.Layer):
    """3-D max pooling ("same" padding, stride = window) of clips, as 2-D pooling then a max over time.

    The same values as `keras.layers.MaxPooling3D((time, space, space), padding="same")`, built
    from ops that exist for every dtype on CPU (TensorFlow has no float16 `MaxPool3D` kernel
    there) and in TFLite's builtins.

    Args:
        time: temporal window and stride.
        space: spatial window and stride.

    Example:
        >>> import numpy as np
        >>> x = np.random.rand(2, 3, 4, 4, 2).astype("float32")
        >>> y = ClipMaxPooling(2, 2)(x)
        >>> bool(np.allclose(y, keras.layers.MaxPooling3D(2, padding="same")(x)))
        True
    """

    def __init__(self, time=2, space=2, **kwargs):
        super().__init__(**kwargs)
        self.time, self.space = int(time), int(space)
        self.pool = keras.layers.MaxPooling2D(self.space, padding="same", name="spatial")

    def call(self, x):
        frames = x.shape[1]
        x = unfold_frames(self.pool(fold_frames(x)), frames)
        if self.time == 1:
            return x
        steps = -(-frames // self.time)
        extra = steps * self.time - frames
        if extra:  # "same" padding of a max: repeat the last frame
            x = ops.concatenate([x] + [x[:, -1:]] * extra, axis=1)
        x = ops.reshape(x, (-1, steps, self.time) + tuple(x.shape[2:]))
        return ops.max(x, axis=2)

    def compute_output_shape(self, input_shape):
        return strided_shape(input_shape, (self.time, self.space), input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "time": self.time, "space": self.space}


class ClipConvEncoder(Encoder):
    """Base of the clip CNNs: subclasses build `self.blocks` and `self.feature_maps(x, training)`.

    Args:
        filters: output channels of each stage.
        units: size of the output features (and of each token).
        dropout: dropout before the output projection.
        bn_momentum: BatchNorm momentum (0.9, as mmzoo's image CNN).
        return_sequences: return one token per time step of the last
            feature map, `(batch, steps, units)`, instead of one vector.
    """

    def __init__(
        self, filters=(32, 64, 128), units=128, dropout=0.1, bn_momentum=0.9, return_sequences=False, **kwargs
    ):
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.units = units
        self.dropout = dropout
        self.bn_momentum = bn_momentum
        self.return_sequences = return_sequences
        self.blocks = self.make_blocks()
        self.drop = keras.layers.Dropout(dropout)
        self.proj = keras.layers.Dense(units, activation="relu", name="proj")
        propagate_frozen(self)

    def make_blocks(self):
        """The list of layers (each maps clips to clips) run in order."""
        raise NotImplementedError

    def _check(self, input_shape):
        if len(input_shape) != 5:
            raise ValueError(
                f"Encoder '{self.name}' expects clips (batch, frames, height, width, channels) "
                f"(a mmzoo.Video input); received shape {tuple(input_shape)}."
            )

    def build(self, input_shape):
        self._check(input_shape)
        shape = tuple(input_shape)
        for block in self.blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)
        self.proj.build((None, shape[-1]))

    def call(self, x, training=None):
        for block in self.blocks:
            x = block(x, training=training)
        tokens = ops.mean(x, axis=(2, 3))  # (batch, steps, channels)
        x = tokens if self.return_sequences else ops.mean(tokens, axis=1)
        return self.proj(self.drop(x, training=training))

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        shape = tuple(input_shape)
        for block in self.blocks:
            shape = block.compute_output_shape(shape)
        return (input_shape[0], shape[1], self.units) if self.return_sequences else (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "units": self.units,
            "dropout": self.dropout,
            "bn_momentum": self.bn_momentum,
            "return_sequences": self.return_sequences,
        }


@keras.saving.register_keras_serializable(package="mmzoo")
class R2Plus1DBlock(keras.layers.Layer):
    """A residual block of two (2+1)D convolutions (Tran et al. 2018), with a projection shortcut when needed.

    Args:
        filters: output channels.
        kernel_size: spatial kernel; temporal_kernel: temporal kernel.
        strides: `(time, space)` strides of the first convolution.
        bn_momentum: BatchNorm momentum.
    """

    def __init__(self, filters, kernel_size=3, temporal_kernel=3, strides=(1, 1), bn_momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.temporal_kernel = int(filters), int(kernel_size), int(temporal_kernel)
        self.strides = tuple(int(s) for s in strides)
        self.bn_momentum = bn_momentum
        self.convs, self.bns = [], []
        self.shortcut = None

    def build(self, input_shape):
        channels = input_shape[-1]
        shape = tuple(input_shape)
        for i, (cin, stride) in enumerate([(channels, self.strides), (self.filters, (1, 1))]):
            mid = mid_channels(cin, self.filters, self.kernel_size, self.temporal_kernel)
            conv = Conv2Plus1D(
                self.filters, mid, self.kernel_size, self.temporal_kernel, stride, self.bn_momentum, name=f"conv{i}"
            )
            bn = keras.layers.BatchNormalization(momentum=self.bn_momentum, name=f"bn{i}")
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            bn.build(shape)
            self.convs.append(conv)
            self.bns.append(bn)
        if channels != self.filters or self.strides != (1, 1):
            # a strided 1x1x1 convolution: subsample, then mix channels (a Dense on the last axis)
            self.shortcut = keras.layers.Dense(self.filters, name="shortcut")
            self.shortcut.build((None, channels))

    def call(self, x, training=None):
        y = ops.relu(self.bns[0](self.convs[0](x, training=training), training=training))
        y = self.bns[1](self.convs[1](y, training=training), training=training)
        if self.shortcut is not None:
            t, s = self.strides
            x = self.shortcut(x[:, ::t, ::s, ::s, :])
        return ops.relu(y + x)

    def compute_output_shape(self, input_shape):
        return strided_shape(input_shape, self.strides, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "temporal_kernel": self.temporal_kernel,
            "strides": list(self.strides),
            "bn_momentum": self.bn_momentum,
        }


@register_encoder(
    "r2plus1d", modalities=("video",), paper="Tran et al. 2018, A Closer Look at Spatiotemporal Convolutions"
)
class R2Plus1DEncoder(ClipConvEncoder):
    """R(2+1)D: residual stages of factorised (2+1)D convolutions; stages after the first halve time and space.

    A (2+1)D stem (`filters[0]` channels, spatial stride 2) is followed by one
    `R2Plus1DBlock` per entry of `filters`. See `ClipConvEncoder` for the arguments.

    Example:
        >>> import numpy as np
        >>> enc = R2Plus1DEncoder(filters=(4, 8), units=8)
        >>> tuple(enc(np.zeros((2, 4, 16, 16, 3), "float32")).shape)
        (2, 8)
    """

    def make_blocks(self):
        stem_mid = mid_channels(3, self.filters[0], 7, 3)
        blocks = [Conv2Plus1D(self.filters[0], stem_mid, 7, 3, (1, 2), self.bn_momentum, name="stem")]
        blocks.append(keras.layers.BatchNormalization(momentum=self.bn_momentum, name="stem_bn"))
        blocks.append(keras.layers.Activation("relu", name="stem_relu"))
        for i, f in enumerate(self.filters):
            strides = (1, 1) if i == 0 else (2, 2)
            blocks.append(R2Plus1DBlock(f, strides=strides, bn_momentum=self.bn_momentum, name=f"block{i}"))
        return blocks


@register_encoder("c3d", modalities=("video",), paper="Tran et al. 2015, Learning Spatiotemporal Features with 3D CNNs")
class C3DEncoder(ClipConvEncoder):
    """A small C3D: 3x3x3 convolutions with BatchNorm and ReLU, each followed by 3-D max pooling.

    The first pooling is 1x2x2 (space only) and the others 2x2x2, as in
    Tran et al. 2015 (BatchNorm added for short training runs). See
    `ClipConvEncoder` for the arguments.

    Example:
        >>> import numpy as np
        >>> enc = C3DEncoder(filters=(4, 8), units=8, return_sequences=True)
        >>> tuple(enc(np.zeros((2, 4, 16, 16, 3), "float32")).shape)
        (2, 2, 8)
    """

    def make_blocks(self):
        blocks = []
        for i, f in enumerate(self.filters):
            blocks.append(keras.layers.Conv3D(f, 3, padding="same", use_bias=False, name=f"conv{i}"))
            blocks.append(keras.layers.BatchNormalization(momentum=self.bn_momentum, name=f"bn{i}"))
            blocks.append(keras.layers.Activation("relu", name=f"relu{i}"))
            pool = (1, 2, 2) if i == 0 else (2, 2, 2)
            blocks.append(ClipMaxPooling(pool[0], pool[1], name=f"pool{i}"))
        return blocks
