"""The keras_hub encoder on a tiny random Whisper preset: raw waveforms in, the Whisper encoder's frames out."""

import numpy as np
import pytest

import mmzoo

keras_hub = pytest.importorskip("keras_hub")

# Half the tiny converter's 1 s window: 25 of the encoder's 50 frames (20 ms each) cover the clip.
SECONDS, FRAMES = 0.5, 25


def _spec(**options):
    return mmzoo.Audio("voice", sample_rate=16_000, seconds=SECONDS, **options)


def _waves(n=3):
    return (0.1 * np.random.default_rng(0).normal(size=(n, 8000))).astype("float32")


def _count(layer):
    return sum(int(np.prod(w.shape)) for w in layer.trainable_weights)


@pytest.fixture(scope="module")
def reference(hub_presets):
    """KerasHub's own converter and whole Whisper backbone (encoder and decoder) on the waveforms: `(3, 50, 8)`."""
    import tensorflow as tf

    features = keras_hub.layers.AudioConverter.from_preset(hub_presets["whisper"])(_waves())
    backbone = keras_hub.models.Backbone.from_preset(hub_presets["whisper"])
    feed = {
        "encoder_features": tf.constant(features),
        "decoder_token_ids": tf.zeros((3, 1), "int32"),
        "decoder_padding_mask": tf.ones((3, 1), "int32"),
    }
    return backbone(feed)["encoder_sequence_output"].numpy()


@pytest.fixture(scope="module")
def model(hub_presets):
    encoders = {"voice": ("keras_hub", {"preset": hub_presets["whisper"], "lora_rank": 2})}
    return mmzoo.build_model("early_fusion", [_spec()], mmzoo.Classification(2), encoders=encoders)


def _variant(encoder, **options):
    """`encoder` rebuilt from its config with other options and given its weights (the preset is not read again)."""
    from mmzoo.encoders.keras_hub import KerasHubEncoder

    variant = KerasHubEncoder.from_config({**encoder.get_config(), "lora_rank": None, **options})
    weights = {w.path: w for w in encoder.weights}
    for weight in variant.weights:
        weight.assign(weights[weight.path])
    return variant


def test_pooled_and_sequence_outputs_are_whisper_frames_of_the_clip(model, reference):
    """Raw waveforms in; pooled: the mean of the clip's frames (not the padding's); sequence: those frames."""
    import keras

    encoder = model.get_layer("voice_encoder")
    assert tuple(model({"voice": _waves()}).shape) == (3, 2)
    pooled = keras.ops.convert_to_numpy(encoder(_waves()))  # LoRA factors B start at zero: Whisper's own output
    np.testing.assert_allclose(pooled, reference[:, :FRAMES].mean(1), atol=1e-5)
    assert np.abs(pooled - reference.mean(1)).max() > 1e-3  # the converter's padding frames are left out
    # what sequence fusions get (`return_sequences`): the clip's frames, (batch, 25, 8)
    frames = keras.ops.convert_to_numpy(_variant(encoder, return_sequences=True)(_waves()))
    np.testing.assert_allclose(frames, reference[:, :FRAMES], atol=1e-5)
    assert not any("decoder" in w.path for w in encoder.weights)  # the encoder half only


def test_freeze_top_blocks_and_lora_train_what_they_say(model):
    lora = model.get_layer("voice_encoder")
    # conv 3x16x8+8 and 3x8x8+8; per block: query, value, output 8x8+8, key 8x8 (no bias), 2 norms 2x8,
    # feed-forward 8x16+16 and 16x8+8; final norm 16. The sinusoidal positions never train.
    block = 4 * 64 + 3 * 8 + 2 * 16 + 8 * 16 + 16 + 16 * 8 + 8
    assert _count(_variant(lora)) == 392 + 200 + 2 * block + 16 == 1792
    assert _count(_variant(lora, freeze=True)) == 0
    assert _count(_variant(lora, trainable_blocks=1)) == block
    # rank 2 on query and value (2 heads x 4) of 2 blocks: A (8, 2, 2), B (2, 4)
    assert _count(lora) == 2 * 2 * (8 * 2 * 2 + 2 * 4)
    assert all("lora_kernel" in w.path for w in lora.trainable_weights)
    # unfreezing (what mmzoo.fine_tune does) keeps LoRA-only, and never trains the fixed positions
    lora.unfreeze()
    assert _count(lora) == 2 * 2 * (8 * 2 * 2 + 2 * 4)
    plain = _variant(lora)
    plain.unfreeze()
    assert _count(plain) == 1792
    plain.unfreeze(everything=True)
    assert _count(plain) == 1792


