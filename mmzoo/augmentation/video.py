"""Video augmentations: one spatial transformation per clip (every frame alike) and temporal jitter."""

import keras
from keras import ops

from mmzoo.augmentation.random_layer import RandomLayer
from mmzoo.registry import register_augmentation


@keras.saving.register_keras_serializable(package="mmzoo")
class PerClip(keras.layers.Layer):
    """Applies an image layer to `(batch, frames, height, width, channels)` clips, one draw per clip.

    The frames are folded into the channel axis (`(batch, height, width,
    frames * channels)`), so a geometric or contrast transformation drawn
    once per image moves every frame of a clip together: the motion between
    frames stays what it was.

    Args:
        layer: a Keras image layer (e.g. `keras.layers.RandomFlip`).

    Example:
        >>> import numpy as np
        >>> clip = np.arange(2 * 2 * 3, dtype="float32").reshape(1, 2, 1, 3, 2)
        >>> out = PerClip(keras.layers.RandomFlip("horizontal", seed=0))(clip, training=True)
        >>> flipped = np.asarray(out)[0, :, 0, ::-1]
        >>> bool((flipped == clip[0, :, 0]).all() or (np.asarray(out) == clip).all())
        True
    """

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = keras.layers.deserialize(layer) if isinstance(layer, dict) else layer

    def build(self, input_shape):
        _, frames, height, width, channels = input_shape
        if not self.layer.built:
            self.layer.build((None, height, width, frames * channels))
        self.built = True

    def call(self, clips, training=True):
        if not training:
            return clips
        _, frames, height, width, channels = clips.shape
        folded = ops.reshape(ops.transpose(clips, (0, 2, 3, 1, 4)), (-1, height, width, frames * channels))
        out = ops.reshape(self.layer(folded, training=True), (-1, height, width, frames, channels))
        return ops.transpose(out, (0, 3, 1, 2, 4))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "layer": keras.layers.serialize(self.layer)}


@keras.saving.register_keras_serializable(package="mmzoo")
class TemporalJitter(RandomLayer):
    """Shifts each clip by a random number of frames in `[-max_shift, max_shift]`, repeating its edge frames.

    The clip keeps its length (the model's frame count is fixed); the data
    pipeline's random sampling offset (training) jitters where clips start in
    a file, this jitters within the decoded clip.

    Example:
        >>> import numpy as np
        >>> clip = np.arange(4, dtype="float32").reshape(1, 4, 1, 1, 1)
        >>> out = np.asarray(TemporalJitter(0)(clip, training=True))
        >>> out.ravel().tolist()
        [0.0, 1.0, 2.0, 3.0]
    """

    def __init__(self, max_shift=2, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if int(max_shift) != max_shift or max_shift < 0:
            raise ValueError(f"TemporalJitter max_shift must be a non-negative int; received {max_shift!r}.")
        self.max_shift = int(max_shift)

    def call(self, clips, training=True):
        if not training or self.max_shift == 0:
            return clips
        frames = clips.shape[1]
        batch = ops.shape(clips)[0]
        shift = ops.floor(self.uniform((batch, 1), -self.max_shift, self.max_shift + 1))
        index = ops.cast(ops.clip(ops.arange(frames, dtype="float32")[None, :] + shift, 0, frames - 1), "int32")
        return ops.take_along_axis(clips, ops.reshape(index, (-1, frames, 1, 1, 1)), axis=1)

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift}


def per_clip(build):
    """Wraps an image augmentation's builder so a `Video` spec gets it per clip (`PerClip`)."""

    def video_or_image(spec, **options):
        layer = build(spec, **options)
        return PerClip(layer) if spec.modality == "video" else layer

    video_or_image.__doc__ = build.__doc__
    return video_or_image


@register_augmentation("temporal_jitter", modalities=("video",), stage="features", primary="max_shift")
def temporal_jitter(spec, **options):
    """`TemporalJitter`: each clip shifted by up to `max_shift` frames (edge frames repeated)."""
    return TemporalJitter(**options)
