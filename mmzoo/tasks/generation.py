"""TextGeneration: image, audio, text or features in, text out (captions, transcripts, answers)."""

import dataclasses

import keras
from keras import ops

from mmzoo.registry import register_task
from mmzoo.tasks.task import Task

DECODERS = ("transformer", "gpt2")


@keras.saving.register_keras_serializable(package="mmzoo")
class TokenAccuracy(keras.metrics.Mean):
    """Next-token accuracy under teacher forcing, padding (id 0) left out."""

    def __init__(self, name="token_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        hits = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), "float32")
        weights = ops.cast(ops.not_equal(y_true, 0), "float32")
        return super().update_state(hits, sample_weight=weights)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@dataclasses.dataclass
@register_task("text_generation")
class TextGeneration(Task):
    """Text out: a decoder conditioned on the encoders' fused representation, trained with teacher forcing.

    The model reads the raw target strings as an extra string input named
    `target` and tokenizes them in its graph (`CaptionTokenizer`: words of
    the standardized text, plus start and end tokens); its output is the
    next-token logits, and the loss is cross-entropy with padding masked.
    `model.generate(...)` decodes strings with a KerasHub sampler and a
    key/value cache.

    Conditioning (Vaswani et al. 2017; ClipCap, Mokady et al. 2021): a
    sequence fusion (`mult`, `transformer`) hands the decoder its token
    sequence, which the decoder cross-attends; a vector fusion (every other
    fusion architecture) goes through a mapping network to `prefix_length`
    embeddings that play the memory (ClipCap's prefix). With
    `decoder="gpt2"` a KerasHub GPT-2 backbone (`decoder_preset`) reads the
    prefix in front of the caption's embeddings instead. `late_fusion` (it
    averages per-modality decisions) and `clip` (a dual encoder) have no
    fused representation to condition on and are refused.

    Args:
        target: name of the target strings (a dataset's label, or a key of
            the input dict); must differ from the input names.
        max_length: most words in a target (longer targets are an error,
            never truncated) and the default generation length.
        vocabulary_size: most tokens, the 4 reserved ids included.
        vocabulary: the word list, set by `adapt(texts)` (or given).
        standardize: "lower_and_strip_punctuation" (default), "lower",
            "strip_punctuation" or None.
        decoder: "transformer" (trained from scratch) or "gpt2".
        decoder_preset: for "gpt2", a KerasHub GPT-2 preset name or
            directory; its byte-pair tokenizer replaces the word vocabulary
            (no `adapt` needed, `max_length` counts its tokens, the text is
            not standardized).
        units, num_heads, num_layers, dropout: the Transformer decoder's size.
        prefix_length: memory tokens made from a vector fusion.

    Example:
        >>> task = TextGeneration(target="caption", max_length=4).adapt(["a red circle", "a blue square"])
        >>> task.vocabulary
        ['a', 'blue', 'circle', 'red', 'square']
    """

    target: str = "text"
    max_length: int = 16
    vocabulary_size: int = 5000
    vocabulary: list = None
    standardize: str = "lower_and_strip_punctuation"
    decoder: str = "transformer"
    decoder_preset: str = None
    units: int = 64
    num_heads: int = 4
    num_layers: int = 2
    dropout: float = 0.1
    prefix_length: int = 4

    kind = "text_generation"
    output_name = "logits"

    def __post_init__(self):
        if not isinstance(self.target, str) or not self.target:
            raise ValueError(f"TextGeneration target must be a non-empty name; received {self.target!r}.")
        for field in ("max_length", "vocabulary_size", "units", "num_heads", "num_layers", "prefix_length"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TextGeneration {field} must be a positive integer; received {value!r}.")
        if self.decoder not in DECODERS:
            raise ValueError(f"TextGeneration decoder must be one of {DECODERS}; received {self.decoder!r}.")
        if self.decoder == "gpt2" and not self.decoder_preset:
            raise ValueError(
                'TextGeneration(decoder="gpt2") needs decoder_preset= (a KerasHub GPT-2 preset name or directory).'
            )
        if self.vocabulary is not None:
            self.vocabulary = [str(w) for w in self.vocabulary]

    def adapt(self, texts):
        """Sets `vocabulary` to the most frequent words of the training targets; returns the task."""
        from mmzoo.models.caption_tokenizer import build_vocabulary

        self.vocabulary = build_vocabulary(
            list(texts), self.max_length, self.vocabulary_size, self.standardize, self.target
        )
        return self

    @property
    def output_units(self):
        return self.vocabulary_size

    def logits(self, x, name="head_logits"):
        raise ValueError(
            "TextGeneration conditions one decoder on one fused representation; this architecture has none "
            "(late_fusion combines per-modality decisions). Use a fusion architecture such as early_fusion, "
            "gmu, tfn, mult or transformer."
        )

    def head(self, x):
        return self.logits(x)

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0, name="token_crossentropy")

    def metrics(self):
        return [TokenAccuracy()]
