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
"""

import keras
import tensorflow as tf


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
        return (training and self.trainable and mask is None and not self.synchronized and self.center
                and not getattr(self, "renorm", False)
                and self.scale and keras.backend.backend() == "tensorflow" and len(inputs.shape) == 4
                and self.axis in (-1, 3) and inputs.dtype == tf.float32 and self.compute_dtype == "float32")

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, tf.convert_to_tensor(self.gamma), tf.convert_to_tensor(self.beta), epsilon=self.epsilon,
            data_format="NHWC", is_training=True)
        count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
        variance = variance * (count - 1.0) / tf.maximum(count, 2.0)  # the op returns the unbiased variance
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + tf.stop_gradient(mean) * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum
                                    + tf.stop_gradient(variance) * (1.0 - momentum))
        return y
