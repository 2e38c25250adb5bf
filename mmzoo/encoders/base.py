"""The encoder base class: a Keras layer mapping one preprocessed input to features."""

import keras


class Encoder(keras.layers.Layer):
    """Base class of mmzoo encoders.

    An encoder maps one preprocessed input (token ids, pixels, log-mel frames,
    feature vectors) to a feature vector `(batch, dim)`, or a token sequence
    `(batch, steps, dim)` when built with `return_sequences=True` for the
    attention fusions. Subclasses store their constructor arguments, build
    sublayers in `__init__` and return exactly those arguments from
    `get_config`.
    """

    @classmethod
    def from_spec(cls, spec, **options):
        """Builds the encoder for input `spec`, merging what the spec dictates."""
        return cls(**{**spec.encoder_kwargs(), **options})
