"""Text augmentations on token ids (after the in-graph vectorizer): token dropout and random deletion."""

import keras
from keras import ops

from mmzoo.augmentation.random_layer import RandomLayer
from mmzoo.registry import register_augmentation


def _check_rate(layer, rate):
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{layer} rate must be in [0, 1); received {rate}.")
    return float(rate)


@keras.saving.register_keras_serializable(package="mmzoo")
class TokenDropout(RandomLayer):
    """Replaces each non-padding token id by the out-of-vocabulary id with probability `rate`.

    Example:
        >>> import numpy as np
        >>> ids = np.array([[5, 6, 7, 0]])
        >>> np.asarray(TokenDropout(0.0)(ids, training=True)).tolist()
        [[5, 6, 7, 0]]
    """

    def __init__(self, rate=0.1, oov_id=1, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate("TokenDropout", rate)
        self.oov_id = int(oov_id)

    def call(self, ids, training=True):
        if not training:
            return ids
        hit = ops.logical_and(self.uniform(ops.shape(ids)) < self.rate, ids != 0)
        return ops.where(hit, ops.cast(self.oov_id, ids.dtype), ids)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "oov_id": self.oov_id}


@keras.saving.register_keras_serializable(package="mmzoo")
class RandomDeletion(RandomLayer):
    """Deletes each token with probability `rate`; the rest move left, padding (0) fills the end (Wei & Zou 2019).

    Example:
        >>> import numpy as np
        >>> ids = np.array([[5, 6, 7, 0]])
        >>> np.asarray(RandomDeletion(0.0)(ids, training=True)).tolist()
        [[5, 6, 7, 0]]
    """

    def __init__(self, rate=0.1, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate("RandomDeletion", rate)

    def call(self, ids, training=True):
        if not training:
            return ids
        length = ids.shape[1]
        keep = ops.logical_and(self.uniform(ops.shape(ids)) >= self.rate, ids != 0)
        position = ops.arange(length, dtype="int32")[None, :]
        order = ops.argsort(ops.where(keep, position, position + length), axis=1)  # kept tokens first, in order
        moved = ops.take_along_axis(ids, order, axis=1)
        kept = ops.sum(ops.cast(keep, "int32"), axis=1, keepdims=True)
        return ops.where(position < kept, moved, ops.zeros_like(moved))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


def _token_layer(cls):
    def build(spec, rate=0.1, **options):
        if getattr(spec, "output_mode", "int") != "int":
            raise ValueError(
                f"Text input '{spec.name}': {cls.__name__} works on token ids, but this input's "
                f"output_mode is '{spec.output_mode}' (a bag of words). Use output_mode='int'."
            )
        return cls(rate=rate, **options)

    build.__doc__ = f"`{cls.__name__}` on the token ids (options: rate, seed)."
    return build


register_augmentation("token_dropout", modalities=("text",), stage="features", primary="rate")(
    _token_layer(TokenDropout)
)
register_augmentation("random_deletion", modalities=("text",), stage="features", primary="rate")(
    _token_layer(RandomDeletion)
)
