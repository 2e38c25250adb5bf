"""Kim's CNN for sentence classification: parallel 1-D convolutions, max-over-time pooled."""

import keras
from keras import ops

from mmzoo.encoders.sequence_input import SequenceEncoder
from mmzoo.registry import register_encoder


@register_encoder(
    "kim_cnn",
    modalities=("text", "audio", "features"),
    paper="Kim 2014, Convolutional Neural Networks for Sentence Classification",
)
class KimCNNEncoder(SequenceEncoder):
    """Parallel Conv1D + ReLU over several window sizes, max-over-time pooled, concatenated.

    Paper: Kim 2014 (EMNLP), "Convolutional Neural Networks for Sentence
    Classification": for each window size `h`, `filters` feature maps
    `c_i = relu(w . x_{i:i+h-1} + b)` over the embedded tokens, each reduced
    to `max_i c_i`; the maxima of all windows are concatenated, dropped out
    and projected by a Dense to `units`. Padding (token id 0) is excluded:
    padded steps are zero before the convolutions ("same" padding, so a
    window at the text's edge sees zeros however much padding follows) and
    masked out of the max. Float frames (log-mel, MFCC, feature sequences)
    are convolved over time the same way.

    Args:
        vocabulary_size: number of token ids (from the `Text` spec); None for float inputs.
        embedding_dim: token embedding size (unused for float inputs).
        window_sizes: convolution window sizes, one parallel branch each.
        filters: feature maps per window size.
        units: output size.
        dropout: dropout before the output Dense (Kim used 0.5).
        return_sequences: return the concatenated feature maps of every step,
            projected by the same Dense to `(batch, steps, units)` and zero at
            padded steps, instead of their maxima.

    Example:
        >>> import numpy as np
        >>> enc = KimCNNEncoder(vocabulary_size=50, embedding_dim=8, filters=4, units=16)
        >>> tuple(enc(np.array([[3, 4, 5, 0, 0]])).shape)
        (1, 16)
        >>> enc = KimCNNEncoder(filters=4, units=16, return_sequences=True)
        >>> tuple(enc(np.zeros((2, 9, 6), "float32")).shape)
        (2, 9, 16)
    """

    def __init__(
        self,
        vocabulary_size=None,
        embedding_dim=64,
        window_sizes=(3, 4, 5),
        filters=64,
        units=128,
        dropout=0.5,
        return_sequences=False,
        **kwargs,
    ):
        super().__init__(vocabulary_size=vocabulary_size, return_sequences=return_sequences, **kwargs)
        self.embedding_dim = embedding_dim
        self.window_sizes = tuple(int(w) for w in window_sizes)
        self.filters = filters
        self.units = units
        self.dropout = dropout
        self.stem = self.make_stem(embedding_dim)
        self.convs = [
            keras.layers.Conv1D(filters, w, padding="same", activation="relu", name=f"conv{w}")
            for w in self.window_sizes
        ]
        self.drop = keras.layers.Dropout(dropout)
        self.proj = keras.layers.Dense(units, activation="relu", name="proj")

    @property
    def output_dim(self):
        return self.units

    def build(self, input_shape):
        self.stem.build(input_shape)
        shape = self.stem_shape(input_shape)
        for conv in self.convs:
            conv.build(shape)
        self.proj.build(shape[:2] + (self.filters * len(self.convs),))

    def call(self, x, mask=None, training=None):
        x, mask = self.stem(x, mask=mask)
        maps = ops.concatenate([conv(x) for conv in self.convs], axis=-1)
        if self.return_sequences:
            return self.finish(self.proj(self.drop(maps, training=training)), mask, None)
        # ReLU maps are >= 0, so zeroing padded steps leaves the max over the real steps
        pooled = ops.max(maps * ops.expand_dims(ops.cast(mask, maps.dtype), -1), axis=1)
        return self.proj(self.drop(pooled, training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "window_sizes": list(self.window_sizes),
            "filters": self.filters,
            "units": self.units,
            "dropout": self.dropout,
        }
