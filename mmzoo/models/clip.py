"""CLIP-style dual encoder: contrastive retrieval between two modalities."""

import math

import keras
from keras import ops

from mmzoo.models.core import build_branches, check_inputs, finish_model
from mmzoo.registry import register_model
from mmzoo.tasks.task import Retrieval


@keras.saving.register_keras_serializable(package="mmzoo")
class L2Normalize(keras.layers.Layer):
    """Scales vectors to unit L2 norm along the last axis (build it with dtype="float32")."""

    def call(self, x):
        return x / ops.sqrt(ops.maximum(ops.sum(x * x, axis=-1, keepdims=True), 1e-12))


@keras.saving.register_keras_serializable(package="mmzoo")
class ContrastiveLogits(keras.layers.Layer):
    """`exp(t) * a @ b.T` with a learnable log-temperature `t` (Radford et al. 2021).

    Build it with `dtype="float32"`, so it stays float32 under mixed precision.

    Args:
        initial_temperature: starting temperature (CLIP: 0.07, i.e. scale 1/0.07).
        max_scale: the scale `exp(t)` is clipped to this (CLIP: 100).
    """

    def __init__(self, initial_temperature=0.07, max_scale=100.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_temperature = initial_temperature
        self.max_scale = max_scale

    def build(self, input_shape):
        self.log_scale = self.add_weight(
            shape=(),
            name="log_scale",
            dtype="float32",
            initializer=keras.initializers.Constant(math.log(1.0 / self.initial_temperature)),
        )

    def call(self, inputs):
        a, b = inputs
        scale = ops.minimum(ops.exp(self.log_scale), self.max_scale)
        return scale * ops.matmul(a, ops.transpose(b))

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[1][0])

    def get_config(self):
        return {**super().get_config(), "initial_temperature": self.initial_temperature, "max_scale": self.max_scale}


@register_model(
    "clip",
    paper="Radford et al. 2021, CLIP (contrastive dual encoder)",
    fuses="two modalities into one embedding space (retrieval)",
    task="retrieval",
    num_inputs=2,
)
def build_clip(
    inputs,
    task=None,
    encoders=None,
    name="clip",
    compile=True,
    learning_rate=1e-3,
    initial_temperature=0.07,
    augment=None,
):
    """A dual encoder trained with the symmetric contrastive loss; outputs the similarity matrix.

    Each of the two inputs gets its encoder, a linear projection to
    `task.embedding_dim` and L2 normalisation (layer `<input>_embedding`);
    the output is the `(batch, batch)` matrix of scaled cosine similarities.
    Datasets need no labels: row `i` matches column `i`. Use
    `mmzoo.encoder_model(model, name)` to get one modality's encoder alone.

    Example:
        >>> import mmzoo
        >>> model = mmzoo.build_model("clip", [mmzoo.Image("a", shape=(16, 16, 1)),
        ...     mmzoo.Audio("b", sample_rate=4000, seconds=0.25)], mmzoo.Retrieval(embedding_dim=8))
        >>> mmzoo.encoder_model(model, "a").output.shape
        (None, 8)
    """
    task = task or Retrieval()
    if not isinstance(task, Retrieval):
        raise ValueError(
            f"The clip architecture trains a Retrieval task; received {type(task).__name__}. "
            f"Pass task=mmzoo.Retrieval(embedding_dim=...)."
        )
    inputs = check_inputs(inputs, encoders)
    if len(inputs) != 2:
        raise ValueError(
            f"clip is a dual encoder: it takes exactly 2 inputs; received "
            f"{len(inputs)} ({', '.join(s.name for s in inputs)})."
        )
    keras_inputs, features, _ = build_branches(inputs, encoders, name=name, augment=augment)
    embeddings = []
    for key in sorted(features):
        x = keras.layers.Dense(task.embedding_dim, name=f"{key}_projection")(features[key])
        embeddings.append(L2Normalize(name=f"{key}_embedding", dtype="float32")(x))
    logits = ContrastiveLogits(initial_temperature, name=task.output_name, dtype="float32")(embeddings)
    return finish_model(keras_inputs, logits, inputs, task, name, compile, learning_rate, augment)


def encoder_model(model, input_name):
    """The sub-model from input `input_name` to its embedding (`<input>_embedding`), usable alone.

    Works on freshly built and on reloaded models; export it with
    `mmzoo.export` to serve one modality's embeddings.
    """
    try:
        output = model.get_layer(f"{input_name}_embedding").output
    except ValueError:
        known = sorted(layer.name[: -len("_embedding")] for layer in model.layers if layer.name.endswith("_embedding"))
        raise ValueError(
            f"Model '{model.name}' has no embedding for input '{input_name}'; it has: "
            f"{', '.join(known) or 'none (not a dual encoder)'}."
        ) from None
    return keras.Model(model.get_layer(input_name).output, output, name=f"encode_{input_name}")
