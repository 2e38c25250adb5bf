"""`strip_augmentation`: the inference model, rebuilt without its `Augmentation` layers."""

import keras

from mmzoo.augmentation.stage import Augmentation


def has_augmentation(model):
    """True when `model`'s graph holds an `Augmentation` layer."""
    return any(isinstance(layer, Augmentation) for layer in getattr(model, "layers", ()))


def strip_augmentation(model):
    """`model` without its training augmentations: the same layers and weights, the `Augmentation` layers gone.

    `mmzoo.export` calls it for every format, so no export carries an
    augmentation op, weight or layer name; the outputs are those of `model`
    at inference (augmentations are identity there), and its specs declare
    none (so no MixUp/CutMix either). A model with no augmentation is
    returned as it is.

    Args:
        model: a functional model (a `mmzoo.MultimodalModel`).

    Returns:
        A model sharing `model`'s layers and weights, or `model` itself.
    """
    declared = any(c.get("augment") for c in getattr(model, "spec_configs", []))
    if not has_augmentation(model) and not declared:
        return model

    def call(layer, *args, **kwargs):
        return args[0] if isinstance(layer, Augmentation) else layer(*args, **kwargs)

    clone = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    kwargs = {}
    if hasattr(model, "spec_configs"):
        kwargs = {"specs": [{**c, "augment": None} for c in model.spec_configs], "task": model.task_config}
    return type(model)(inputs=clone.input, outputs=clone.output, name=model.name, **kwargs)
