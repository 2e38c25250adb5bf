"""Video input: a clip of T frames, rescaled and resized in the graph."""

import dataclasses

import keras
from keras import ops

from mmzoo.registry import register_spec
from mmzoo.specs.base import Spec


@keras.saving.register_keras_serializable(package="mmzoo")
class FrameResizing(keras.layers.Layer):
    """Resizes every frame of `(batch, frames, height, width, channels)` clips (bilinear).

    `keras.layers.Resizing` takes images only; this folds the frames into the
    batch, resizes, and unfolds them, so it exports like `Resizing` does.

    Args:
        height, width: the frame size out.

    Example:
        >>> import numpy as np
        >>> tuple(FrameResizing(4, 6)(np.zeros((2, 3, 8, 8, 1), "float32")).shape)
        (2, 3, 4, 6, 1)
    """

    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)

    def call(self, x):
        frames, channels = x.shape[1], x.shape[-1]
        flat = ops.reshape(x, (-1,) + tuple(x.shape[2:]))
        flat = ops.image.resize(flat, (self.height, self.width), interpolation="bilinear")
        return ops.reshape(flat, (-1, frames, self.height, self.width, channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


@dataclasses.dataclass(init=False, repr=False)
@register_spec("video")
class Video(Spec):
    """A video clip of `frames` frames of `shape=(height, width, channels)`, grey or RGB.

    The model takes `(batch, frames, height, width, channels)` pixels: uint8
    (rescaled to [0, 1] in the graph) or float32 in [0, 1] (override with
    `scale`). With `resize` the frames are resized in the graph. A clip must
    have exactly `frames` frames: the data pipeline (`mmzoo.data`) samples
    longer clips (uniformly in evaluation, with a random offset in training)
    and pads shorter ones by repeating their last frame; the model itself
    refuses any other frame count with an error saying so.

    Args:
        name: input name.
        frames: frames per clip (T).
        shape: `(height, width, channels)` of each frame the model receives.
        dtype: "uint8" or "float32".
        resize: optional `(height, width)` the encoder works at.
        scale: multiplier applied in the graph; default 1/255 for uint8, 1 for float.

    Example:
        >>> clip = Video("clip", frames=8, shape=(32, 32, 3))
        >>> tuple(clip.input().shape)
        (None, 8, 32, 32, 3)
    """

    frames: int = 16
    frame_shape: tuple = (112, 112, 3)
    dtype: str = "uint8"
    resize: tuple = None
    scale: float = None

    modality = "video"
    default_encoder = "frame_pool"

    def __init__(self, name, frames=16, shape=(112, 112, 3), dtype="uint8", resize=None, scale=None):
        self.name = name
        self.frames = frames
        self.frame_shape = shape
        self.dtype = dtype
        self.resize = resize
        self.scale = scale
        self.__post_init__()

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.frames, int) or isinstance(self.frames, bool) or self.frames < 1:
            raise ValueError(
                f"Video input '{self.name}' expects frames=<a positive int> (frames per clip); "
                f"received {self.frames!r}."
            )
        self.frame_shape = tuple(int(d) for d in self.frame_shape)
        if len(self.frame_shape) != 3 or self.frame_shape[-1] not in (1, 3):
            raise ValueError(
                f"Video input '{self.name}' expects shape=(height, width, channels) of one frame, with "
                f"1 (grey) or 3 (RGB) channels; received shape={self.frame_shape}. The frame count "
                f"goes in frames=."
            )
        if self.dtype not in ("uint8", "float32"):
            raise ValueError(f"Video input '{self.name}' expects dtype 'uint8' or 'float32'; received {self.dtype!r}.")
        if self.resize is not None:
            self.resize = tuple(int(d) for d in self.resize)
        if self.scale is None:
            self.scale = 1.0 / 255.0 if self.dtype == "uint8" else 1.0

    def __repr__(self):
        return (
            f"Video(name={self.name!r}, frames={self.frames}, shape={self.frame_shape}, dtype={self.dtype!r}, "
            f"resize={self.resize}, scale={self.scale})"
        )

    @property
    def shape(self):
        """`(frames, height, width, channels)`: one clip, as the model receives it."""
        return (self.frames,) + self.frame_shape

    def describe(self):
        height, width, channels = self.frame_shape
        return (
            f"{self.dtype} clips of shape (batch, {self.frames}, {height}, {width}, {channels}) "
            f"({self.frames} frames of {height}x{width}, {'grey' if channels == 1 else 'RGB'})"
        )

    def preprocess(self, x):
        x = keras.layers.Rescaling(self.scale, name=f"{self.name}_rescale")(x)
        if self.resize is not None:
            x = FrameResizing(*self.resize, name=f"{self.name}_resize")(x)
        return x

    def get_config(self):
        config = super().get_config()
        config["shape"] = config.pop("frame_shape")
        return config
