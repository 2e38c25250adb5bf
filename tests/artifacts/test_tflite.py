"""TFLite/LiteRT export: builtin ops only, parity with the Keras model, quantization, named errors."""

import json
import os

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.artifacts.runtime import predict_from_artifact
from mmzoo.artifacts.tokenizer import read_contract, tokenize
from tests.helpers import small_inputs

litert = pytest.importorskip(
    "ai_edge_litert.interpreter",
    reason="LiteRT interpreter not installed: pip install 'mmzoo[export]' (ai-edge-litert)",
)

FLOAT_ATOL = 1e-5  # probabilities; the core's DFT log-mel differs from MelSpectrogram by float32 rounding
QUANT_ATOL = {"float16": 1e-3, "dynamic": 1e-2, "int8": 2e-2}


def test_float_tflite_matches_keras_and_runs_on_the_litert_interpreter(small_model, artifacts):
    model, x, n = small_model
    path = artifacts["tflite"]
    folder = os.path.dirname(path)
    names = sorted(f for f in os.listdir(folder) if f.startswith("reviews.tflite"))
    assert names == [
        "reviews.tflite",
        "reviews.tflite.mmzoo.json",
        "reviews.tflite.text.tokenizer.json",
        "reviews.tflite.text.vocabulary.txt",
    ]
    meta = json.loads(open(path + ".mmzoo.json").read())
    assert meta["inputs"]["text"] == {"dtype": "int32", "shape": [6], "kind": "token_ids"}
    assert meta["inputs"]["audio"]["kind"] == "waveform" and meta["ops"] == "TFLITE_BUILTINS"
    expected = model.predict(x, verbose=0)

    # a client with only the LiteRT interpreter and the contract: tokenize, then run the signature
    contract = read_contract(path + ".text.tokenizer.json")
    runner = litert.Interpreter(model_path=path).get_signature_runner("serve")
    feed = {**{k: x[k] for k in ("image", "audio", "features")}, "text": tokenize(list(x["text"]), contract)}
    rows = [runner(**{k: v[i : i + 1] for k, v in feed.items()})["probabilities"] for i in range(n)]
    assert np.max(np.abs(np.concatenate(rows) - expected)) <= FLOAT_ATOL
    assert np.max(np.abs(predict_from_artifact(path, x)["probabilities"] - expected)) <= FLOAT_ATOL


@pytest.fixture(scope="module")
def non_recurrent(tmp_path_factory):
    """A model without recurrent layers (int8 calibration needs one) and the size of its float export."""
    specs, x, n = small_inputs(("image", "audio", "features"))
    model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(num_classes=3))
    float_path = str(tmp_path_factory.mktemp("float") / "float.tflite")
    mmzoo.export(model, float_path, format="tflite")
    assert (
        np.max(np.abs(predict_from_artifact(float_path, x)["probabilities"] - model.predict(x, verbose=0)))
        <= FLOAT_ATOL
    )
    return model, x, os.path.getsize(float_path)


@pytest.mark.parametrize("quantize", ["float16", "dynamic", "int8"])
def test_quantized_tflite_stays_close_and_is_smaller(non_recurrent, quantize, tmp_path):
    model, x, float_size = non_recurrent
    path = str(tmp_path / f"{quantize}.tflite")
    mmzoo.export(model, path, format="tflite", quantize=quantize, representative_data=x)
    expected = model.predict(x, verbose=0)
    got = predict_from_artifact(path, x)["probabilities"]
    assert np.max(np.abs(got - expected)) <= QUANT_ATOL[quantize]
    assert os.path.getsize(path) < float_size
    assert json.loads((tmp_path / f"{quantize}.tflite.mmzoo.json").read_text())["quantize"] == quantize


def test_what_tflite_cannot_do_names_the_layer_and_format(small_model, tmp_path):
    model, x, n = small_model
    with pytest.raises(ValueError, match=r"Layer 'text_encoder/bidirectional0' \(Bidirectional\).*tflite.*int8"):
        mmzoo.export(model, str(tmp_path / "m.tflite"), format="tflite", quantize="int8", representative_data=x)
    with pytest.raises(ValueError, match=r"quantize.*format='tflite' only"):
        mmzoo.export(model, str(tmp_path / "sm"), quantize="dynamic")

    words = mmzoo.Text("words", vocabulary_size=20, output_mode="tf_idf")
    words.adapt(["a good film", "a bad film"])
    bag = mmzoo.build_model("early_fusion", [words], mmzoo.Classification(num_classes=2))
    with pytest.raises(ValueError, match=r"Layer 'words_vectorize' \(TextVectorization.*tflite.*'int'"):
        mmzoo.export(bag, str(tmp_path / "bag.tflite"), format="tflite")

    strings = keras.Input((), dtype="string", name="tag")
    lookup = keras.layers.StringLookup(vocabulary=["a", "b"], name="tag_lookup")
    inner = keras.layers.Embedding(4, 2)(lookup(keras.layers.Identity(name="tag_copy")(strings)))
    plain = keras.Model({"tag": strings}, keras.layers.Dense(1)(inner))
    with pytest.raises(ValueError, match=r"Layer 'tag_lookup' \(StringLookup\) cannot be exported to tflite"):
        mmzoo.export(plain, str(tmp_path / "plain.tflite"), format="tflite")
