"""Image encoders on `keras.applications` backbones (MobileNetV3Small, EfficientNetB0, ResNet50).

One wrapper class, `ApplicationEncoder`, parameterised by backbone name;
`BACKBONES` is the registry of constructors. Each entry is also registered
as an mmzoo encoder under its name, through a thin subclass that fixes the
backbone (so `mmzoo.list_encoders("image")` lists it and `.keras` files name
it). Adding a backbone is one `BACKBONES` entry. Registry metadata:
`spec_options` (the smallest input they take, for tests) and `slow=True`
(tracing a training step of these graphs takes tens of seconds on CPU).
"""

import collections
import os
import re

import keras
from keras import ops

from mmzoo.encoders.base import Encoder, propagate_frozen, spatial_tokens
from mmzoo.registry import register_encoder

Backbone = collections.namedtuple("Backbone", ["constructor", "pixels", "class_name", "paper"])
"""A backbone entry: its `keras.applications` constructor, the pixel convention it
expects ("0-255": it rescales itself; "caffe": BGR, ImageNet mean subtracted), the
name of its registered encoder class and the paper."""

BACKBONES = {
    "mobilenet_v3_small": Backbone(
        keras.applications.MobileNetV3Small,
        "0-255",
        "MobileNetV3SmallEncoder",
        "Howard et al. 2019, Searching for MobileNetV3",
    ),
    "efficientnet_b0": Backbone(
        keras.applications.EfficientNetB0,
        "0-255",
        "EfficientNetB0Encoder",
        "Tan & Le 2019, EfficientNet: Rethinking Model Scaling for CNNs",
    ),
    "resnet50": Backbone(
        keras.applications.ResNet50,
        "caffe",
        "ResNet50Encoder",
        "He et al. 2016, Deep Residual Learning for Image Recognition",
    ),
}

MIN_SIZE = 32
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


def _check_size(height, width, backbone, what, fix):
    if (height is not None and height < MIN_SIZE) or (width is not None and width < MIN_SIZE):
        raise ValueError(
            f"{what}: the {backbone} backbone needs images of at least {MIN_SIZE}x{MIN_SIZE} pixels; "
            f"received {height}x{width}. {fix}"
        )


