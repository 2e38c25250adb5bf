"""Missing modalities: presence masks and modality dropout, as one serializable layer."""

import keras
from keras import ops

PRESENT_SUFFIX = "_present"


def presence_name(input_name):
    """Name of the optional boolean presence input of `input_name`."""
    return f"{input_name}{PRESENT_SUFFIX}"


@keras.saving.register_keras_serializable(package="mmzoo")
class ModalityDropout(keras.layers.Layer):
    """Zeroes the features of absent modalities; in training, also drops modalities at random.

    Called as `layer(features, presence=None)` with `features` a dict
    `{input_name: (batch, ...) tensor}` and `presence` an optional dict
    `{input_name: (batch,) bool or float}` (1 = present). Returns
    `(masked_features, presence)` with `presence` as float dicts, so fusions
    can give absent modalities no weight. During training each present
    modality of each sample is dropped with probability `rate`, but never the
    last present one (modality dropout, as in Neverova et al. 2016's
    ModDrop), so models learn to predict from any subset.

    Args:
        rate: per-modality drop probability in training.
        seed: random seed.

    Example:
        >>> import numpy as np
        >>> layer = ModalityDropout()
        >>> feats, pres = layer({"a": np.ones((2, 3), "float32"), "b": np.ones((2, 3), "float32")},
        ...                     presence={"a": np.array([True, False]), "b": np.array([True, True])})
        >>> feats["a"].numpy().tolist()
        [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"ModalityDropout rate must be in [0, 1); received {rate}.")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, features, presence=None, training=None):
        names = sorted(features)
        first = features[names[0]]
        batch = ops.shape(first)[0]
        dtype = self.compute_dtype
        if presence is None:
            keep = ops.ones((batch, len(names)), dtype)
        else:
            keep = ops.stack([ops.reshape(ops.cast(presence[n], dtype), (-1,)) for n in names], axis=1)
        if training and self.rate > 0:
            drop = ops.cast(keras.random.uniform(ops.shape(keep), seed=self.seed_generator) < self.rate, dtype)
            dropped = keep * (1 - drop)
            # never drop every present modality of a sample: keep the original then
            none_left = ops.cast(ops.sum(dropped, axis=1, keepdims=True) == 0, dtype)
            keep = dropped + none_left * keep
        masked, out_presence = {}, {}
        for i, name in enumerate(names):
            x = features[name]
            k = ops.cast(keep[:, i], x.dtype)
            masked[name] = x * ops.reshape(k, (-1,) + (1,) * (len(x.shape) - 1))
            out_presence[name] = keep[:, i]
        return masked, out_presence

    def compute_output_shape(self, features_shape, presence_shape=None):
        return dict(features_shape), {n: (s[0],) for n, s in features_shape.items()}

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
