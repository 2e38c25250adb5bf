"""Image input: uint8 or float pixels, rescaled and optionally resized in the graph."""

import dataclasses

import keras

from mmzoo.registry import register_spec
from mmzoo.specs.base import Spec


@dataclasses.dataclass
@register_spec("image")
class Image(Spec):
    """An image input of a declared shape, grey (C=1) or RGB (C=3).

    uint8 pixels are rescaled to [0, 1] inside the model; float pixels are
    taken to be in [0, 1] already (override with `scale`). With `resize`, the
    model resizes inside the graph, so clients may send the declared `shape`
    while the encoder sees `resize` pixels.

    Args:
        name: input name.
        shape: `(height, width, channels)` of the pixels the model receives.
        dtype: "uint8" or "float32".
        resize: optional `(height, width)` the encoder works at.
        scale: multiplier applied in the graph; default 1/255 for uint8, 1 for float.

    Example:
        >>> spec = Image("poster", shape=(28, 28, 1))
        >>> tuple(spec.input().shape)
        (None, 28, 28, 1)
    """

    shape: tuple = (64, 64, 3)
    dtype: str = "uint8"
    resize: tuple = None
    scale: float = None

    modality = "image"
    default_encoder = "cnn"

    def __post_init__(self):
        super().__post_init__()
        self.shape = tuple(int(d) for d in self.shape)
        if len(self.shape) != 3 or self.shape[-1] not in (1, 3):
            raise ValueError(
                f"Image input '{self.name}' expects shape=(height, width, channels) with "
                f"1 (grey) or 3 (RGB) channels; received shape={self.shape}."
            )
        if self.dtype not in ("uint8", "float32"):
            raise ValueError(f"Image input '{self.name}' expects dtype 'uint8' or 'float32'; received {self.dtype!r}.")
        if self.resize is not None:
            self.resize = tuple(int(d) for d in self.resize)
        if self.scale is None:
            self.scale = 1.0 / 255.0 if self.dtype == "uint8" else 1.0

    def preprocess(self, x):
        x = keras.layers.Rescaling(self.scale, name=f"{self.name}_rescale")(x)
        if self.resize is not None:
            x = keras.layers.Resizing(*self.resize, name=f"{self.name}_resize")(x)
        return x
