"""BatchNormalization whose training step uses TensorFlow's fused kernel.

Keras 3's `BatchNormalization` computes batch moments and the normalisation
as separate element-wise ops (moments, squared difference, tiles, muls) and
differentiates through each of them. In a profile of the reference
early_fusion training step on 2 CPU cores those ops took as long as all the
convolutions together. TensorFlow's `FusedBatchNormV3` (a oneDNN kernel on
CPU, cuDNN on GPU) does the forward pass and its gradient in one op each:
the 3-block image CNN's training step went from 388 to 159 ms.

`FusedBatchNormalization` is a drop-in subclass: same weights, same config,
same moving-average update (with the biased batch variance, as Keras keeps
it). It takes the fused op only for a training call on 4-D float32 inputs
normalised over the last axis; inference (so every export), other dtypes
(mixed precision), masks, `synchronized=True` and frozen layers use Keras's
own code. Training outputs agree with Keras's to float32 rounding (~1e-5).

In inference the normalisation is an affine map per channel, so after a
convolution it can be folded into the convolution's kernel and bias:
`conv_bn` does that in mmzoo's compiled predict path
(`mmzoo.inference.compiled_inference`), where TensorFlow then fuses the
convolution, bias and a following ReLU into one oneDNN op, instead of a
separate multiply and add over every activation as in Keras's inference
BatchNormalization (the throughput benchmark measures both paths).
"""

import keras
import tensorflow as tf

from mmzoo.inference import compiled_inference


@keras.saving.register_keras_serializable(package="mmzoo")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` with a fused training kernel (see the module docstring).

    Example:
        >>> import numpy as np
        >>> bn = FusedBatchNormalization(momentum=0.9)
        >>> y = bn(np.random.rand(4, 5, 5, 3).astype("float32"), training=True)
        >>> tuple(y.shape), bool(abs(float(y.numpy().mean())) < 1e-4)
        ((4, 5, 5, 3), True)
    """

    def _fusable(self, inputs, training, mask):
        return (
            training
            and self.trainable
            and mask is None
            and not self.synchronized
            and self.center
            and not getattr(self, "renorm", False)
            and self.scale
            and keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and inputs.dtype == tf.float32
            and self.compute_dtype == "float32"
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs,
            tf.convert_to_tensor(self.gamma),
            tf.convert_to_tensor(self.beta),
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=True,
        )
        count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
        variance = variance * (count - 1.0) / tf.maximum(count, 2.0)  # the op returns the unbiased variance
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + tf.stop_gradient(mean) * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + tf.stop_gradient(variance) * (1.0 - momentum))
        return y


def _foldable(conv, bn, x, training):
    return (
        not training
        and compiled_inference.active("fold_batchnorm")
        and keras.backend.backend() == "tensorflow"
        and type(conv) in (keras.layers.Conv1D, keras.layers.Conv2D)
        and conv.padding in ("same", "valid")
        and conv.data_format == "channels_last"
        and conv.groups == 1
        and conv.activation is keras.activations.linear
        and conv.built
        and isinstance(bn, keras.layers.BatchNormalization)
        and bn.built
        and bn.axis in (-1, conv.rank + 1)
        and not bn.synchronized
        and not getattr(bn, "renorm", False)
        and len(x.shape) == conv.rank + 2
        and conv.compute_dtype == "float32"
        and bn.compute_dtype == "float32"
    )


@tf.autograph.experimental.do_not_convert  # static Python conditions only: never rewrite them
def conv_bn(conv, bn, x, training=None):
    """`bn(conv(x), training=training)`, as one convolution with a bias in mmzoo's compiled predict path.

    For `Conv1D` and `Conv2D` layers (channels last, no activation, not
    causal or grouped) followed by a BatchNormalization over channels.

    With inference statistics, BatchNormalization is `y * s + (beta - mean * s)`
    per channel with `s = gamma / sqrt(var + epsilon)`, so `bn(conv(x))` equals
    a convolution with kernel `w * s` and bias `(b - mean) * s + beta` (`b`
    the convolution's own bias, if any). Outside
    `compiled_inference()` (training, `model(x)`, exports), for other layers
    and for mixed precision it calls the layers as they are.

    Example:
        >>> import numpy as np
        >>> conv = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)
        >>> bn = FusedBatchNormalization()
        >>> x = np.random.rand(2, 6, 6, 3).astype("float32")
        >>> y = bn(conv(x))  # builds both
        >>> bn.moving_mean.assign(np.arange(4.0)); bn.moving_variance.assign(np.full(4, 2.0))  # doctest: +ELLIPSIS
        <tf.Tensor...
        >>> with compiled_inference.compiled_inference():
        ...     folded = conv_bn(conv, bn, x, training=False)
        >>> bool(np.allclose(folded, bn(conv(x), training=False), atol=1e-5))
        True
    """
    if not _foldable(conv, bn, x, training):
        return bn(conv(x), training=training)
    variance = tf.convert_to_tensor(bn.moving_variance)
    scale = tf.math.rsqrt(variance + bn.epsilon)
    if bn.scale:
        scale = scale * tf.convert_to_tensor(bn.gamma)
    mean = tf.convert_to_tensor(bn.moving_mean)
    bias = -mean * scale
    if conv.use_bias:
        bias = bias + tf.convert_to_tensor(conv.bias) * scale
    if bn.center:
        bias = bias + tf.convert_to_tensor(bn.beta)
    y = tf.nn.convolution(
        x,
        tf.convert_to_tensor(conv.kernel) * scale,
        strides=conv.strides,
        padding=conv.padding.upper(),
        dilations=conv.dilation_rate,
    )
    return tf.nn.bias_add(y, bias)
