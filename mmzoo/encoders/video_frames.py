"""Video encoders that run an image encoder of the zoo on every frame, then a temporal model.

`FrameEncoder` folds the frames of a clip into the batch, applies any
registered image encoder (the small `cnn`, `resnet`, or a `keras.applications`
backbone with local pretrained weights), unfolds the per-frame features into a
`(batch, frames, units)` sequence, and summarises it over time: mean or max
pooling, or a sequence encoder of the zoo (`gru`, `lstm`, `bilstm`,
`transformer`). Two registered presets fix the default temporal model:
`frame_pool` (pooling, as the single-frame/late-fusion baselines of Karpathy
et al. 2014 and the feature pooling of Ng et al. 2015) and `frame_rnn` (a
recurrent model over frame features, as LRCN, Donahue et al. 2015).
"""

from keras import ops

from mmzoo.encoders.base import Encoder, propagate_frozen
from mmzoo.registry import ENCODERS, register_encoder

POOLINGS = ("mean", "max")


def fold_frames(x):
    """`(batch, frames, ...)` -> `(batch * frames, ...)`: frames become examples."""
    return ops.reshape(x, (-1,) + tuple(x.shape[2:]))


def unfold_frames(x, frames):
    """`(batch * frames, ...)` -> `(batch, frames, ...)`: the inverse of `fold_frames`."""
    return ops.reshape(x, (-1, frames) + tuple(x.shape[1:]))


def _registered(name, modality, what, owner):
    if not isinstance(name, str) or name not in ENCODERS or modality not in ENCODERS.meta(name).get("modalities", ()):
        known = ENCODERS.names(modalities=modality)
        extra = f" or one of {', '.join(POOLINGS)}" if what == "temporal" else ""
        raise ValueError(
            f"{owner}: {what}={name!r} is not a registered {modality} encoder; choose one of {', '.join(known)}{extra}."
        )
    return ENCODERS.get(name)


class FrameEncoder(Encoder):
    """An image encoder applied to every frame, then pooling or a sequence encoder over the frames.

    Args:
        image_encoder: name of a registered image encoder (`mmzoo.list_encoders("image")`).
        image_options: its keyword arguments (e.g. `{"filters": (16, 32)}`, or
            `{"weights": "<path>.h5", "freeze": True}` for a pretrained
            `keras.applications` backbone; file paths are read once, and a
            saved model holds the weights, not the path).
        temporal: "mean" or "max" pooling over frames, or the name of a
            registered sequence encoder taking features ("gru", "lstm",
            "bilstm", "transformer").
        temporal_options: keyword arguments of that sequence encoder.
        units: features per frame (the image encoder's `units`) and of the
            temporal model, unless their options say otherwise.
        return_sequences: return one token per frame `(batch, frames, dim)`
            (for the attention fusions) instead of one vector.

    Returns:
        `(batch, dim)` features, or `(batch, frames, dim)` frame tokens.
    """

    default_temporal = "mean"
    file_arguments = ()

    def __init__(
        self,
        image_encoder="cnn",
        image_options=None,
        temporal=None,
        temporal_options=None,
        units=128,
        return_sequences=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_encoder = image_encoder
        self.temporal = temporal or self.default_temporal
        self.units = units
        self.return_sequences = return_sequences
        owner = f"{type(self).__name__} '{self.name}'"
        image_cls = _registered(image_encoder, "image", "image_encoder", owner)
        options = dict(image_options or {})
        # a one-time file (pretrained weights) is used now and never written to the config
        self.image_options = {k: v for k, v in options.items() if k not in image_cls.file_arguments}
        self.temporal_options = dict(temporal_options or {})
        self.frame_encoder = image_cls(**{"units": units, **options}, name="frames")
        self.temporal_model = None
        if self.temporal not in POOLINGS:
            temporal_cls = _registered(self.temporal, "features", "temporal", owner)
            self.temporal_model = temporal_cls(
                **{"units": units, **self.temporal_options}, return_sequences=return_sequences, name="temporal"
            )
        propagate_frozen(self)

    def _check(self, input_shape):
        if len(input_shape) != 5 or input_shape[1] is None:
            raise ValueError(
                f"Encoder '{self.name}' expects clips (batch, frames, height, width, channels) with a known "
                f"frame count (a mmzoo.Video input); received shape {tuple(input_shape)}."
            )

    def build(self, input_shape):
        self._check(input_shape)
        frame_shape = (None,) + tuple(input_shape[2:])
        self.frame_encoder.build(frame_shape)
        dim = self.frame_encoder.compute_output_shape(frame_shape)[-1]
        if self.temporal_model is not None:
            self.temporal_model.build((None, input_shape[1], dim))

    def call(self, x, training=None):
        frames = x.shape[1]
        features = unfold_frames(self.frame_encoder(fold_frames(x), training=training), frames)
        if self.temporal_model is not None:
            return self.temporal_model(features, training=training)
        if self.return_sequences:
            return features
        return ops.max(features, axis=1) if self.temporal == "max" else ops.mean(features, axis=1)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        frame_shape = (None,) + tuple(input_shape[2:])
        dim = self.frame_encoder.compute_output_shape(frame_shape)[-1]
        if self.temporal_model is not None:
            shape = self.temporal_model.compute_output_shape((input_shape[0], input_shape[1], dim))
            return tuple(shape)
        if self.return_sequences:
            return (input_shape[0], input_shape[1], dim)
        return (input_shape[0], dim)

    def get_config(self):
        return {
            **super().get_config(),
            "image_encoder": self.image_encoder,
            "image_options": dict(self.image_options),
            "temporal": self.temporal,
            "temporal_options": dict(self.temporal_options),
            "units": self.units,
            "return_sequences": self.return_sequences,
        }


@register_encoder(
    "frame_pool",
    modalities=("video",),
    paper="Karpathy et al. 2014; Ng et al. 2015 (per-frame CNN, temporal pooling)",
)
class FramePoolEncoder(FrameEncoder):
    """A per-frame image encoder (default the small `cnn`) with mean pooling over frames.

    See `FrameEncoder` for the arguments (`temporal="max"` pools by maximum;
    `image_encoder="mobilenet_v3_small"` etc. runs any image encoder of the
    zoo on each frame).

    Example:
        >>> import numpy as np
        >>> enc = FramePoolEncoder(image_options={"filters": (4,)}, units=8)
        >>> tuple(enc(np.zeros((2, 3, 16, 16, 3), "float32")).shape)
        (2, 8)
    """

    default_temporal = "mean"


@register_encoder(
    "frame_rnn",
    modalities=("video",),
    paper="Donahue et al. 2015 (LRCN); Ng et al. 2015 (per-frame CNN, then a recurrent model)",
)
class FrameRNNEncoder(FrameEncoder):
    """A per-frame image encoder followed by a GRU over the frame features (or `temporal="lstm"`, "transformer").

    See `FrameEncoder` for the arguments.

    Example:
        >>> import numpy as np
        >>> enc = FrameRNNEncoder(image_options={"filters": (4,)}, units=8, return_sequences=True)
        >>> tuple(enc(np.zeros((2, 3, 16, 16, 3), "float32")).shape)
        (2, 3, 8)
    """

    default_temporal = "gru"
