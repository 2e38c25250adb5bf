"""SigLIP presets as the two towers of `clip` (sigmoid loss, learned bias) and in zero-shot, on a tiny random preset."""

import numpy as np
import pytest

import mmzoo

keras_hub = pytest.importorskip("keras_hub")
pytest.importorskip("sentencepiece")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

TEXTS = np.array(["A photo of a CAT!", "the good, film", "a dog"], dtype=object)
LOG_SCALE, BIAS = 2.0, -1.5  # what the preset's head was set to


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    from tests.encoders.hub_presets import siglip_preset

    return siglip_preset(str(tmp_path_factory.mktemp("hub") / "siglip"))


@pytest.fixture(scope="module")
def backbone(preset):
    return keras_hub.models.Backbone.from_preset(preset)


# Made per test, as the models holding a tokenizer: `keras.utils.clear_session()` (run before every test)
# clears TF's kernel cache, and a SentencePiece tokenizer's model lives in a kernel-owned resource
# (tensorflow_text's SentencepieceOp), so a tokenizer made before it no longer runs in a tf.function.
@pytest.fixture
def reference(preset, backbone):
    """KerasHub's own SigLIP: backbone and preprocessor (canonicalized text padded to the context, 12)."""
    return backbone, keras_hub.models.SigLIPPreprocessor.from_preset(preset, sequence_length=12)


def _pixels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3)).astype("uint8")


def _specs():
    return [mmzoo.Text("caption", sequence_length=8), mmzoo.Image("photo", shape=(32, 32, 3))]


@pytest.fixture
def clip(preset):
    encoders = {name: ("keras_hub", {"preset": preset}) for name in ("caption", "photo")}
    return mmzoo.build_model("clip", _specs(), mmzoo.Retrieval(embedding_dim=4), encoders=encoders)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_siglip_towers_in_clip_match_keras_hub_and_train_with_the_sigmoid_loss(clip, reference, tmp_path):
    """Tokens as SigLIP's preprocessor makes them; pooled outputs (last token / MAP head) equal KerasHub's;
    logits `exp(t) cos + b` and SigLIP's loss -1/B sum_ij log sigmoid(z_ij l_ij); reloaded in safe mode."""
    backbone, preprocessor = reference
    pixels = _pixels(3)
    expected = preprocessor({"prompts": TEXTS, "images": pixels.astype("float32")})
    ids = _np(clip.get_layer("caption_tokenizer")(TEXTS))
    np.testing.assert_array_equal(ids, _np(expected["token_ids"]))  # lower case, no punctuation, </s>-padded to 12
    text = _np(clip.get_layer("caption_encoder")(ids))
    np.testing.assert_allclose(text, _np(backbone.get_text_embeddings(expected["token_ids"])), atol=1e-6)
    image = _np(clip.get_layer("photo_encoder")(pixels.astype("float32") / 255.0))
    np.testing.assert_allclose(image, _np(backbone.get_vision_embeddings(expected["images"])), atol=1e-5)
    assert not any("vision" in w.path for w in clip.get_layer("caption_encoder").weights)  # one tower each
    # the clip model trains with SigLIP's loss, starting from the preset's learned scale and bias
    similarity = clip.get_layer("similarity")
    assert clip.task.loss_type == "sigmoid" and isinstance(clip.loss, mmzoo.tasks.SigmoidLoss)
    assert float(_np(similarity.log_scale)) == pytest.approx(LOG_SCALE) and similarity.max_scale is None
    assert float(_np(similarity.bias)) == pytest.approx(BIAS)
    x = {"caption": TEXTS, "photo": pixels}
    logits = clip.predict(x, verbose=0)
    a, b = _np(clip.get_layer("caption_projection")(text)), _np(clip.get_layer("photo_projection")(image))
    np.testing.assert_allclose(logits, np.exp(LOG_SCALE) * _normalize(a) @ _normalize(b).T + BIAS, atol=1e-5)
    z = 2.0 * np.eye(3) - 1.0
    siglip_loss = -np.mean(np.sum(np.log(1.0 / (1.0 + np.exp(-z * logits))), axis=1))
    loss = clip.compute_loss(x, None, keras.ops.convert_to_tensor(logits))  # no labels: pair i matches i
    assert float(_np(loss)) == pytest.approx(siglip_loss, rel=1e-5)
    clip.save(tmp_path / "siglip.keras")
    reloaded = keras.saving.load_model(tmp_path / "siglip.keras")  # safe mode: SigLIP towers and tokenizer
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), logits, atol=1e-6)
    assert reloaded.task.loss_type == "sigmoid" and isinstance(reloaded.loss, mmzoo.tasks.SigmoidLoss)
    # the towers' sequences before the head: tokens zero after the end token, 4x4 patches (no class token)
    sequences = {}
    for name in ("caption", "photo"):
        config = {**clip.get_layer(f"{name}_encoder").get_config(), "return_sequences": True}
        sequences[name] = type(clip.get_layer(f"{name}_encoder")).from_config(config)
    tokens = _np(sequences["caption"](ids))
    assert tokens.shape == (3, 12, 8) and (tokens[2, 3:] == 0).all() and (np.abs(tokens[2, :3]).sum(-1) > 0).all()
    assert tuple(sequences["photo"](pixels.astype("float32")).shape) == (3, 16, 8)


