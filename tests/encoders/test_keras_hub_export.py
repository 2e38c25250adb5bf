"""Models with KerasHub encoders saved and served: `.keras` and SavedModel in a fresh process, TFLite and ONNX."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mmzoo

keras_hub = pytest.importorskip("keras_hub")

TEXTS = np.array(
    ["A GOOD film!", "the bad movies, dull", "Café great", "films films films films films films"], dtype=object
)

FRESH = """
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # registers the tokenizer kernels the SavedModel's graph uses
texts, pixels = {texts!r}, np.load({pixels!r})
served = tf.saved_model.load({savedmodel!r}).signatures["serve"](review=tf.constant(texts), poster=tf.constant(pixels))
result = {{"savedmodel": served["probabilities"].numpy().tolist(),
          "imported": sorted(m for m in ("mmzoo", "keras_hub") if m in sys.modules)}}
import mmzoo
model = mmzoo.load({keras!r})
result["keras"] = model.predict({{"review": np.array(texts, dtype=object), "poster": pixels}}, verbose=0).tolist()
result["trainable"] = {{n: [w.path for w in model.get_layer(n).trainable_weights] for n in ("review_encoder", "poster_encoder")}}
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def model(hub_presets):
    specs = [mmzoo.Text("review", sequence_length=6), mmzoo.Image("poster", shape=(32, 32, 3))]
    encoders = {
        "review": ("keras_hub", {"preset": hub_presets["bert"], "trainable_blocks": 1}),
        "poster": ("keras_hub", {"preset": hub_presets["vit"]}),
    }
    return mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2), encoders=encoders)


def _inputs():
    return {"review": TEXTS, "poster": np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("uint8")}


def test_keras_and_savedmodel_match_in_a_fresh_process(model, tmp_path):
    """`.keras` reloads (tokenizer vocabulary restored after the graph) and SavedModel serves with TF Text only."""
    x = _inputs()
    expected = model.predict(x, verbose=0)
    keras_path, savedmodel = str(tmp_path / "m.keras"), str(tmp_path / "savedmodel")
    model.save(keras_path)
    mmzoo.export(model, savedmodel)
    with open(os.path.join(savedmodel, "assets.extra", "mmzoo.json")) as f:
        assert json.load(f)["serving_imports"] == ["tensorflow_text"]
    np.save(tmp_path / "pixels.npy", x["poster"])
    code = FRESH.format(texts=list(TEXTS), pixels=str(tmp_path / "pixels.npy"), savedmodel=savedmodel, keras=keras_path)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["imported"] == []  # served by TensorFlow and TensorFlow Text alone (this script imports no Keras)
    np.testing.assert_allclose(result["savedmodel"], expected, atol=1e-6)
    np.testing.assert_array_equal(np.array(result["keras"], dtype="float32"), expected)
    for name, paths in result["trainable"].items():  # the freeze settings come back with the model
        assert paths == [w.path for w in model.get_layer(name).trainable_weights]
    # mmzoo's own loader accepts it: the tokenizer ops are on the allowlist, tensorflow_text is imported
    served = mmzoo.load(savedmodel).signatures["serve"](review=TEXTS, poster=x["poster"])
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-6)


@pytest.fixture(scope="module")
def text_model(hub_presets):
    specs = [mmzoo.Text("review", sequence_length=6)]
    encoders = {"review": ("keras_hub", {"preset": hub_presets["bert"], "freeze": True})}
    return mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2), encoders=encoders)


