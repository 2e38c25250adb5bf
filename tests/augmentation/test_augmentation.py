"""Training-only augmentation: it changes what the encoders see in training, and nothing else.

One augmented model (image, audio and text augmentations) is built once per
module; a plain twin gets its weights by layer name, so any difference at
inference would be the augmentation's.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.augmentation import Augmentation, RandomDeletion, SpecAugment, TimeShift, TokenDropout
from mmzoo.augmentation.audio import BackgroundNoise, RandomGain
from mmzoo.augmentation.batch import BatchMix, mix_batch
from mmzoo.experiments.config import from_dict
from mmzoo.experiments.typecheck import ConfigError
from tests.helpers import small_inputs

AUGMENT = {
    "image": {"flip": "horizontal", "rotation": 0.1, "zoom": 0.1, "translation": 0.1, "contrast": 0.3},
    "audio": ["gain", "time_shift", {"noise": [10, 20]}, "spec_augment"],
    "text": {"token_dropout": 0.3, "random_deletion": 0.3},
}
RANDOM_OPS = ("Random", "Stateless", "Multinomial", "Shuffle")


@pytest.fixture(scope="module")
def models():
    specs, x, n = small_inputs(("text", "image", "audio"))
    keras.utils.set_random_seed(0)
    augmented = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(3), augment=AUGMENT, dropout=0.0)
    plain = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(3), dropout=0.0)
    for layer in plain.layers:
        if layer.weights:
            layer.set_weights(augmented.get_layer(layer.name).get_weights())
    augmented.fit(x, np.arange(n) % 3, epochs=1, verbose=0)  # training draws augmentations: inference must not
    for layer in plain.layers:
        if layer.weights:
            layer.set_weights(augmented.get_layer(layer.name).get_weights())
    return augmented, plain, x


def test_inference_outputs_are_those_of_the_model_without_augmentation(models):
    augmented, plain, x = models
    names = sorted(layer.name for layer in augmented.layers if "augment" in layer.name)
    assert names == ["audio_augment", "audio_augment_raw", "image_augment", "text_augment"]
    expected = plain.predict(x, verbose=0)
    np.testing.assert_array_equal(augmented.predict(x, verbose=0), expected)
    np.testing.assert_allclose(np.asarray(augmented(x, training=False)), expected, atol=1e-6)
    for layer in augmented.layers:  # complete configs: each rebuilds to the same config (a .keras file reloads)
        if isinstance(layer, Augmentation):
            clone = keras.layers.deserialize(keras.layers.serialize(layer))
            assert type(clone) is Augmentation and clone.get_config() == layer.get_config()
            assert [type(a) for a in clone.augmenters] == [type(a) for a in layer.augmenters]


def test_training_changes_what_the_encoders_see(models):
    augmented, _, x = models
    for layer_name, input_name in [("image_augment", "image"), ("audio_augment", "audio"), ("text_augment", "text")]:
        layer = augmented.get_layer(layer_name)
        probe = keras.Model(augmented.input, layer.input)
        clean = np.asarray(probe(x, training=False))
        assert np.array_equal(np.asarray(layer(clean, training=False)), clean)
        changed = np.asarray(layer(clean, training=True))
        assert changed.shape == clean.shape and not np.array_equal(changed, clean), input_name
    # the same through a training step: the model in training mode sees other encoder inputs
    features = keras.Model(augmented.input, augmented.get_layer("image_augment").output)
    assert not np.array_equal(np.asarray(features(x, training=True)), np.asarray(features(x, training=False)))


def test_exports_carry_no_augmentation(models, tmp_path):
    augmented, plain, x = models
    stripped = mmzoo.strip_augmentation(augmented)
    assert not [layer.name for layer in stripped.layers if "augment" in layer.name]
    assert all(c["augment"] is None for c in stripped.spec_configs)
    path = mmzoo.export(augmented, str(tmp_path / "savedmodel"))
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        raw = f.read()
    assert b"augment" not in raw  # no layer, variable or op of it by name
    loaded = tf.saved_model.load(path)
    serve = loaded.signatures["serve"]
    graph = serve.graph.as_graph_def()
    ops = {node.op for node in graph.node} | {n.op for f in graph.library.function for n in f.node_def}
    assert not [op for op in ops if op.startswith(RANDOM_OPS)], sorted(ops)
    outputs = serve(**{k: tf.constant(v) for k, v in x.items()})
    np.testing.assert_allclose(outputs["probabilities"].numpy(), plain.predict(x, verbose=0), atol=1e-6)


def test_layers_do_what_they_say():
    keras.utils.set_random_seed(1)
    ids = np.tile(np.array([[5, 6, 7, 8, 9, 10, 0, 0]]), (64, 1))
    deleted = np.asarray(RandomDeletion(0.3)(ids, training=True))
    for row in deleted:  # an in-order subsequence, padded at the end
        kept = row[row != 0]
        assert list(kept) == [t for t in ids[0] if t in set(kept)] and (row[len(kept) :] == 0).all()
    assert 0.2 < 1 - (deleted != 0).sum() / (ids != 0).sum() < 0.4
    dropped = np.asarray(TokenDropout(0.3)(ids, training=True))
    assert set(dropped[dropped != ids].tolist()) == {1} and (dropped[ids == 0] == 0).all()
    wave = np.sin(np.linspace(0, 200, 1000, dtype="float32"))[None].repeat(16, 0)
    noisy = np.asarray(BackgroundNoise(15, 15)(wave, training=True))
    snr = 10 * np.log10((wave**2).mean(1) / ((noisy - wave) ** 2).mean(1))
    np.testing.assert_allclose(snr, 15, atol=0.6)
    gained = np.asarray(RandomGain(-6, 6)(wave, training=True))
    decibels = 20 * np.log10(np.abs(gained).max(1) / np.abs(wave).max(1))
    assert (np.abs(decibels) <= 6.001).all() and decibels.std() > 1
    shifted = np.asarray(TimeShift(0.1)(wave, training=True))
    for row, out in zip(wave, shifted):
        lag = int(np.argmax([np.dot(np.roll(row, s), out) for s in range(-100, 101)])) - 100
        np.testing.assert_allclose(
            out[max(lag, 0) : 1000 + min(lag, 0)], np.roll(row, lag)[max(lag, 0) : 1000 + min(lag, 0)]
        )
    masked = np.asarray(
        SpecAugment(time_masks=1, time_width=5, freq_masks=1, freq_width=3)(np.ones((32, 20, 10)), training=True)
    )
    assert (masked == 0).any() and set(np.unique(masked)) <= {0.0, 1.0}
    assert ((masked == 0).all(axis=2).sum(axis=1) <= 5).all()  # a time band of at most time_width frames


def test_time_shift_keeps_a_noisy_clips_background_in_what_the_encoder_sees():
    # Noisy clips (AV-MNIST-hard's voice) have no digital silence. Zeros shifted in sit at the
    # -100 dB floor, and the per-clip standardization then rescales the whole log-mel by how
    # much silence each clip got: a training input no evaluation clip resembles.
    spec = mmzoo.Audio("voice", sample_rate=4000, seconds=0.5)
    wave = keras.Input(spec.shape)
    encoder_input = keras.Model(wave, spec.preprocess(wave))
    noise = np.random.default_rng(0).normal(0, 0.1, (8, spec.num_samples)).astype("float32")
    middle = slice(12, 36)  # frames that hold the clip's own samples whatever the shift (up to 10 frames)

    def spread(waves):  # per clip: the spread of the standardized log-mel over the middle frames
        return np.asarray(encoder_input(waves))[:, middle].std(axis=(1, 2))

    keras.utils.set_random_seed(2)
    shifted = np.asarray(TimeShift(0.2)(noise, training=True))
    lags = [int(np.argmax([np.dot(np.roll(a, s), b) for s in range(-400, 401)])) - 400 for a, b in zip(noise, shifted)]
    assert min(lags) < -100 and max(lags) > 100
    np.testing.assert_array_equal(shifted, [np.roll(a, s) for a, s in zip(noise, lags)])  # wrapped: nothing lost
    np.testing.assert_allclose(spread(shifted), spread(noise), rtol=0.2)
    # silence filling (for clean recordings only) squeezes the clip's own frames by its silence
    silenced = np.asarray(TimeShift(0.2, fill="silence")(noise, training=True))
    zeros = np.maximum(np.argmax(silenced != 0, axis=1), np.argmax(silenced[:, ::-1] != 0, axis=1))
    squeezed = (spread(silenced) / spread(noise))[zeros >= 100]
    assert len(squeezed) and (squeezed < 0.6).all()
    with pytest.raises(ValueError, match="fill must be one of"):
        TimeShift(0.1, fill="zeros")


def test_declarations_are_checked_and_name_the_input():
    with pytest.raises(ValueError, match=r"Image input 'photo': unknown augmentation 'spec_augment'.*flip"):
        mmzoo.Image("photo", shape=(8, 8, 1), augment=["spec_augment"])
    spec = mmzoo.Audio("voice", sample_rate=4000, seconds=0.25, frontend="waveform", augment=["spec_augment"])
    with pytest.raises(ValueError, match="Audio input 'voice': spec_augment masks the log-mel"):
        mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(2))
    with pytest.raises(ValueError, match="augment= names unknown input"):
        mmzoo.build_model(
            "early_fusion", [mmzoo.Image("a", shape=(8, 8, 1))], mmzoo.Classification(2), augment={"b": "flip"}
        )
    assert mmzoo.Image("a", shape=(8, 8, 1), augment={"rotation": 0.2}).get_config()["augment"] == {
        "rotation": {"factor": 0.2}
    }
    assert "spec_augment" in mmzoo.list_augmentations("audio") and "flip" not in mmzoo.list_augmentations("audio")


def test_yaml_augment_section():
    config = from_dict({"augment": {"digit": {"rotation": 0.1}, "voice": ["spec_augment"]}})
    assert config.augment == {"digit": {"rotation": {"factor": 0.1}}, "voice": {"spec_augment": {}}}
    with pytest.raises(ConfigError, match=r"^augment\.digit: unknown augmentation 'rotate'"):
        from_dict({"augment": {"digit": ["rotate"]}})


def test_mixup_and_cutmix_mix_examples_and_train_on_both_labels():
    rng = np.random.default_rng(0)
    x = {"photo": rng.random((16, 8, 8, 1)).astype("float32")}
    out, partner, lam = mix_batch(x, BatchMix("mixup", 0.4), ["photo"], tf.constant(3))
    out, partner, lam = {"photo": np.asarray(out["photo"])}, np.asarray(partner), np.asarray(lam)
    np.testing.assert_allclose(
        out["photo"],
        lam[:, None, None, None] * x["photo"] + (1 - lam[:, None, None, None]) * x["photo"][partner],
        atol=1e-6,
    )
    assert (lam > 0).all() and (lam < 1).all() and lam.std() > 0.05
    out, partner, lam = mix_batch(x, BatchMix("cutmix", 1.0), ["photo"], tf.constant(3))
    out, partner, lam = np.asarray(out["photo"]), np.asarray(partner), np.asarray(lam)
    moved = (out != x["photo"]).reshape(16, -1).sum(axis=1)
    swapped = partner != np.arange(16)
    np.testing.assert_allclose(moved[swapped], (1 - lam[swapped]) * 64, atol=1e-4)  # λ is the pixel share kept
    # the step's loss is λ·CE(y) + (1-λ)·CE(y_partner) on the mixed batch
    keras.utils.set_random_seed(0)
    spec = mmzoo.Image("photo", shape=(8, 8, 1), dtype="float32", augment={"mixup": 0.4})
    model = mmzoo.build_model(
        "early_fusion",
        [spec],
        mmzoo.Classification(3),
        dropout=0.0,
        compile=False,
        encoders={"photo": ("cnn", {"filters": (4,), "units": 8, "dropout": 0.0})},
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=keras.losses.SparseCategoricalCrossentropy())
    y = np.arange(16) % 3
    loss = model.train_on_batch(x, y)
    mixed, partner, lam = mix_batch(x, BatchMix("mixup", 0.4), ["photo"], tf.constant(0))
    p = np.asarray(model(mixed, training=True))
    expected = np.mean(
        -np.asarray(lam) * np.log(p[np.arange(16), y])
        - (1 - np.asarray(lam)) * np.log(p[np.arange(16), y[np.asarray(partner)]])
    )
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    unmixed = np.asarray(model(x, training=True))
    assert abs(loss - np.mean(-np.log(unmixed[np.arange(16), y]))) > 1e-4  # the step did not train on x itself
    assert mmzoo.strip_augmentation(model).spec_configs[0]["augment"] is None
