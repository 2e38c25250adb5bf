"""BatchNormalization folded into the preceding convolution in mmzoo's compiled predict path."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.encoders.fused_batchnorm import FusedBatchNormalization, conv_bn
from mmzoo.inference.compiled_inference import active, compiled_inference
from mmzoo.inference.fast_predict import FastPredictor
from mmzoo.models.reference import reference_batch


def _randomize_batchnorm(layers, seed=1):
    """Non-trivial gamma, beta, moving mean and variance, so a wrong fold cannot pass."""
    rng = np.random.default_rng(seed)
    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            for w in layer.weights:
                values = rng.normal(0.5, 0.4, w.shape)
                if "variance" in w.path:
                    values = np.abs(values) + 0.1
                w.assign(values.astype("float32"))


def _pair(rank, use_bias, strides, padding, bn_class, **bn_options):
    shape = (3, 13, 11, 4) if rank == 2 else (3, 29, 4)
    conv_class = keras.layers.Conv2D if rank == 2 else keras.layers.Conv1D
    conv = conv_class(5, 3, strides=strides, padding=padding, use_bias=use_bias)
    bn = bn_class(**bn_options)
    x = tf.constant(np.random.default_rng(0).normal(size=shape).astype("float32"))
    bn(conv(x))
    if use_bias:
        conv.bias.assign(np.linspace(-1.0, 1.0, 5).astype("float32"))
    _randomize_batchnorm([bn])
    return conv, bn, x


def _activation_ops(fn, x, out_shape):
    """Op types of the traced graph whose output has the activation's shape."""
    graph = tf.function(fn, autograph=False).get_concrete_function(x).graph
    return {
        op.type
        for op in graph.get_operations()
        if op.type != "Identity"
        for t in op.outputs
        if t.shape.rank and tuple(t.shape) == tuple(out_shape)
    }


@pytest.mark.parametrize(
    "rank, use_bias, strides, padding, bn_class, bn_options",
    [
        (2, False, 1, "same", FusedBatchNormalization, {}),
        (2, True, 2, "valid", keras.layers.BatchNormalization, {}),
        (2, False, 2, "same", FusedBatchNormalization, {"center": False, "scale": False}),
        (1, False, 1, "same", keras.layers.BatchNormalization, {}),
        (1, True, 2, "valid", FusedBatchNormalization, {"epsilon": 0.1}),
    ],
)
def test_folded_equals_conv_then_batchnorm(rank, use_bias, strides, padding, bn_class, bn_options):
    conv, bn, x = _pair(rank, use_bias, strides, padding, bn_class, **bn_options)
    expected = bn(conv(x), training=False)

    def folded(x):
        with compiled_inference():
            y = conv_bn(conv, bn, x, training=False)
        return y

    np.testing.assert_allclose(tf.function(folded, autograph=False)(x), expected, rtol=1e-5, atol=1e-5)
    # the fold is taken: on activation-sized tensors only the convolution and its bias (Keras's
    # inference BatchNormalization is a Mul and an AddV2 there); rank 1 runs as a 2-D convolution
    ops = _activation_ops(folded, x, expected.shape)
    assert ops == {"BiasAdd", "Conv2D" if rank == 2 else "Squeeze"}, ops
    assert {"Mul", "AddV2"} <= _activation_ops(lambda x: conv_bn(conv, bn, x, training=False), x, expected.shape)


def test_training_and_other_calls_are_not_folded():
    conv, bn, x = _pair(2, False, 1, "same", FusedBatchNormalization)
    with compiled_inference():
        np.testing.assert_allclose(
            conv_bn(conv, bn, x, training=True), bn(conv(x), training=True), rtol=1e-5, atol=1e-5
        )  # batch statistics
    with compiled_inference(fold_batchnorm=False):
        assert not active("fold_batchnorm") and active("fused_lstm")
        out = _activation_ops(lambda x: conv_bn(conv, bn, x, training=False), x, (3, 13, 11, 5))
        assert {"Mul", "AddV2"} <= out
    causal = keras.layers.Conv1D(5, 3, padding="causal")
    y = tf.constant(np.ones((2, 9, 4), "float32"))
    bn1 = keras.layers.BatchNormalization()
    bn1(causal(y))
    _randomize_batchnorm([bn1])
    with compiled_inference():  # not foldable: Keras's layers, same result
        np.testing.assert_allclose(conv_bn(causal, bn1, y, training=False), bn1(causal(y), training=False))
    with pytest.raises(ValueError, match="unknown kernel"):
        with compiled_inference(fold_bn=True):
            pass


@pytest.mark.parametrize(
    "encoders",
    [
        {"image": "cnn", "audio": "cnn"},
        {"image": ("resnet", {"stages": (4, 8), "blocks": 1}), "audio": "wave_cnn"},
        {"image": "cnn", "audio": ("conv_autoencoder", {"filters": (4, 8), "units": 8})},
    ],
    ids=["cnn", "resnet+wave_cnn", "conv_autoencoder"],
)
def test_model_predictions_unchanged(encoders):
    """Whole models with trained-looking BatchNorm statistics: folded == unfolded == Keras's own call."""
    keras.utils.set_random_seed(0)
    frontend = "waveform" if encoders["audio"] == "wave_cnn" else "logmel"
    specs = [
        mmzoo.Image("image", shape=(16, 16, 3)),
        mmzoo.Audio("audio", sample_rate=4000, seconds=0.25, frontend=frontend),
    ]
    model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(4), encoders=encoders)
    _randomize_batchnorm(model._flatten_layers())
    x = reference_batch(model.specs, 5, seed=3)
    fold, no_fold = FastPredictor(model), FastPredictor(model, fold_batchnorm=False)
    folded, unfolded = fold(x), no_fold(x)

    def batchnorm_ops(predictor):  # Keras's inference BatchNormalization ops ("bn0/batchnorm/mul_1", ...)
        graph = predictor._forward.get_concrete_function().graph
        return [op.name for op in graph.get_operations() if "/batchnorm/" in op.name]

    assert batchnorm_ops(no_fold) and not batchnorm_ops(fold)
    direct = model(model._prepare(x), training=False)
    np.testing.assert_allclose(folded, unfolded, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(folded, direct, rtol=1e-5, atol=1e-6)