@pytest.mark.parametrize("format", ["tflite", "onnx"])
def test_tflite_and_onnx_take_token_ids_with_a_tokenizer_json_beside_them(text_model, format, tmp_path):
    """The Hugging Face tokenizer.json gives the in-graph tokenizer's ids; the core matches the model."""
    from mmzoo.artifacts.hf_tokenizer import hf_tokenize, read_hf_tokenizer
    from mmzoo.artifacts.runtime import predict_from_artifact

    path = str(tmp_path / f"m.{format}")
    mmzoo.export(text_model, path, format=format)
    contract = read_hf_tokenizer(path + ".review.tokenizer.json")
    texts = list(TEXTS) + ["Dull, DULL... dog?", "", "ａ film"]
    in_graph = np.asarray(text_model.get_layer("review_tokenizer")(np.array(texts, dtype=object)))
    np.testing.assert_array_equal(hf_tokenize(texts, contract), in_graph)
    out = predict_from_artifact(path, {"review": TEXTS})["probabilities"]  # strings, tokenized with the file
    np.testing.assert_allclose(out, text_model.predict({"review": TEXTS}, verbose=0), atol=1e-5)


def test_clip_towers_and_zero_shot(hub_presets):
    """Each input of the clip architecture gets its CLIP tower; the text tower matches KerasHub's embeddings."""
    import keras

    specs = [mmzoo.Text("caption", sequence_length=6), mmzoo.Image("photo", shape=(32, 32, 3))]
    encoders = {name: ("keras_hub", {"preset": hub_presets["clip"]}) for name in ("caption", "photo")}
    clip = mmzoo.build_model("clip", specs, mmzoo.Retrieval(embedding_dim=8), encoders=encoders)
    backbone = keras_hub.models.Backbone.from_preset(hub_presets["clip"])
    ids = clip.get_layer("caption_tokenizer")(np.array(["a cat", "a photo of a dog"], dtype=object))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(clip.get_layer("caption_encoder")(ids)),
        keras.ops.convert_to_numpy(backbone.get_text_embeddings(ids)),
        atol=1e-6,
    )
    assert not any("vision" in w.path for w in clip.get_layer("caption_encoder").weights)  # one tower each
    # zero-shot: classes from prompts; an image gets its class by cosine similarity to them
    zero_shot = mmzoo.zero_shot_classifier(
        hub_presets["clip"], specs[1], ["cat", "dog"], templates=["a {}", "a photo of a {}"], sequence_length=16
    )
    pixels = np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3)).astype("uint8")
    probabilities = zero_shot.predict({"photo": pixels}, verbose=0)
    prompts = np.array(["a cat", "a photo of a cat", "a dog", "a photo of a dog"], dtype=object)
    text = backbone.get_text_embeddings(keras_hub_ids(hub_presets["clip"], prompts, 16))
    text = keras.ops.convert_to_numpy(text)
    text /= np.linalg.norm(text, axis=-1, keepdims=True)
    classes = text.reshape(2, 2, -1).mean(1)
    classes /= np.linalg.norm(classes, axis=-1, keepdims=True)
    image = keras.ops.convert_to_numpy(backbone.get_vision_embeddings(clip_images(hub_presets["clip"], pixels)))
    image /= np.linalg.norm(image, axis=-1, keepdims=True)
    scale = np.exp(keras.ops.convert_to_numpy(backbone.clip_head.logit_scale))
    logits = scale * image @ classes.T
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(-1, keepdims=True), atol=1e-5)
    assert zero_shot.class_names == ["cat", "dog"]


def keras_hub_ids(preset, texts, length):
    """Token ids of `texts` from KerasHub's own CLIP preprocessor (start, end, padding)."""
    import tensorflow as tf

    preprocessor = keras_hub.models.CLIPPreprocessor.from_preset(preset, sequence_length=length)
    images = tf.zeros((len(texts), 32, 32, 3))
    return preprocessor({"prompts": tf.constant(list(texts)), "images": images})["token_ids"]


def clip_images(preset, pixels):
    """Pixels through KerasHub's own CLIP preprocessor (its image converter)."""
    import tensorflow as tf

    preprocessor = keras_hub.models.CLIPPreprocessor.from_preset(preset, sequence_length=8)
    prompts = tf.constant(["a"] * len(pixels))
    return preprocessor({"prompts": prompts, "images": tf.constant(pixels, "float32")})["images"]
