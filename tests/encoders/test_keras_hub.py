"""The keras_hub encoder on tiny random-weight presets written with `save_to_preset` and loaded by path."""

import numpy as np
import pytest

import mmzoo

keras_hub = pytest.importorskip("keras_hub")

TEXTS = np.array(["a good film", "the bad movies", "great", "dull dull dull dull dull dull dull dull"], dtype=object)


@pytest.fixture(scope="module")
def presets(hub_presets):
    return hub_presets


def _specs():
    return [mmzoo.Text("review", sequence_length=6), mmzoo.Image("poster", shape=(32, 32, 3))]


def _inputs(n=4):
    pixels = np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3)).astype("uint8")
    return {"review": TEXTS[:n], "poster": pixels}


@pytest.fixture(scope="module")
def model(presets):
    encoders = {
        "review": ("keras_hub", {"preset": presets["bert"]}),
        "poster": ("keras_hub", {"preset": presets["vit"]}),
    }
    return mmzoo.build_model("early_fusion", _specs(), mmzoo.Classification(2), encoders=encoders)


def test_text_tokens_and_pooled_output_match_keras_hub(model, presets):
    """The in-graph tokenizer gives the preset preprocessor's ids; the encoder gives BERT's pooled output."""
    import keras

    reference = keras_hub.models.TextClassifierPreprocessor.from_preset(presets["bert"], sequence_length=8)
    expected = reference(TEXTS)
    ids = keras.ops.convert_to_numpy(model.get_layer("review_tokenizer")(TEXTS))
    np.testing.assert_array_equal(ids, keras.ops.convert_to_numpy(expected["token_ids"]))
    assert ids[3, -1] == 3 and (ids[0, 5:] == 0).all()  # cut to 8 with [SEP] kept; padded with [PAD]
    backbone = keras_hub.models.Backbone.from_preset(presets["bert"])
    pooled = keras.ops.convert_to_numpy(backbone(expected)["pooled_output"])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.get_layer("review_encoder")(ids)), pooled, atol=1e-6)


def test_sequences_are_zero_at_padding_and_vit_gives_patches(model, presets):
    import keras

    from mmzoo.encoders.keras_hub import KerasHubEncoder

    text = KerasHubEncoder(presets["bert"], modality="text", return_sequences=True)
    ids = keras.ops.convert_to_numpy(model.get_layer("review_tokenizer")(TEXTS))
    sequence = keras.ops.convert_to_numpy(text(ids))
    assert sequence.shape == (4, 8, 8)
    assert (sequence[ids == 0] == 0).all() and (np.abs(sequence[ids != 0]).sum(-1) > 0).all()
    image = KerasHubEncoder(presets["vit"], modality="image", return_sequences=True)
    assert tuple(image(np.zeros((2, 32, 32, 3), "float32")).shape) == (2, 17, 8)  # class token + 4x4 patches


def test_sequence_fusion_takes_token_sequences(presets):
    encoders = {"review": ("keras_hub", {"preset": presets["bert"], "freeze": True})}
    net = mmzoo.build_model(
        "transformer",
        _specs()[:1],
        mmzoo.Classification(2),
        encoders=encoders,
        fusion_options={"units": 8, "num_heads": 2, "num_layers": 1},
        compile=False,
    )
    assert tuple(net.get_layer("review_encoder").output.shape) == (None, 8, 8)
    assert np.isfinite(net.predict({"review": TEXTS}, verbose=0)).all()


def test_encoder_flag_reaches_the_config():
    import argparse

    from mmzoo.experiments.config import ConfigError, config_from_args

    args = argparse.Namespace(config=None, overrides=["encoders.review.options.lora_rank=4"])
    args.encoders = ["review=keras_hub:presets/tiny_bert", "poster=cnn"]
    config = config_from_args(args)
    assert config.encoders["review"].name == "keras_hub"
    assert config.encoders["review"].options == {"preset": "presets/tiny_bert", "lora_rank": 4}
    assert config.encoders["poster"].name == "cnn"
    with pytest.raises(ConfigError, match="INPUT=keras_hub:PRESET"):
        config_from_args(argparse.Namespace(config=None, overrides=[], encoders=["keras_hub:x"]))


def _count(layer):
    return sum(int(np.prod(w.shape)) for w in layer.trainable_weights)


def test_freeze_top_blocks_and_lora_train_what_they_say(presets):
    from mmzoo.encoders.keras_hub import KerasHubEncoder, find_blocks

    full = KerasHubEncoder(presets["bert"])
    frozen = KerasHubEncoder(presets["bert"], freeze=True)
    top = KerasHubEncoder(presets["bert"], trainable_blocks=1)
    lora = KerasHubEncoder(presets["bert"], lora_rank=2)
    for encoder in (full, frozen, top, lora):
        encoder(np.array([[2, 5, 6, 3]]))
    assert _count(frozen) == 0
    assert _count(top) == _count(find_blocks(top.tower[0])[-1]) > 0
    # rank-2 LoRA on the query and value (width 8 -> 2 heads x 4) of 2 blocks: A (8, 2, 2) and B (2, 4)
    assert _count(lora) == 2 * 2 * (8 * 2 * 2 + 2 * 4)
    assert all("lora_kernel" in w.path for w in lora.trainable_weights)
    assert _count(full) == sum(int(np.prod(w.shape)) for w in full.tower[0].weights)
    rebuilt = KerasHubEncoder.from_config(top.get_config())
    rebuilt(np.array([[2, 5, 6, 3]]))
    assert _count(rebuilt) == _count(top)


def test_default_optimizer_warms_up_clips_and_splits(model):
    from mmzoo.training.split_optimizer import SplitOptimizer
    from mmzoo.training.warmup import WarmUp

    optimizer = model.optimizer
    assert isinstance(optimizer, SplitOptimizer)
    assert optimizer.encoder_optimizer.clipnorm == 1.0
    encoder_rate = optimizer.encoder_optimizer._learning_rate
    assert isinstance(encoder_rate, WarmUp) and encoder_rate.learning_rate == 5e-5
    assert optimizer.optimizer._learning_rate.learning_rate == 1e-3


def test_front_door_refuses_non_text_preset_for_text(presets):
    with pytest.raises(ValueError, match="no tokenizer.json"):
        mmzoo.build_model(
            "early_fusion",
            [mmzoo.Text("review")],
            mmzoo.Classification(2),
            encoders={"review": ("keras_hub", {"preset": presets["vit"]})},
        )
