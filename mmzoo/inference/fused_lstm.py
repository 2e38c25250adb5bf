"""A fused LSTM for small-batch inference in mmzoo's compiled predict path.

Keras's LSTM on CPU is a `while` loop of about 15 small ops per step and
direction; at batch 1 the 64-token BiLSTM of the reference models spends
3.7-6.8 ms in it, where PyTorch's fused kernel takes 0.4 ms. TensorFlow's
`BlockLSTMV2` op runs the whole sequence in one kernel (same gate order i, f,
c, o as Keras, no peepholes, no forget bias added) and took 0.4 ms at batch 1,
but it is slower than Keras's loop at batch 64, and TFLite/ONNX have no such op.

So it is used only while `mmzoo.inference.fast_predict` traces its inference function
(`mmzoo.inference.compiled_inference`), only for batches of at most
`MAX_BATCH`, and only when every mask is a prefix (padding at the end, as
`TextVectorization` makes it); otherwise the same graph takes Keras's path
(`tf.cond`). Training, `.keras`
files and every export keep Keras's LSTM. Outputs agree with Keras's to float32
rounding (the tests compare them).
"""

import keras
import tensorflow as tf

from mmzoo.inference import compiled_inference

MAX_BATCH = 32  # above it, Keras's own loop is the faster one on CPU (the throughput benchmark's batch sweep)


def _plain_lstm(layer, backwards=False):
    cell = getattr(layer, "cell", None)
    return (
        isinstance(layer, keras.layers.LSTM)
        and type(cell) is keras.layers.LSTMCell
        and cell.use_bias
        and cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
        and layer.go_backwards == backwards
        and cell.built
    )


def applies(encoder, training):
    """True when `encoder` may take the fused path in this trace (see the module docstring)."""
    if not compiled_inference.active("fused_lstm") or training or encoder.compute_dtype != "float32":
        return False
    for rnn in encoder.rnns:
        if isinstance(rnn, keras.layers.Bidirectional):
            ok = (
                rnn.merge_mode == "concat"
                and _plain_lstm(rnn.forward_layer)
                and _plain_lstm(rnn.backward_layer, backwards=True)
            )
        else:
            ok = _plain_lstm(rnn)
        if not ok:
            return False
    return True


def _run(cell, x, lengths):
    """`(last_h, sequence)` of `cell` over `x` (batch, steps, dim), steps past `lengths` ignored."""
    batch = tf.shape(x)[0]
    zeros = tf.zeros((batch, cell.units), x.dtype)
    no_peephole = tf.zeros((cell.units,), x.dtype)
    kernel = tf.concat([tf.convert_to_tensor(cell.kernel), tf.convert_to_tensor(cell.recurrent_kernel)], axis=0)
    out = tf.raw_ops.BlockLSTMV2(
        seq_len_max=tf.cast(tf.reduce_max(lengths), tf.int64),
        x=tf.transpose(x, (1, 0, 2)),
        cs_prev=zeros,
        h_prev=zeros,
        w=kernel,
        wci=no_peephole,
        wcf=no_peephole,
        wco=no_peephole,
        b=tf.convert_to_tensor(cell.bias),
        cell_clip=0.0,
        use_peephole=False,
    )
    sequence = tf.transpose(out[6], (1, 0, 2))
    # steps past seq_len_max come back as zeros; the state after the last real step is what Keras returns
    last = tf.gather(sequence, tf.maximum(lengths - 1, 0), batch_dims=1)
    return last * tf.cast(lengths > 0, x.dtype)[:, None], sequence


def _layer(rnn, x, lengths, return_sequences):
    if not isinstance(rnn, keras.layers.Bidirectional):
        last, sequence = _run(rnn.cell, x, lengths)
        return sequence if return_sequences else last
    forward_last, forward_seq = _run(rnn.forward_layer.cell, x, lengths)
    reversed_x = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
    backward_last, backward_seq = _run(rnn.backward_layer.cell, reversed_x, lengths)
    if not return_sequences:
        return tf.concat([forward_last, backward_last], axis=-1)
    backward_seq = tf.reverse_sequence(backward_seq, lengths, seq_axis=1, batch_axis=0)
    return tf.concat([forward_seq, backward_seq], axis=-1)


def encode(encoder, x, mask, keras_path):
    """The encoder's output: the fused kernel for small batches with prefix masks, else `keras_path()`."""
    steps = tf.shape(mask)[1]
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    prefix = tf.reduce_all(tf.equal(tf.cast(mask, tf.bool), tf.sequence_mask(lengths, steps)))
    small = tf.shape(x)[0] <= MAX_BATCH

    def fused():
        h = x
        for i, rnn in enumerate(encoder.rnns):
            last_layer = i == len(encoder.rnns) - 1
            h = _layer(rnn, h, lengths, return_sequences=encoder.return_sequences or not last_layer)
        return encoder.finish(h, mask, h)

    return tf.cond(tf.logical_and(small, prefix), fused, keras_path)