def test_zero_shot_probabilities_are_siglip_sigmoids(preset, reference):
    backbone, preprocessor = reference
    classes, templates = ["cat", "dog", "film"], ["a {}", "a photo of a {}."]
    image = mmzoo.Image("photo", shape=(32, 32, 3))
    zero_shot = mmzoo.zero_shot_classifier(preset, image, classes, templates=templates)
    pixels = _pixels(4, seed=2)
    probabilities = zero_shot.predict({"photo": pixels}, verbose=0)
    prompts = np.array([t.format(c) for c in classes for t in templates], dtype=object)
    tokens = preprocessor({"prompts": prompts, "images": np.zeros((6, 32, 32, 3), "float32")})["token_ids"]
    text = _normalize(_np(backbone.get_text_embeddings(tokens))).reshape(3, 2, -1).mean(1)
    images = preprocessor({"prompts": TEXTS[:1].repeat(4), "images": pixels.astype("float32")})["images"]
    logits = np.exp(LOG_SCALE) * _normalize(_np(backbone.get_vision_embeddings(images))) @ _normalize(text).T + BIAS
    np.testing.assert_allclose(probabilities, 1.0 / (1.0 + np.exp(-logits)), atol=1e-5)
    assert zero_shot.class_names == classes


def test_loss_choice_and_refusals():
    specs = [mmzoo.Features("a", shape=(4,), normalize=False), mmzoo.Features("b", shape=(4,), normalize=False)]
    model = mmzoo.build_model("clip", specs, mmzoo.Retrieval(embedding_dim=4), loss="sigmoid")
    similarity = model.get_layer("similarity")  # SigLIP's start without a preset: scale 10, bias -10
    assert float(_np(similarity.log_scale)) == pytest.approx(np.log(10.0)) and float(_np(similarity.bias)) == -10.0
    x = {k: np.random.default_rng(3).standard_normal((8, 4)).astype("float32") for k in ("a", "b")}
    with tf.GradientTape() as tape:  # the bias trains: d loss / d b = -1/B sum_ij z_ij sigmoid(-z_ij l_ij)
        logits = model(x, training=True)
        loss = model.compute_loss(x, None, logits)
    z, logits = 2.0 * np.eye(8) - 1.0, _np(logits)
    expected = -np.sum(z / (1.0 + np.exp(z * logits))) / 8
    assert float(_np(tape.gradient(loss, similarity.bias))) == pytest.approx(expected, rel=1e-4)
    plain = mmzoo.build_model("clip", specs, mmzoo.Retrieval(embedding_dim=4), compile=False)  # CLIP's
    assert plain.task.loss_type == "softmax" and plain.get_layer("similarity").bias is None
    with pytest.raises(ValueError, match="loss_type='hinge'"):
        mmzoo.Retrieval(loss_type="hinge")
    with pytest.raises(ValueError, match="loss='sigmoid' but the task says loss_type='softmax'"):
        mmzoo.build_model("clip", specs, mmzoo.Retrieval(loss_type="softmax"), loss="sigmoid")
    with pytest.raises(ValueError, match="softmax loss has no bias"):
        mmzoo.build_model("clip", specs, mmzoo.Retrieval(), initial_bias=-5.0, compile=False)
