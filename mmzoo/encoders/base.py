"""The encoder base class: a Keras layer mapping one preprocessed input to features."""

import keras
from keras import ops


def with_channels(x):
    """Adds a channel axis to `(batch, time, bins)` log-mel/MFCC frames; images pass through."""
    return ops.expand_dims(x, -1) if len(x.shape) == 3 else x


def image_shape(input_shape):
    """`input_shape` as `(batch, height, width, channels)`, adding the channel axis of audio frames."""
    shape = tuple(input_shape)
    return shape + (1,) if len(shape) == 3 else shape


def spatial_tokens(x):
    """`(batch, height, width, channels)` feature maps -> `(batch, height * width, channels)` tokens."""
    return ops.reshape(x, (-1, x.shape[1] * x.shape[2], x.shape[3]))


def propagate_frozen(layer):
    """Re-applies `trainable=False` to the sublayers of a composite layer built frozen.

    Keras applies the `trainable` argument in `Layer.__init__`, before a
    composite layer creates its sublayers, and on TensorFlow assigning
    `layer.trainable = False` when it already is False does nothing
    (`KerasAutoTrackable.__setattr__` skips same-value assignments). Without
    this, a frozen encoder rebuilt from its config (e.g. a reloaded `.keras`
    model) would train its sublayers. Call it at the end of `__init__`.
    """
    if not layer.trainable:
        keras.layers.Layer.trainable.fset(layer, False)


class Encoder(keras.layers.Layer):
    """Base class of mmzoo encoders.

    An encoder maps one preprocessed input (token ids or a bag of words,
    pixels, log-mel/MFCC frames or a waveform, feature vectors or sequences)
    to a feature vector `(batch, units)`, or, built with
    `return_sequences=True`, to a token sequence `(batch, steps, units)` for
    the attention fusions (image CNNs: one token per spatial position; vector
    inputs: a single token). Subclasses store their constructor arguments,
    build sublayers in `__init__`, and return exactly those arguments from
    `get_config`.

    Class attributes:
        accepts: optional dict of spec attribute -> allowed values (e.g.
            `{"output_mode": ("multi_hot", "count", "tf_idf")}`);
            `from_spec` refuses other specs with a message saying what to set.
        file_arguments: constructor arguments that are file paths; never
            written to or restored from a config.
    """

    accepts = {}
    # Constructor arguments that name a file read once, at construction (e.g. local pretrained
    # weights). A saved model already holds what they loaded, so `get_config` leaves them out and
    # `from_config` drops them: loading a model never opens a path written in the file it loads.
    file_arguments = ()

    @classmethod
    def from_config(cls, config):
        """Rebuilds the encoder from `get_config()` output, ignoring any `file_arguments` in it."""
        return super().from_config({k: v for k, v in config.items() if k not in cls.file_arguments})

    @classmethod
    def from_spec(cls, spec, **options):
        """Builds the encoder for input `spec`, merging what the spec dictates."""
        for attribute, allowed in cls.accepts.items():
            if not hasattr(spec, attribute):
                continue  # e.g. output_mode constrains Text specs only
            value = getattr(spec, attribute)
            if value not in allowed:
                raise ValueError(
                    f"Encoder {cls.__name__} does not take {spec.modality} input '{spec.name}' with "
                    f"{attribute}={value!r}; it needs {attribute} in {tuple(allowed)}. Set it on the "
                    f"spec, e.g. mmzoo.{type(spec).__name__}(..., {attribute}={allowed[0]!r})."
                )
        return cls(**{**spec.encoder_kwargs(), **options})
