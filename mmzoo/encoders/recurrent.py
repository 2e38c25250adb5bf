"""Recurrent sequence encoders (LSTM, GRU, bidirectional LSTM) for text, audio frames and feature sequences."""

import keras

from mmzoo.encoders.sequence_input import SequenceEncoder
from mmzoo.inference import fused_lstm
from mmzoo.registry import register_encoder


class RecurrentEncoder(SequenceEncoder):
    """Input stem (token embedding or float frames) followed by stacked recurrent layers.

    The base of the `lstm`, `gru` and `bilstm` encoders, which differ only in
    their cell and whether they read both directions. Padding (token id 0) is
    masked: the final state is the state after the last real token, and a
    backward layer starts at the last real token, so padding never changes
    the output.

    Args:
        vocabulary_size: number of token ids (from the `Text` spec); None for
            float inputs (log-mel/MFCC frames, feature sequences or vectors).
        embedding_dim: token embedding size (unused for float inputs).
        units: recurrent units per direction; the output has `units`
            features, `2 * units` when bidirectional.
        bidirectional: also read the sequence backwards and concatenate.
        num_layers: stacked recurrent layers.
        dropout: dropout on the output (and between stacked layers).
        return_sequences: return the `(batch, steps, features)` sequence,
            zero at padded steps.
    """

    cell = None
    bidirectional_default = False

    def __init__(
        self,
        vocabulary_size=None,
        embedding_dim=64,
        units=128,
        bidirectional=None,
        num_layers=1,
        dropout=0.0,
        return_sequences=False,
        **kwargs,
    ):
        super().__init__(vocabulary_size=vocabulary_size, return_sequences=return_sequences, **kwargs)
        self.embedding_dim = embedding_dim
        self.units = units
        self.bidirectional = self.bidirectional_default if bidirectional is None else bool(bidirectional)
        self.num_layers = num_layers
        self.dropout = dropout
        self.stem = self.make_stem(embedding_dim)
        self.rnns = []
        for i in range(num_layers):
            sequences = return_sequences or i < num_layers - 1
            rnn = self.cell(units, return_sequences=sequences, name=f"{self.cell.__name__.lower()}{i}")
            if self.bidirectional:
                rnn = keras.layers.Bidirectional(rnn, name=f"bidirectional{i}")
            self.rnns.append(rnn)
        self.drop = keras.layers.Dropout(dropout)

    @property
    def output_dim(self):
        return 2 * self.units if self.bidirectional else self.units

    def build(self, input_shape):
        self.stem.build(input_shape)
        shape = self.stem_shape(input_shape)
        for rnn in self.rnns:
            rnn.build(shape)
            shape = shape[:2] + (self.output_dim,)

    def call(self, x, mask=None, training=None):
        x, mask = self.stem(x, mask=mask)

        def keras_path(x=x):
            for rnn in self.rnns:
                x = self.drop(rnn(x, mask=mask, training=training), training=training)
            return self.finish(x, mask, x)

        if fused_lstm.applies(self, training):  # only inside mmzoo's compiled predict path
            return fused_lstm.encode(self, x, mask, keras_path)
        return keras_path()

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "bidirectional": self.bidirectional,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
        }


@register_encoder("lstm", modalities=("text", "audio", "features"), paper="Hochreiter & Schmidhuber 1997")
class LSTMEncoder(RecurrentEncoder):
    """LSTM encoder (Hochreiter & Schmidhuber 1997): the state after the last real step.

    See `RecurrentEncoder` for the arguments; `units` defaults to 128.

    Example:
        >>> import numpy as np
        >>> enc = LSTMEncoder(vocabulary_size=50, embedding_dim=8, units=4)
        >>> tuple(enc(np.array([[3, 4, 0, 0]])).shape)
        (1, 4)
        >>> enc = LSTMEncoder(units=4, return_sequences=True)
        >>> tuple(enc(np.zeros((2, 10, 6), "float32")).shape)
        (2, 10, 4)
    """

    cell = keras.layers.LSTM


@register_encoder("gru", modalities=("text", "audio", "features"), paper="Cho et al. 2014")
class GRUEncoder(RecurrentEncoder):
    """GRU encoder (Cho et al. 2014): the state after the last real step.

    See `RecurrentEncoder` for the arguments; `units` defaults to 128.

    Example:
        >>> import numpy as np
        >>> enc = GRUEncoder(vocabulary_size=50, embedding_dim=8, units=4, bidirectional=True)
        >>> tuple(enc(np.array([[3, 4, 0, 0]])).shape)
        (1, 8)
    """

    cell = keras.layers.GRU


@register_encoder("bilstm", modalities=("text", "audio", "features"), paper="Graves & Schmidhuber 2005")
class BiLSTMEncoder(RecurrentEncoder):
    """Bidirectional LSTM encoder (Graves & Schmidhuber 2005), the default text encoder.

    Same arguments as `RecurrentEncoder` with `bidirectional=True` and
    `units=64` per direction, so the output has `2 * units = 128` features.

    Example:
        >>> import numpy as np
        >>> enc = BiLSTMEncoder(vocabulary_size=50, embedding_dim=8, units=4)
        >>> tuple(enc(np.array([[3, 4, 0, 0]])).shape)
        (1, 8)
    """

    cell = keras.layers.LSTM
    bidirectional_default = True

    def __init__(self, vocabulary_size=None, embedding_dim=64, units=64, **kwargs):
        super().__init__(vocabulary_size=vocabulary_size, embedding_dim=embedding_dim, units=units, **kwargs)
