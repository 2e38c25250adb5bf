"""Image augmentations: Keras's own random preprocessing layers, on the encoder's [0, 1] pixels."""

import keras

from mmzoo.augmentation.video import per_clip
from mmzoo.registry import register_augmentation

# Pixels reach the augmentation after the spec's Rescaling (and Resizing): values in [0, 1].
UNIT_RANGE = (0.0, 1.0)


def _keras_layer(cls, **defaults):
    def build(spec, **options):
        return cls(**{**defaults, **options})

    build.__doc__ = f"`keras.layers.{cls.__name__}` with defaults {defaults} (options: its arguments)."
    return build


def _translation(spec, factor=0.1, **options):
    """`keras.layers.RandomTranslation`; a scalar `factor` moves up to that share of height and width."""
    options.setdefault("height_factor", factor)
    options.setdefault("width_factor", factor)
    return keras.layers.RandomTranslation(**options)


_IMAGE = {
    "flip": (_keras_layer(keras.layers.RandomFlip, mode="horizontal"), "mode"),
    "rotation": (_keras_layer(keras.layers.RandomRotation, factor=0.05), "factor"),
    "zoom": (_keras_layer(keras.layers.RandomZoom, height_factor=0.1), "height_factor"),
    "translation": (_translation, "factor"),
    "contrast": (_keras_layer(keras.layers.RandomContrast, factor=0.2, value_range=UNIT_RANGE), "factor"),
    "rand_augment": (_keras_layer(keras.layers.RandAugment, value_range=UNIT_RANGE), "num_ops"),
}
# Geometric and contrast changes also apply to video, drawn once per clip; RandAugment's colour ops need RGB images.
for _name, (_build, _primary) in _IMAGE.items():
    modalities = ("image",) if _name == "rand_augment" else ("image", "video")
    register_augmentation(_name, modalities=modalities, stage="features", primary=_primary)(per_clip(_build))
