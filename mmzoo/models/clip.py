"""CLIP-style dual encoder: contrastive retrieval between two modalities (CLIP's softmax or SigLIP's sigmoid loss)."""

import dataclasses
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
    """`exp(t) * a @ b.T (+ b)` with a learnable log-scale `t` (Radford et al. 2021) and, for SigLIP, a bias.

    Build it with `dtype="float32"`, so it stays float32 under mixed precision.

    Args:
        initial_temperature: starting temperature (CLIP: 0.07, i.e. scale 1/0.07; SigLIP: 0.1).
        max_scale: the scale `exp(t)` is clipped to this (CLIP: 100); None: not clipped (SigLIP).
        initial_bias: starting value of a learned bias added to every logit
            (SigLIP: -10, Zhai et al. 2023); None: no bias (CLIP).
    """

    def __init__(self, initial_temperature=0.07, max_scale=100.0, initial_bias=None, **kwargs):
        super().__init__(**kwargs)
        self.initial_temperature = initial_temperature
        self.max_scale = max_scale
        self.initial_bias = initial_bias

    def build(self, input_shape):
        self.log_scale = self.add_weight(
            shape=(),
            name="log_scale",
            dtype="float32",
            initializer=keras.initializers.Constant(math.log(1.0 / self.initial_temperature)),
        )
        self.bias = None
        if self.initial_bias is not None:
            self.bias = self.add_weight(
                shape=(), name="bias", dtype="float32", initializer=keras.initializers.Constant(self.initial_bias)
            )

    def call(self, inputs):
        a, b = inputs
        scale = ops.exp(self.log_scale)
        if self.max_scale is not None:
            scale = ops.minimum(scale, self.max_scale)
        logits = scale * ops.matmul(a, ops.transpose(b))
        return logits if self.bias is None else logits + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[1][0])

    def get_config(self):
        return {
            **super().get_config(),
            "initial_temperature": self.initial_temperature,
            "max_scale": self.max_scale,
            "initial_bias": self.initial_bias,
        }


# The similarity layer's start without a pretrained head: CLIP's temperature 0.07 (scale clipped to 100);
# SigLIP's scale 10 and bias -10 (Zhai et al. 2023, section 3.3), scale unclipped.
LOSS_DEFAULTS = {
    "softmax": {"initial_temperature": 0.07, "max_scale": 100.0, "initial_bias": None},
    "sigmoid": {"initial_temperature": 0.1, "max_scale": None, "initial_bias": -10.0},
}


def pretrained_head(features):
    """The similarity head (`{"loss", "log_scale", "bias"}`) the encoders bring (CLIP/SigLIP towers), or None.

    Towers of two different presets bring two heads: they must agree (a CLIP text tower beside a SigLIP
    image tower has no one head to start from), else the choice would follow the inputs' names.
    """
    heads = {}
    for key in sorted(features):
        history = getattr(features[key], "_keras_history", None)
        head = getattr(getattr(history, "operation", None), "similarity", None)
        if head:
            heads[key] = head
    if len({repr(sorted(head.items())) for head in heads.values()}) > 1:
        described = "; ".join(f"'{key}': {head}" for key, head in heads.items())
        raise ValueError(
            f"clip: the towers come from presets with different similarity heads ({described}); use the two "
            f"towers of one preset, or pass loss= and initial_temperature= (and initial_bias=) yourself."
        )
    return next(iter(heads.values()), None)


def check_loss(loss, task):
    if loss is not None and loss not in LOSS_DEFAULTS:
        raise ValueError(f"clip: loss must be one of {', '.join(LOSS_DEFAULTS)}; received {loss!r}.")
    if loss is not None and task.loss_type is not None and loss != task.loss_type:
        raise ValueError(f"clip: loss={loss!r} but the task says loss_type={task.loss_type!r}; pass one of them.")


def similarity_options(loss, task, head, initial_temperature, initial_bias):
    """`(task with its loss_type set, ContrastiveLogits options)` for the clip architecture (`loss` checked)."""
    loss = loss or task.loss_type or (head["loss"] if head else "softmax")
    options = dict(LOSS_DEFAULTS[loss])
    if head and head["loss"] == loss:  # the preset was trained with this loss: start from its learned head
        options.update(initial_temperature=math.exp(-head["log_scale"]), initial_bias=head["bias"])
    if initial_temperature is not None:
        options["initial_temperature"] = initial_temperature
    if initial_bias is not None:
        if loss == "softmax":
            raise ValueError("clip: initial_bias is SigLIP's (loss='sigmoid'); the softmax loss has no bias.")
        options["initial_bias"] = initial_bias
    return dataclasses.replace(task, loss_type=loss), options


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
    initial_temperature=None,
    augment=None,
    loss=None,
    initial_bias=None,
):
    """A dual encoder trained with a contrastive loss; outputs the similarity matrix.

    Each of the two inputs gets its encoder, a linear projection to
    `task.embedding_dim` and L2 normalisation (layer `<input>_embedding`);
    the output is the `(batch, batch)` matrix of scaled cosine similarities
    (plus a learned bias with the sigmoid loss). Datasets need no labels:
    row `i` matches column `i`. Use `mmzoo.encoder_model(model, name)` to
    get one modality's encoder alone.

    `loss="softmax"` is CLIP's symmetric cross-entropy over the batch
    (Radford et al. 2021); `loss="sigmoid"` is SigLIP's pairwise sigmoid
    loss (Zhai et al. 2023), each pair a match/no-match question, with a
    learned bias. Default: sigmoid when the towers come from a SigLIP preset
    (`("keras_hub", {"preset": ...})`), else softmax. Towers from a CLIP or
    SigLIP preset start the scale (and SigLIP's bias) from the preset's
    learned head when the loss is the preset's own; otherwise CLIP's
    temperature 0.07, or SigLIP's scale 10 and bias -10.

    Args:
        initial_temperature: starting temperature (None: the default above).
        loss: "softmax" or "sigmoid" (None: the default above).
        initial_bias: starting bias of the sigmoid loss (None: the default above).

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
    check_loss(loss, task)  # before the (pretrained) encoders are built
    keras_inputs, features, _ = build_branches(inputs, encoders, name=name, augment=augment)
    given = loss is not None and initial_temperature is not None  # the head is the caller's: no preset's needed
    head = None if given else pretrained_head(features)
    task, options = similarity_options(loss, task, head, initial_temperature, initial_bias)
    embeddings = []
    for key in sorted(features):
        x = keras.layers.Dense(task.embedding_dim, name=f"{key}_projection")(features[key])
        embeddings.append(L2Normalize(name=f"{key}_embedding", dtype="float32")(x))
    logits = ContrastiveLogits(**options, name=task.output_name, dtype="float32")(embeddings)
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
