"""FusedBatchNormalization: Keras's BatchNormalization with TensorFlow's fused training kernel."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mmzoo.encoders.fused_batchnorm import FusedBatchNormalization


def _pair(**options):
    x = np.random.default_rng(0).normal(2.0, 3.0, (6, 5, 4, 3)).astype("float32")
    ours, theirs = FusedBatchNormalization(**options), keras.layers.BatchNormalization(**options)
    ours.build(x.shape)
    theirs.build(x.shape)
    rng = np.random.default_rng(1)
    weights = [rng.normal(1.0, 0.2, w.shape).astype("float32") for w in theirs.get_weights()]
    weights[-1] = np.abs(weights[-1])  # a variance
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs, tf.constant(x)


@pytest.mark.parametrize("training", [True, False])
def test_outputs_gradients_and_moving_statistics_match_keras(training):
    ours, theirs, x = _pair(momentum=0.9)
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
            loss = tf.reduce_sum(y * tf.range(1.0, 4.0))
        grads = tape.gradient(loss, [x] + layer.trainable_variables)
        results.append((y, grads, [w.numpy() for w in layer.weights]))
    (y1, g1, w1), (y2, g2, w2) = results
    np.testing.assert_allclose(y1, y2, rtol=1e-4, atol=1e-5)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    for a, b in zip(w1, w2):  # moving mean and (biased) moving variance updated the same way
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_falls_back_where_the_fused_kernel_does_not_apply():
    ours, theirs, x = _pair()
    ours.trainable = theirs.trainable = False  # frozen: inference statistics even in training
    np.testing.assert_array_equal(ours(x, training=True), theirs(x, training=True))
    vectors = np.random.default_rng(2).normal(size=(8, 3)).astype("float32")
    a, b = FusedBatchNormalization(), keras.layers.BatchNormalization()
    np.testing.assert_allclose(a(vectors, training=True), b(vectors, training=True), rtol=1e-6, atol=1e-6)


def test_config_round_trip_and_graph_uses_the_fused_op():
    layer = FusedBatchNormalization(momentum=0.8, epsilon=1e-3, name="bn")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is FusedBatchNormalization and clone.momentum == 0.8
    f = tf.function(lambda x: layer(x, training=True))
    graph = f.get_concrete_function(tf.TensorSpec((None, 4, 4, 2))).graph
    assert any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())
