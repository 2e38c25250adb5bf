"""Bag-of-words encoder: an MLP over the multi-hot, count or TF-IDF vector of a text."""

from keras import ops

from mmzoo.encoders.mlp import MLPEncoder
from mmzoo.registry import register_encoder


@register_encoder(
    "bow",
    modalities=("text",),
    spec_options={"output_mode": "tf_idf"},
    paper="Salton & Buckley 1988 (TF-IDF term weighting); MLP over a bag of words",
)
class BagOfWordsEncoder(MLPEncoder):
    """Dense -> ReLU -> Dropout blocks over a bag of words, the default encoder of non-int `Text` specs.

    Reads the `(batch, vocabulary_size)` vector a `mmzoo.Text(...,
    output_mode="multi_hot" | "count" | "tf_idf")` spec computes in the graph
    (term weighting as in Salton & Buckley 1988). Word order is gone, so the
    encoder is fast and a strong baseline for topic-like labels. Large counts
    and TF-IDF weights are tamed with `log(1 + x)` first. With
    `return_sequences=True` the output is a single token `(batch, 1, units[-1])`.

    Args:
        units: sizes of the hidden layers; the last is the output size.
        dropout: dropout rate after each block.
        log_inputs: apply `log(1 + x)` to the bag of words.
        return_sequences: return a single token for the attention fusions.

    Example:
        >>> import numpy as np
        >>> enc = BagOfWordsEncoder(units=(16, 8))
        >>> tuple(enc(np.array([[0.0, 2.0, 0.0, 1.0]], "float32")).shape)
        (1, 8)
        >>> enc = BagOfWordsEncoder(units=(8,), return_sequences=True)
        >>> tuple(enc(np.ones((2, 4), "float32")).shape)
        (2, 1, 8)
    """

    accepts = {"output_mode": ("multi_hot", "count", "tf_idf")}

    def __init__(self, units=(256, 128), dropout=0.2, log_inputs=True, return_sequences=False, **kwargs):
        super().__init__(units=units, dropout=dropout, return_sequences=return_sequences, **kwargs)
        self.log_inputs = log_inputs

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"Encoder '{self.name}' reads a bag of words (batch, vocabulary_size); received shape "
                f"{tuple(input_shape)}. Use a mmzoo.Text spec with output_mode='tf_idf', 'count' or "
                f"'multi_hot', or a sequence encoder (bilstm, transformer) for token ids."
            )
        super().build(input_shape)

    def call(self, x, training=None):
        x = ops.cast(x, "float32")
        if self.log_inputs:
            x = ops.log1p(ops.maximum(x, 0.0))
        return super().call(x, training=training)

    def get_config(self):
        return {**super().get_config(), "log_inputs": self.log_inputs}
