"""Losses Keras lacks in the form mmzoo tasks need."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmzoo")
class SparseCategoricalFocalCrossentropy(keras.losses.Loss):
    """Focal loss from integer class labels (Lin et al. 2017, "Focal Loss for Dense Object Detection").

    Keras's `categorical_focal_crossentropy` on one-hot encoded labels:
    `-alpha * (1 - p_true)^gamma * log(p_true)` per example. `Classification`
    datasets yield integer labels, which `keras.losses.CategoricalFocalCrossentropy`
    does not take.

    Args:
        alpha: weighting factor.
        gamma: focusing parameter (0 gives `alpha` times the cross-entropy).
        from_logits: whether `y_pred` are logits rather than probabilities.

    Example:
        >>> loss = SparseCategoricalFocalCrossentropy(gamma=2.0)
        >>> reference = keras.losses.CategoricalFocalCrossentropy(gamma=2.0)
        >>> y_pred = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]
        >>> bool(abs(float(loss([0, 1], y_pred)) - float(reference([[1, 0, 0], [0, 1, 0]], y_pred))) < 1e-7)
        True
    """

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        name="sparse_categorical_focal_crossentropy",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha, self.gamma, self.from_logits = float(alpha), float(gamma), bool(from_logits)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        num_classes = ops.shape(y_pred)[-1]
        labels = ops.reshape(ops.cast(y_true, "int32"), ops.shape(y_pred)[:-1])
        one_hot = ops.one_hot(labels, num_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_focal_crossentropy(
            one_hot, y_pred, alpha=self.alpha, gamma=self.gamma, from_logits=self.from_logits
        )

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "gamma": self.gamma, "from_logits": self.from_logits}
