"""Image and audio encoders: resnet, keras.applications backbones, wave_cnn, conv_autoencoder."""

import json
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.encoders.applications import BACKBONES, ApplicationEncoder
from mmzoo.encoders.autoencoder import ConvAutoencoderEncoder, pretrain_autoencoder
from mmzoo.encoders.resnet import ResidualBlock, ResNetEncoder
from mmzoo.encoders.waveform import WaveCNNEncoder

RATE, SECONDS = 4000, 0.25
FRAMES = (26, 16)  # log-mel frames of 0.25 s at 4 kHz: 25 ms windows, 10 ms hop, 16 bins


def _sines(n, seed, freqs=(300.0, 800.0), spread=None):
    """Noisy sines of random phase and amplitude; label = which of `freqs` (or random in `spread`)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    t = np.arange(int(RATE * SECONDS)) / RATE
    f = rng.uniform(*spread, (n, 1)) if spread else np.asarray(freqs)[labels][:, None] * rng.uniform(0.95, 1.05, (n, 1))
    wave = rng.uniform(0.2, 0.8, (n, 1)) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    return (wave + 0.05 * rng.standard_normal(wave.shape)).astype("float32"), labels


def _outputs(layer, x):
    return np.asarray(layer(x, training=False), dtype="float32")


SMALL = {
    "resnet": (ResNetEncoder, {"stages": (8, 16), "blocks": 1, "units": 8}, (2, 12, 12, 3), 36),
    "resnet_audio": (ResNetEncoder, {"stages": (8, 16), "blocks": (2, 1), "units": 8}, (2,) + FRAMES, 13 * 8),
    "wave_cnn": (WaveCNNEncoder, {"filters": (8, 16), "units": 8}, (2, 1000, 1), 16),
    "conv_autoencoder": (ConvAutoencoderEncoder, {"filters": (8, 16), "units": 8}, (2,) + FRAMES, 1),
}


@pytest.mark.parametrize("case", sorted(SMALL))
def test_shapes_and_config_round_trip(case):
    cls, options, shape, tokens = SMALL[case]
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    for sequences, expected in ((False, (2, 8)), (True, (2, tokens, 8))):
        enc = cls(return_sequences=sequences, **options)
        y = _outputs(enc, x)
        assert y.shape == expected and tuple(enc.compute_output_shape(shape)) == expected
        clone = cls.from_config(json.loads(json.dumps(enc.get_config())))
        clone(x)
        clone.set_weights(enc.get_weights())
        np.testing.assert_array_equal(_outputs(clone, x), y)


def test_resnet_shortcuts_follow_stages_and_match_numpy():
    enc = ResNetEncoder(stages=(8, 16, 32), blocks=(2, 1, 1), stem_filters=4)
    assert [(b.filters, b.strides, b.project) for b in enc.residual_blocks] == [
        (8, 1, True),
        (8, 1, False),
        (16, 2, True),
        (32, 2, True),
    ]
    shape = (None, 12, 12, 3)
    enc.build(shape)
    shape = enc.stem[0].compute_output_shape(shape)
    sizes = []
    for block in enc.residual_blocks:
        shape = block.compute_output_shape(shape)
        sizes.append(tuple(shape[1:]))
    assert sizes == [(12, 12, 8), (12, 12, 8), (6, 6, 16), (3, 3, 32)]
    with pytest.raises(ValueError, match="project=True"):
        ResidualBlock(16, strides=2)(np.zeros((1, 8, 8, 8), "float32"))
    # With the residual branch's last BN scaled to zero, a block is relu(shortcut(x)):
    # identity -> relu(x); projection -> relu(BN(strided 1x1 conv(x))) with fresh BN statistics.
    x = np.random.default_rng(1).standard_normal((2, 6, 6, 4)).astype("float32")
    for project, strides, filters in ((False, 1, 4), (True, 2, 5)):
        block = ResidualBlock(filters, strides=strides, project=project)
        block(x)
        block.bn2.gamma.assign(np.zeros(filters, "float32"))
        expected = np.maximum(x, 0)
        if project:
            kernel = block.shortcut[0].kernel.numpy()[0, 0]
            expected = np.maximum(x[:, ::2, ::2] @ kernel / np.sqrt(1 + 1e-3), 0)
        np.testing.assert_allclose(_outputs(block, x), expected, atol=1e-5)


def _frozen_state(layer):
    return [w.numpy().copy() for w in layer.weights]


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_application_backbone_train_freeze_and_weights_file(backbone, tmp_path):
    y = np.array([0, 1, 0, 1])
    rng = np.random.default_rng(0)
    for channels, freeze in ((1, True), (3, False)):
        spec = mmzoo.Image("image", shape=(32, 32, channels))
        model = mmzoo.build_model(
            "early_fusion",
            [spec],
            mmzoo.Classification(num_classes=2),
            encoders={"image": (backbone, {"units": 8, "freeze": freeze})},
        )
        model.run_eagerly = True  # one eager step is ~10x faster than tracing these large graphs
        enc = model.get_layer("image_encoder")
        assert type(enc).__name__ == BACKBONES[backbone].class_name and enc.backbone_name == backbone
        trainable = len(enc.backbone.trainable_weights)
        assert (trainable == 0) if freeze else (trainable > 50)
        before = _frozen_state(enc.backbone)
        x = {"image": rng.integers(0, 256, (4, 32, 32, channels)).astype("uint8")}
        assert np.isfinite(model.fit(x, y, batch_size=4, verbose=0).history["loss"][0])
        changed = [not np.array_equal(a, b.numpy()) for a, b in zip(before, enc.backbone.weights)]
        assert not any(changed) if freeze else any(changed)
    # spatial tokens
    seq = ApplicationEncoder(backbone, units=8, return_sequences=True)
    pixels = rng.uniform(0, 1, (2, 64, 32, 3)).astype("float32")
    assert _outputs(seq, pixels).shape == (2, 2, 8) == tuple(seq.compute_output_shape(pixels.shape))
    # weights from a local file written here
    path = str(tmp_path / f"{backbone}.weights.h5")
    seq.backbone.save_weights(path)
    loaded = ApplicationEncoder(backbone, units=8, weights=path)
    np.testing.assert_array_equal(np.asarray(loaded.backbone(pixels)), np.asarray(seq.backbone(pixels)))
    assert "weights" not in loaded.get_config()  # reloading a saved model never needs the file
    with pytest.raises(FileNotFoundError, match="nowhere.weights.h5"):
        ApplicationEncoder(backbone, weights=str(tmp_path / "nowhere.weights.h5"))


def test_imagenet_weights_offline_name_the_file_and_the_cache(tmp_path, monkeypatch):
    """Offline (empty Keras home, network blocked), weights="imagenet" says which file goes where."""
    import urllib.error

    from keras.src.backend import config
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network blocked by the test")

    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))  # KERAS_HOME, read by Keras at import
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    expected = os.path.join(str(tmp_path), "models", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with pytest.raises(OSError, match="put it at " + re.escape(expected)) as error:
        ApplicationEncoder("resnet50", weights="imagenet")
    assert "network blocked by the test" in str(error.value) and "weights='<path to" in str(error.value)


def test_application_errors_and_keras_round_trip(tmp_path):
    task = mmzoo.Classification(num_classes=2)
    with pytest.raises(ValueError, match="Image input 'thumb'.*at least 32x32.*resize"):
        mmzoo.build_model(
            "early_fusion", [mmzoo.Image("thumb", shape=(16, 16, 3))], task, encoders={"thumb": "efficientnet_b0"}
        )
    # a frozen, small MobileNetV3 survives get_config, .keras save/load and stays frozen
    spec = mmzoo.Image("image", shape=(32, 32, 3))
    options = {"units": 8, "freeze": True, "backbone_options": {"alpha": 0.75, "minimalistic": True}}
    model = mmzoo.build_model(
        "early_fusion", [spec], task, encoders={"image": ("mobilenet_v3_small", options)}, compile=False
    )
    x = {"image": np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3)).astype("uint8")}
    reference = np.asarray(model(x))
    clone = keras.saving.deserialize_keras_object(json.loads(json.dumps(keras.saving.serialize_keras_object(model))))
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(np.asarray(clone(x)), reference)
    path = str(tmp_path / "mobilenet.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(reloaded(x)), reference)
    enc = reloaded.get_layer("image_encoder")
    assert enc.freeze and not enc.backbone.trainable and len(enc.trainable_weights) == 2


def test_wave_cnn_refuses_logmel_and_learns_sine_frequencies():
    task = mmzoo.Classification(num_classes=2)
    with pytest.raises(ValueError, match="frontend='logmel'.*frontend='waveform'"):
        mmzoo.build_model(
            "early_fusion",
            [mmzoo.Audio("voice", sample_rate=RATE, seconds=SECONDS)],
            task,
            encoders={"voice": "wave_cnn"},
        )
    keras.utils.set_random_seed(0)
    x, y = _sines(600, seed=0)
    spec = mmzoo.Audio("voice", sample_rate=RATE, seconds=SECONDS, frontend="waveform")
    model = mmzoo.build_model("early_fusion", [spec], task, head_units=(), learning_rate=3e-3)
    assert isinstance(model.get_layer("voice_encoder"), WaveCNNEncoder)  # the waveform default
    model = mmzoo.build_model(
        "early_fusion",
        [spec],
        task,
        head_units=(),
        learning_rate=3e-3,
        encoders={"voice": ("wave_cnn", {"filters": (16, 32), "units": 16})},
    )
    model.fit({"voice": x[:400]}, y[:400], epochs=4, batch_size=32, verbose=0)
    accuracy = model.evaluate({"voice": x[400:]}, y[400:], return_dict=True, verbose=0)["accuracy"]
    assert accuracy >= 0.9, f"wave_cnn accuracy {accuracy:.3f} < 0.9"


def test_autoencoder_pretrains_plugs_in_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    spec = mmzoo.Audio("voice", sample_rate=RATE, seconds=SECONDS, num_mel_bins=16)
    with pytest.raises(ValueError, match="frontend 'logmel' or 'mfcc'"):
        pretrain_autoencoder(mmzoo.Audio("voice", sample_rate=RATE, seconds=SECONDS, frontend="waveform"), None)
    waves, _ = _sines(256, seed=1, spread=(200.0, 1500.0))
    unlabelled = tf.data.Dataset.from_tensor_slices((waves, np.zeros(256)))  # labels are ignored
    weights = str(tmp_path / "voice.weights.h5")
    encoder, history = pretrain_autoencoder(
        spec,
        unlabelled,
        epochs=10,
        units=16,
        filters=(8, 16),
        learning_rate=3e-3,
        freeze=True,
        save_path=weights,
        return_history=True,
    )
    assert history["loss"][-1] < 0.5 * history["initial_loss"], history
    assert encoder.name == "voice_encoder" and not encoder.trainable

    x, y = _sines(8, seed=2)
    task = mmzoo.Classification(num_classes=2)
    model = mmzoo.build_model("early_fusion", [spec], task, encoders={"voice": encoder})
    assert model.get_layer("voice_encoder") is encoder
    before = _frozen_state(encoder)
    model.fit({"voice": x}, y, verbose=0)
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, encoder.weights))
    reference = model.predict({"voice": x}, verbose=0)
    model.save(str(tmp_path / "pretrained.keras"))
    reloaded = keras.saving.load_model(str(tmp_path / "pretrained.keras"))
    np.testing.assert_allclose(reloaded.predict({"voice": x}, verbose=0), reference, atol=1e-6)
    assert not reloaded.get_layer("voice_encoder").trainable and len(reloaded.trainable_weights) == 4

    # the saved weights file rebuilds the same encoder; its architecture comes from the file
    from_file = mmzoo.build_model(
        "early_fusion", [spec], task, encoders={"voice": ("conv_autoencoder", {"weights": weights})}
    )
    frames = keras.Model(model.input, model.get_layer("voice_standardize").output).predict({"voice": x}, verbose=0)
    np.testing.assert_allclose(
        _outputs(from_file.get_layer("voice_encoder"), frames), _outputs(encoder, frames), atol=1e-6
    )
    with pytest.raises(ValueError, match="pretrained with"):
        ConvAutoencoderEncoder(units=32, weights=weights)
    with pytest.raises(ValueError, match=r"pretrained on \(time, bins\) = \(26, 16\)"):
        ConvAutoencoderEncoder(filters=(8, 16), units=16, weights=weights)(np.zeros((1, 30, 16), "float32"))
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        ConvAutoencoderEncoder(weights=str(tmp_path / "missing.weights.h5"))


SMALL_AUDIO = {"filters": (8, 16), "units": 8}
MIXED = {
    "resnet": (mmzoo.Image("x", shape=(12, 12, 3)), {"stages": (8, 16), "blocks": 1, "units": 8}),
    "wave_cnn": (mmzoo.Audio("x", sample_rate=RATE, seconds=SECONDS, frontend="waveform"), SMALL_AUDIO),
    "conv_autoencoder": (mmzoo.Audio("x", sample_rate=RATE, seconds=SECONDS, num_mel_bins=16), SMALL_AUDIO),
    "mobilenet_v3_small": (mmzoo.Image("x", shape=(32, 32, 1)), {"units": 8}),
}


@pytest.mark.parametrize("name", sorted(MIXED))
def test_one_step_under_mixed_float16(name):
    spec, options = MIXED[name]
    rng = np.random.default_rng(0)
    if spec.modality == "image":
        x = rng.integers(0, 256, (4,) + spec.shape).astype("uint8")
    else:
        x = _sines(4, seed=0)[0]
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = mmzoo.build_model(
            "early_fusion", [spec], mmzoo.Classification(num_classes=2), encoders={"x": (name, options)}
        )
        model.run_eagerly = name == "mobilenet_v3_small"  # tracing its fp16 gradient on CPU takes ~30 s
        loss = model.fit({"x": x}, np.array([0, 1, 0, 1]), batch_size=4, verbose=0).history["loss"][0]
        enc = model.get_layer("x_encoder")
        assert np.isfinite(loss)
        assert enc.compute_dtype == "float16" and enc.output.dtype == "float16"
        assert all(w.dtype == "float32" for w in enc.weights)
    finally:
        keras.mixed_precision.set_global_policy("float32")
