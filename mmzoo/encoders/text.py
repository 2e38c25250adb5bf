"""Recurrent text encoders over token ids."""

import keras

from mmzoo.encoders.base import Encoder
from mmzoo.registry import ENCODERS


@ENCODERS.register("bilstm", modalities=("text",), paper="Graves & Schmidhuber 2005")
class BiLSTMEncoder(Encoder):
    """Token embedding (padding masked) followed by a bidirectional LSTM.

    Args:
        vocabulary_size: number of token ids (from the `Text` spec).
        embedding_dim: token embedding size.
        units: LSTM units per direction; the output has `2 * units` features.
        return_sequences: return the `(batch, steps, 2 * units)` sequence.

    Example:
        >>> import numpy as np
        >>> enc = BiLSTMEncoder(vocabulary_size=50, embedding_dim=8, units=4)
        >>> enc(np.array([[3, 4, 0, 0]])).shape
        (1, 8)
    """

    def __init__(self, vocabulary_size, embedding_dim=64, units=64, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.return_sequences = return_sequences
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="embedding")
        self.rnn = keras.layers.Bidirectional(
            keras.layers.LSTM(units, return_sequences=return_sequences), name="bilstm"
        )

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.rnn.build(tuple(input_shape) + (self.embedding_dim,))

    def call(self, token_ids):
        x = self.embedding(token_ids)
        mask = self.embedding.compute_mask(token_ids)
        return self.rnn(x, mask=mask)

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], 2 * self.units)
        return (input_shape[0], 2 * self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "return_sequences": self.return_sequences,
        }
