"""Text input: raw strings vectorized in the graph, or integer token ids."""

import dataclasses
import os

import keras
import numpy as np

from mmzoo.registry import register_spec
from mmzoo.specs.base import Spec


@dataclasses.dataclass
@register_spec("text")
class Text(Spec):
    """A text input taking raw strings (or token ids with `token_ids=True`).

    Raw strings are turned into token ids by a `keras.layers.TextVectorization`
    inside the model, so exported models take strings. Its vocabulary must be
    adapted from training data (`spec.adapt(strings)` or `mmzoo.specs.adapt(...)`)
    or given as `vocabulary=`; building a model with an empty vocabulary is an
    error.

    Args:
        name: input name (dataset key and `keras.Input` name).
        vocabulary_size: maximum vocabulary size, including padding and OOV.
        sequence_length: tokens per sample (longer texts are cut by the
            vectorizer, shorter ones padded with 0).
        token_ids: if True the input is already int token ids of shape
            `(sequence_length,)`, with 0 as padding.
        standardize: `TextVectorization` standardization.
        vocabulary: optional fixed vocabulary (list of tokens, never a file path).
        output_mode: what the vectorizer emits: "int" token ids (sequence
            encoders), or a bag of words for the `bow` encoders: "multi_hot",
            "count" or "tf_idf" (IDF weights adapted with the vocabulary).

    Example:
        >>> spec = Text("review", vocabulary_size=100, sequence_length=4)
        >>> spec.adapt(["a good film", "a bad film"])
        >>> spec.get_vocabulary()[:3]
        ['', '[UNK]', 'film']
    """

    vocabulary_size: int = 20_000
    sequence_length: int = 64
    token_ids: bool = False
    standardize: str = "lower_and_strip_punctuation"
    vocabulary: list = None
    output_mode: str = "int"

    modality = "text"

    @property
    def default_encoder(self):
        return "bilstm" if self.output_mode == "int" else "bow"

    def __post_init__(self):
        super().__post_init__()
        self._vectorizer = None
        modes = ("int", "multi_hot", "count", "tf_idf")
        if self.output_mode not in modes:
            raise ValueError(
                f"Text input '{self.name}': output_mode must be one of {modes}; received {self.output_mode!r}."
            )
        if self.token_ids and self.output_mode != "int":
            raise ValueError(f"Text input '{self.name}': token_ids=True needs output_mode='int'.")
        if isinstance(self.vocabulary, (str, bytes, os.PathLike)):
            raise ValueError(
                f"Text input '{self.name}': vocabulary must be a list of tokens; received the string "
                f"{self.vocabulary!r}. A spec never reads a file (specs are rebuilt from saved "
                f"models): pass vocabulary=open(path).read().splitlines()."
            )
        if self.vocabulary is not None:
            self._vectorize_layer().set_vocabulary(list(self.vocabulary))

    @property
    def shape(self):
        return (self.sequence_length,) if self.token_ids else ()

    @property
    def dtype(self):
        return "int32" if self.token_ids else "string"

    def describe(self):
        if self.token_ids:
            return f"int token ids of shape (batch, {self.sequence_length})"
        return "strings of shape (batch,)"

    @property
    def needs_adapt(self):
        return not self.token_ids

    def _vectorize_layer(self):
        if self._vectorizer is None:
            self._vectorizer = keras.layers.TextVectorization(
                max_tokens=self.vocabulary_size,
                output_sequence_length=self.sequence_length if self.output_mode == "int" else None,
                output_mode=self.output_mode,
                standardize=self.standardize,
                name=f"{self.name}_vectorize",
            )
        return self._vectorizer

    def adapt(self, data):
        """Learns the vocabulary from `data` (strings: list, array or tf.data)."""
        if self.token_ids:
            return
        if isinstance(data, (list, tuple, np.ndarray)):
            data = np.asarray(data, dtype=object)
            if data.size == 0:
                raise ValueError(f"Text input '{self.name}': cannot adapt on an empty dataset.")
        self._vectorize_layer().adapt(data)

    @property
    def adapted(self):
        return self.token_ids or (self._vectorizer is not None and self._vectorizer.vocabulary_size() > 2)

    def get_config(self):
        config = super().get_config()
        config["vocabulary"] = None  # lives in the model's TextVectorization layer
        return config

    def get_vocabulary(self):
        """The vocabulary in use as plain strings (index 0 is padding, 1 out-of-vocabulary)."""
        return [] if self._vectorizer is None else [str(token) for token in self._vectorizer.get_vocabulary()]

    def check_ready(self):
        if not self.adapted:
            raise ValueError(
                f"Text input '{self.name}' has no vocabulary. Adapt it on training "
                f"text before building the model: `mmzoo.specs.adapt(inputs, train_ds)` or "
                f"`spec.adapt(list_of_strings)`, or pass `vocabulary=[...]`, or use "
                f"`token_ids=True` if you tokenize outside the model."
            )

    def encoder_kwargs(self):
        size = self.vocabulary_size
        if not self.token_ids and self._vectorizer is not None:
            size = self._vectorizer.vocabulary_size()
        return {"vocabulary_size": size} if self.output_mode == "int" else {}

    def preprocess(self, x):
        if self.token_ids:
            return x
        self.check_ready()
        return self._vectorize_layer()(x)
