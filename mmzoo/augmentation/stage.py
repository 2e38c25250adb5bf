"""`Augmentation`: the one layer that holds an input's training augmentations (and that exports strip)."""

import keras


@keras.saving.register_keras_serializable(package="mmzoo")
class Augmentation(keras.layers.Layer):
    """Applies a list of random layers in training; outside training it returns its input untouched.

    The branch builder puts one `Augmentation` on each augmented input
    (`<input>_augment` on the encoder's input, `<input>_augment_raw` on the
    raw waveform before the log-mel). The test of `training` is Python, so a
    graph traced for inference (`predict`, `evaluate`, every export) holds no
    op of it, and `mmzoo.export` goes further: it rebuilds the model without
    these layers (`mmzoo.augmentation.strip_augmentation`).

    Args:
        layers: the random layers, applied in order with `training=True`.

    Example:
        >>> import numpy as np
        >>> layer = Augmentation([keras.layers.RandomFlip("horizontal", seed=1)])
        >>> x = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)
        >>> bool((np.asarray(layer(x)) == x).all())
        True
    """

    def __init__(self, layers, **kwargs):
        super().__init__(**kwargs)
        self.augmenters = [keras.layers.deserialize(layer) if isinstance(layer, dict) else layer for layer in layers]
        self.supports_masking = True

    def build(self, input_shape):
        for layer in self.augmenters:
            if not layer.built:
                layer.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = inputs
        for layer in self.augmenters:
            x = layer(x, training=True)
        return keras.ops.cast(x, inputs.dtype) if x.dtype != inputs.dtype else x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "layers": [keras.layers.serialize(layer) for layer in self.augmenters]}
