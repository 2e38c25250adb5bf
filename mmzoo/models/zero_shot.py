"""Zero-shot image classification with a pretrained CLIP or SigLIP preset: classes described by prompt templates.

Radford et al. 2021 (CLIP), section 3.1.4: each class name is written into
prompt templates ("a photo of a {}."), the text tower embeds the prompts,
their normalized mean is the class's embedding, and an image's class
probabilities are the softmax of its scaled cosine similarities to them.
SigLIP (Zhai et al. 2023) was trained with a sigmoid per (image, text)
pair, so its probabilities are `sigmoid(scale * cos + bias)`, one
independent match probability per class: they need not sum to one (an
image may match none or several classes), as SigLIP reports them.
The result is an ordinary mmzoo model (image in, `probabilities` out) that
saves, exports and predicts like any other; the prompts are embedded once,
when it is built.
"""

import math

import keras
import numpy as np
from keras import ops

from mmzoo.models.core import finish_model
from mmzoo.tasks.task import Classification

DEFAULT_TEMPLATES = ("a photo of a {}.",)


@keras.saving.register_keras_serializable(package="mmzoo")
class ZeroShotLogits(keras.layers.Layer):
    """`scale * normalize(x) @ class_embeddings.T + bias`: fixed class embeddings (from prompts), scale and bias.

    Args:
        num_classes: number of classes.
        units: embedding size.
        scale: the logit scale (the preset's learned `exp(logit_scale)`).
        bias: the logit bias (SigLIP's learned `logit_bias`; CLIP: 0).
    """

    def __init__(self, num_classes, units, scale=100.0, bias=0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.units = int(units)
        self.scale = float(scale)
        self.bias = float(bias)

    def build(self, input_shape):
        self.class_embeddings = self.add_weight(
            shape=(self.num_classes, self.units), name="class_embeddings", initializer="zeros", trainable=False
        )

    def call(self, x):
        x = ops.cast(x, "float32")
        x = x / ops.sqrt(ops.maximum(ops.sum(x * x, axis=-1, keepdims=True), 1e-12))
        return self.scale * ops.matmul(x, ops.transpose(ops.cast(self.class_embeddings, "float32"))) + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "units": self.units,
            "scale": self.scale,
            "bias": self.bias,
        }


def zero_shot_classifier(
    preset, image, class_names, templates=DEFAULT_TEMPLATES, sequence_length=None, name="zero_shot"
):
    """A classifier of `image` input into `class_names`, from a CLIP or SigLIP preset, with no training.

    Args:
        preset: a KerasHub CLIP or SigLIP preset (name, local directory or handle).
        image: the `mmzoo.Image` input spec.
        class_names: the class names, written into each template.
        templates: prompt templates with one `{}` for the class name.
        sequence_length: tokens kept per prompt, special tokens included
            (None: the text tower's context, 77 for CLIP, 64 for SigLIP;
            SigLIP prompts are padded to the context in any case).
        name: model name.

    Returns:
        A `mmzoo.MultimodalModel` with a `Classification(class_names=...)`
        task: image in, `probabilities` out: CLIP's softmax over the classes,
        SigLIP's independent sigmoid per class.

    Usage: docs/pretrained.md (tiny presets written offline, and real preset names).
    """
    from mmzoo.encoders.hub_preprocessing import require_keras_hub
    from mmzoo.encoders.keras_hub import KerasHubEncoder

    require_keras_hub("zero_shot_classifier")
    class_names = [str(c) for c in class_names]
    if not class_names or any("{}" not in t for t in templates):
        raise ValueError(
            f"zero_shot_classifier needs class names and templates with one '{{}}' for the name; received "
            f"class_names={class_names!r}, templates={list(templates)!r}."
        )
    text = KerasHubEncoder(preset, modality="text", name="prompt_encoder")
    if not text.similarity:
        raise ValueError(
            f"zero_shot_classifier needs a CLIP or SigLIP preset (a text and a vision tower); {preset!r} is a "
            f"{type(text.tower[0]).__name__}."
        )
    tokenizer = text.tokenizer(sequence_length)
    prompts = np.array([t.format(c) for c in class_names for t in templates], dtype=object)
    embedded = ops.convert_to_numpy(text(tokenizer(prompts))).astype("float32")
    embedded /= np.linalg.norm(embedded, axis=-1, keepdims=True) + 1e-12
    classes = embedded.reshape(len(class_names), len(templates), -1).mean(axis=1)
    classes /= np.linalg.norm(classes, axis=-1, keepdims=True) + 1e-12
    head = text.similarity
    scale, bias = math.exp(head["log_scale"]), head["bias"] or 0.0

    x = image.input()
    encoder = KerasHubEncoder(preset, modality="image", name=f"{image.name}_encoder")
    features = encoder(image.preprocess(x))
    logits_layer = ZeroShotLogits(
        len(class_names), classes.shape[-1], scale, bias, name=f"{name}_logits", dtype="float32"
    )
    logits = logits_layer(features)
    logits_layer.class_embeddings.assign(classes)
    activation = "sigmoid" if head["loss"] == "sigmoid" else "softmax"
    probabilities = keras.layers.Activation(activation, name="probabilities", dtype="float32")(logits)
    task = Classification(num_classes=len(class_names), class_names=class_names)
    return finish_model({image.name: x}, probabilities, [image], task, name, compile=False)
