"""The base of mmzoo's random augmentation layers: a seed and a seed generator."""

import keras


class RandomLayer(keras.layers.Layer):
    """A layer with a seed generator; subclasses draw with `self.uniform` or `keras.random.*(seed=self.seed_generator)`."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def uniform(self, shape, low=0.0, high=1.0):
        return keras.random.uniform(shape, low, high, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