@keras.saving.register_keras_serializable(package="mmzoo")
class ApplicationEncoder(Encoder):
    """A `keras.applications` CNN backbone, global average pooled, then a Dense.

    The backbone is built with `include_top=False` and random weights, the
    ImageNet weights (`weights="imagenet"`, fetched into Keras's download
    cache, `$KERAS_HOME/models`, on first use), or weights from a local file. The
    `Image` spec gives pixels in [0, 1]; the encoder converts them to what
    the backbone expects (0-255 for EfficientNet and MobileNetV3, which
    rescale themselves; BGR with the ImageNet mean subtracted for ResNet50)
    and tiles grey images to 3 channels. Papers: Howard et al. 2019
    (MobileNetV3), Tan & Le 2019 (EfficientNet), He et al. 2016 (ResNet).

    `weights` is a one-time initialisation (`file_arguments`): `get_config`
    leaves it out and `from_config` ignores it, because a saved `.keras`
    model holds the weights themselves, so reloading it never opens a path.

    Args:
        backbone: a `BACKBONES` name: "mobilenet_v3_small", "efficientnet_b0", "resnet50".
        units: size of the output features.
        weights: None (random initialisation), "imagenet" (Keras's download
            cache; offline, an error names the file and where to put it), or
            the path of a local `.h5` / `.weights.h5` file of the backbone
            without its top (e.g. the `*_notop.h5` ImageNet files).
        freeze: freeze the backbone (its weights are not trained and its
            BatchNorm runs in inference mode); the output Dense still trains.
            (Keras's own `trainable=False` freezes the whole encoder.)
        dropout: dropout rate before the output projection.
        return_sequences: return one token per spatial position of the
            backbone's last feature map, `(batch, positions, units)`.
        backbone_options: extra keyword arguments of the `keras.applications`
            constructor (e.g. `{"alpha": 0.75, "minimalistic": True}` for MobileNetV3Small).

    Returns:
        `(batch, units)` features, or `(batch, positions, units)` tokens.

    Example:
        >>> import numpy as np
        >>> enc = ApplicationEncoder("mobilenet_v3_small", units=16, freeze=True)
        >>> tuple(enc(np.zeros((2, 32, 32, 1), "float32")).shape)
        (2, 16)
    """

    default_backbone = None
    file_arguments = ("weights",)

    def __init__(
        self,
        backbone=None,
        units=128,
        weights=None,
        freeze=False,
        dropout=0.0,
        return_sequences=False,
        backbone_options=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        backbone = backbone or self.default_backbone
        if backbone not in BACKBONES or (self.default_backbone and backbone != self.default_backbone):
            known = (self.default_backbone,) if self.default_backbone else tuple(BACKBONES)
            raise ValueError(
                f"{type(self).__name__} '{self.name}': unknown backbone {backbone!r}; choose from {', '.join(known)}."
            )
        imagenet = isinstance(weights, str) and weights == "imagenet"
        if weights is not None and not imagenet and not os.path.isfile(os.fspath(weights)):
            raise FileNotFoundError(
                f"Encoder '{self.name}': {backbone} weights file {os.fspath(weights)!r} "
                f"not found. Pass the path of a local .h5/.weights.h5 file, or weights=None."
            )
        self.backbone_name = backbone
        self.units = units
        self.freeze = freeze
        self.dropout = dropout
        self.return_sequences = return_sequences
        self.backbone_options = dict(backbone_options or {})
        entry = BACKBONES[backbone]
        try:
            self.backbone = entry.constructor(
                include_top=False,
                weights="imagenet" if imagenet else None if weights is None else os.fspath(weights),
                input_shape=(None, None, 3),
                **self.backbone_options,
            )
        except Exception as error:
            if not imagenet:
                raise
            raise imagenet_weights_error(self.name, backbone, error) from error
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.drop = keras.layers.Dropout(dropout)
        self.proj = keras.layers.Dense(units, activation="relu", name="proj")
        propagate_frozen(self)
        if freeze:
            self.backbone.trainable = False

    @classmethod
    def from_spec(cls, spec, **options):
        height, width = (spec.resize or spec.shape)[:2]
        _check_size(
            height,
            width,
            options.get("backbone") or cls.default_backbone,
            f"Image input '{spec.name}'",
            f"Pass mmzoo.Image('{spec.name}', ..., resize=({MIN_SIZE}, {MIN_SIZE})) or larger, "
            f"or use the 'cnn' or 'resnet' encoder.",
        )
        return super().from_spec(spec, **options)

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] not in (1, 3):
            raise ValueError(
                f"Encoder '{self.name}' expects images (batch, height, width, 1 or 3); "
                f"received shape {tuple(input_shape)}."
            )
        _check_size(
            input_shape[1],
            input_shape[2],
            self.backbone_name,
            f"Encoder '{self.name}'",
            f"Resize the images (mmzoo.Image(..., resize=({MIN_SIZE}, {MIN_SIZE}))).",
        )
        self.proj.build((None, self.backbone.output.shape[-1]))

    def _pixels(self, x):
        """[0, 1] grey or RGB pixels -> what the backbone expects."""
        x = ops.cast(x, self.compute_dtype)
        if x.shape[-1] == 1:
            x = ops.concatenate([x, x, x], axis=-1)
        x = x * ops.cast(255.0, x.dtype)
        if BACKBONES[self.backbone_name].pixels == "caffe":
            x = ops.flip(x, axis=-1) - ops.cast(CAFFE_BGR_MEAN, x.dtype)
        return x

    def call(self, x, training=None):
        x = self.backbone(self._pixels(x), training=bool(training) and self.backbone.trainable)
        x = spatial_tokens(x) if self.return_sequences else self.pool(x)
        return self.proj(self.drop(x, training=training))

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            shape = self.backbone.compute_output_shape(tuple(input_shape[:3]) + (3,))
            return (input_shape[0], shape[1] * shape[2], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": self.backbone_name,
            "units": self.units,
            "freeze": not self.backbone.trainable,
            "dropout": self.dropout,
            "return_sequences": self.return_sequences,
            "backbone_options": dict(self.backbone_options),
        }


def keras_cache_dir():
    """Where `keras.utils.get_file` keeps downloaded weights: `$KERAS_HOME/models` (default `~/.keras/models`)."""
    from keras.src.backend import config

    base = os.path.expanduser(config.keras_home())
    if not os.access(base, os.W_OK) and not os.access(os.path.dirname(base) or ".", os.W_OK):
        base = os.path.join("/tmp", ".keras")  # where get_file falls back to
    return os.path.join(base, "models")


def imagenet_weights_error(name, backbone, error):
    """An `OSError` for ImageNet weights that could not be fetched: the file, where to put it, the alternative."""
    found = re.search(r"https?://\S+?\.h5", str(error))
    url = found.group(0) if found else None
    file = os.path.basename(url) if url else f"the {backbone} no-top .h5 file"
    where = os.path.join(keras_cache_dir(), os.path.basename(url) if url else "")
    return OSError(
        f"Encoder '{name}': the ImageNet weights of {backbone} are not in Keras's cache and could not be "
        f"downloaded ({type(error).__name__}: {str(error).splitlines()[0][:300]}). Offline, download "
        f"{url or file} on a machine with network and put it at {where} (Keras's cache, under $KERAS_HOME), "
        f"or pass weights='<path to {file}>'."
    )


def _register(name, entry):
    """The encoder class registered as `name`: `ApplicationEncoder` with the backbone fixed."""
    doc = (
        f"{entry.constructor.__name__} encoder (`ApplicationEncoder(backbone={name!r})`); "
        f"{entry.paper}.\n\n    See `ApplicationEncoder` for the arguments.\n"
    )
    cls = type(
        entry.class_name, (ApplicationEncoder,), {"default_backbone": name, "__doc__": doc, "__module__": __name__}
    )
    return register_encoder(
        name, modalities=("image",), paper=entry.paper, spec_options={"shape": (MIN_SIZE, MIN_SIZE, 3)}, slow=True
    )(cls)


for _name, _entry in BACKBONES.items():
    globals()[_entry.class_name] = _register(_name, _entry)

__all__ = ["ApplicationEncoder", "BACKBONES"] + [entry.class_name for entry in BACKBONES.values()]