def test_mixed_precision_keeps_the_log_mel_in_float32(model, hub_presets):
    """The converter's FFT takes float32 only: it stays float32 under a mixed policy, fresh or retyped."""
    from mmzoo.training.placement import retype_config

    encoders = {"voice": ("keras_hub", {"preset": hub_presets["whisper"], "freeze": True})}
    mixed = mmzoo.build_model(
        "early_fusion", [_spec()], mmzoo.Classification(2), encoders=encoders, precision="mixed_bfloat16"
    )
    encoder = mixed.get_layer("voice_encoder")
    assert (encoder.converter.compute_dtype, encoder.tower[0].compute_dtype) == ("float32", "bfloat16")
    out = np.asarray(mixed({"voice": _waves()}))
    assert out.dtype == np.float32 and np.isfinite(out).all()
    config = retype_config(model.get_config(), "float32", "mixed_bfloat16")  # what mmzoo.train(precision=) rebuilds
    layer = next(layer for layer in config["layers"] if layer["config"]["name"] == "voice_encoder")
    assert layer["config"]["converter"]["config"]["dtype"]["config"]["name"] == "float32"


def test_keras_round_trip_and_savedmodel_serve_raw_waveforms(model, tmp_path):
    """`.keras` (safe mode, LoRA factors included) and the SavedModel's `serve` give the model's outputs."""
    encoder = model.get_layer("voice_encoder")
    rng = np.random.default_rng(1)
    start = [np.asarray(w) for w in encoder.trainable_weights]
    for weight in encoder.trainable_weights:  # LoRA factors away from their zero start, so they count
        weight.assign(0.5 * rng.normal(size=weight.shape).astype("float32"))
    try:
        _round_trips(model, encoder, tmp_path)
    finally:  # the module's model as it was, for the other tests
        for weight, value in zip(encoder.trainable_weights, start):
            weight.assign(value)


def _round_trips(model, encoder, tmp_path):
    import tensorflow as tf

    from mmzoo.artifacts.savedmodel import export_savedmodel
    from mmzoo.artifacts.savedmodel_scan import savedmodel_problems

    x = {"voice": _waves()}
    expected = np.asarray(model(x))
    model.save(tmp_path / "m.keras")
    loaded = mmzoo.load(str(tmp_path / "m.keras"))
    np.testing.assert_array_equal(np.asarray(loaded(x)), expected)
    assert [w.path for w in loaded.get_layer("voice_encoder").trainable_weights] == [
        w.path for w in encoder.trainable_weights
    ]
    export_savedmodel(model, str(tmp_path / "savedmodel"), serve_bytes=False)  # mmzoo.export's, one signature
    assert savedmodel_problems(str(tmp_path / "savedmodel")) == []  # every op on mmzoo.load's allowlist
    served = tf.saved_model.load(str(tmp_path / "savedmodel")).signatures["serve"](voice=tf.constant(x["voice"]))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-6)
    # TFLite (and ONNX: the same check) refuse the converter's FFT and ragged padding before converting
    with pytest.raises(ValueError, match="WhisperAudioConverter.*cannot be exported to tflite.*savedmodel"):
        mmzoo.export(model, str(tmp_path / "m.tflite"), format="tflite")


@pytest.mark.parametrize(
    "spec, preset, message",
    [
        (mmzoo.Audio("voice", sample_rate=8000, seconds=0.5), "whisper", "sample_rate=8000.*reads 16000 Hz"),
        (mmzoo.Audio("voice", sample_rate=16_000, seconds=2.0), "whisper", "longer than the 1 s window"),
        (mmzoo.Audio("voice", sample_rate=16_000, seconds=0.5), "bert", "no audio_converter.json"),
        (_spec(augment={"spec_augment": {}}), "whisper", "'spec_augment' acts on the spec's features.*gain"),
    ],
)
def test_audio_the_preset_cannot_take_is_refused(hub_presets, spec, preset, message):
    encoders = {"voice": ("keras_hub", {"preset": hub_presets[preset]})}
    with pytest.raises(ValueError, match=message):
        mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(2), encoders=encoders)
