"""The shared input stem of sequence encoders: token ids, frames or vectors -> a float sequence."""

import keras
from keras import ops

from mmzoo.encoders.base import Encoder


@keras.saving.register_keras_serializable(package="mmzoo")
class SequenceInput(keras.layers.Layer):
    """Turns one branch input into a float sequence `(batch, steps, dim)` and its step mask.

    - integer token ids `(batch, steps)` (a `Text` spec) go through
      `keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True)`;
      id 0 is padding and is masked;
    - float frames `(batch, steps, dim)` (log-mel or MFCC from `Audio`, a
      `Features` sequence) are used as they are, or projected by a Dense to
      `embedding_dim` with `project=True`; a Keras mask passed in is kept;
    - float vectors `(batch, dim)` (a `Features` vector) become a single step.

    Masked steps of the returned sequence are zero, so convolutions see the
    same values at a text's edge however much padding follows it.

    Args:
        vocabulary_size: number of token ids; None means the input is float.
        embedding_dim: token embedding size (and projection size with `project`).
        project: project float inputs to `embedding_dim` with a Dense.

    Returns:
        `(sequence, mask)`: `(batch, steps, dim)` in the compute dtype and a
        boolean `(batch, steps)` mask (all True for float inputs without a mask).

    Example:
        >>> import numpy as np
        >>> stem = SequenceInput(vocabulary_size=10, embedding_dim=4)
        >>> seq, mask = stem(np.array([[3, 5, 0]]))
        >>> tuple(seq.shape), mask.numpy().tolist()
        ((1, 3, 4), [[True, True, False]])
        >>> seq, mask = SequenceInput()(np.zeros((2, 7), "float32"))
        >>> tuple(seq.shape), tuple(mask.shape)
        ((2, 1, 7), (2, 1))
    """

    def __init__(self, vocabulary_size=None, embedding_dim=64, project=False, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.project = project
        self.embedding = None
        self.projection = None
        if vocabulary_size is not None:
            self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="embedding")
        elif project:
            self.projection = keras.layers.Dense(embedding_dim, name="projection")

    def _check_rank(self, shape):
        rank = len(shape)
        if self.embedding is not None and rank != 2:
            raise ValueError(
                f"Layer '{self.name}' embeds integer token ids of shape (batch, steps); received shape "
                f"{tuple(shape)}. For float frames or features leave vocabulary_size=None."
            )
        if self.embedding is None and rank not in (2, 3):
            raise ValueError(
                f"Layer '{self.name}' takes float frames (batch, steps, dim) or vectors (batch, dim); "
                f"received shape {tuple(shape)}."
            )

    def build(self, input_shape):
        self._check_rank(input_shape)
        if self.embedding is not None:
            self.embedding.build(input_shape)
        elif self.projection is not None:
            self.projection.build((None, input_shape[-1]))

    def call(self, x, mask=None):
        if self.embedding is not None:
            if "int" not in str(x.dtype):
                raise ValueError(f"Layer '{self.name}' expects integer token ids; received {x.dtype} values.")
            mask = ops.not_equal(x, 0)
            x = self.embedding(x)
        else:
            if "int" in str(x.dtype):
                raise ValueError(
                    f"Layer '{self.name}' received integer token ids but has no vocabulary_size; pass "
                    f"vocabulary_size (a mmzoo.Text spec does this through encoder_kwargs)."
                )
            if len(x.shape) == 2:
                x, mask = ops.expand_dims(x, 1), None
            x = ops.cast(x, self.compute_dtype)
            if self.projection is not None:
                x = self.projection(x)
            if mask is None:
                mask = ops.ones(ops.shape(x)[:2], "bool")
        # zeroing also drops Keras mask metadata, so inner layers see no mask they cannot use
        return x * ops.expand_dims(ops.cast(mask, x.dtype), -1), ops.cast(mask, "bool")

    def output_dim(self, input_shape):
        if self.embedding is not None or self.projection is not None:
            return self.embedding_dim
        return input_shape[-1]

    def compute_output_shape(self, input_shape):
        steps = input_shape[1] if len(input_shape) == 3 or self.embedding is not None else 1
        return (input_shape[0], steps, self.output_dim(input_shape)), (input_shape[0], steps)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "project": self.project,
        }


def masked_mean(x, mask):
    """Mean over the steps of `x` `(batch, steps, dim)` where `mask` is True, summed in float32."""
    weights = ops.expand_dims(ops.cast(mask, "float32"), -1)
    total = ops.sum(ops.cast(x, "float32") * weights, axis=1)
    return ops.cast(total / ops.maximum(ops.sum(weights, axis=1), 1.0), x.dtype)


class SequenceEncoder(Encoder):
    """Base of the encoders built on `SequenceInput`: text, audio frames and feature sequences.

    Subclasses create `self.stem` through `make_stem`, call `self.stem(x, mask=mask)`
    first in `call`, finish with `self.finish(sequence, mask, pooled)`, and
    define the `output_dim` property (features per output vector or step).
    Text specs must give token ids (`output_mode="int"`); other specs have no
    `output_mode` and are taken as they are.

    Args:
        vocabulary_size: number of token ids (from a `Text` spec); None for float inputs.
        return_sequences: return the `(batch, steps, dim)` sequence, zero at padding.
    """

    accepts = {"output_mode": ("int",)}

    def __init__(self, vocabulary_size=None, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.return_sequences = return_sequences

    def make_stem(self, embedding_dim, project=False):
        return SequenceInput(self.vocabulary_size, embedding_dim, project=project, name="stem")

    def finish(self, sequence, mask, pooled):
        """The sequence (zeroed at padded steps) with `return_sequences`, else `pooled`."""
        if self.return_sequences:
            return sequence * ops.expand_dims(ops.cast(mask, sequence.dtype), -1)
        return pooled

    def stem_shape(self, input_shape):
        """The `(batch, steps, dim)` shape the stem gives for `input_shape`."""
        return self.stem.compute_output_shape(tuple(input_shape))[0]

    def compute_output_shape(self, input_shape):
        batch, steps, _ = self.stem_shape(input_shape)
        return (batch, steps, self.output_dim) if self.return_sequences else (batch, self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "return_sequences": self.return_sequences,
        }
