"""ONNX export: the float32 model core through tf2onnx, checked with onnxruntime."""

import json
import os

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.artifacts.runtime import predict_from_artifact
from mmzoo.artifacts.tokenizer import read_contract, tokenize
from tests.helpers import small_inputs

ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed: pip install 'mmzoo[export]'")
onnx = pytest.importorskip("onnx", reason="onnx not installed: pip install 'mmzoo[export]'")
pytest.importorskip("tf2onnx", reason="tf2onnx not installed: pip install 'mmzoo[export]'")

ATOL = 1e-5  # probabilities; the DFT log-mel frontend differs from MelSpectrogram by float32 rounding only


def test_onnx_matches_keras_with_token_ids_and_dft_frontend(small_model, artifacts):
    model, x, n = small_model
    path = artifacts["onnx"]
    assert sorted(f for f in os.listdir(os.path.dirname(path)) if f.startswith("reviews.onnx")) == [
        "reviews.onnx",
        "reviews.onnx.mmzoo.json",
        "reviews.onnx.text.tokenizer.json",
        "reviews.onnx.text.vocabulary.txt",
    ]
    graph = onnx.load(path).graph
    ops = {node.op_type for node in graph.node}
    assert not ops & {"DFT", "STFT"} and "Conv" in ops  # the log-mel is a convolution, not an FFT
    assert {i.name for i in graph.input} == {"text", "image", "audio", "features"}
    meta = json.loads(open(path + ".mmzoo.json").read())
    assert meta["dtype_policy"] == "float32" and meta["opset"] == 17

    expected = model.predict(x, verbose=0)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    contract = read_contract(path + ".text.tokenizer.json")
    feed = {**{k: x[k] for k in ("image", "audio", "features")}, "text": tokenize(list(x["text"]), contract)}
    (probabilities,) = session.run(["probabilities"], feed)
    assert np.max(np.abs(probabilities - expected)) <= ATOL
    assert np.max(np.abs(predict_from_artifact(path, x)["probabilities"] - expected)) <= ATOL


def test_mixed_precision_model_exports_as_float32(tmp_path):
    specs, x, n = small_inputs(("audio", "features"))
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(num_classes=3))
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.get_layer("head_dense0").compute_dtype == "float16"
    twin = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(num_classes=3))  # float32, same weights
    twin.set_weights(model.get_weights())
    path = str(tmp_path / "mixed.onnx")
    mmzoo.export(model, path, format="onnx")
    graph = onnx.load(path).graph
    float16 = onnx.TensorProto.FLOAT16
    assert all(t.data_type != float16 for t in graph.initializer)
    assert all(n.attribute[0].i != float16 for n in graph.node if n.op_type == "Cast")
    got = predict_from_artifact(path, x)["probabilities"]
    assert np.max(np.abs(got - twin.predict(x, verbose=0))) <= ATOL
    assert np.max(np.abs(got - model.predict(x, verbose=0))) <= 5e-2  # the mixed model rounds to float16


def test_what_onnx_cannot_do_names_the_layer_and_format(tmp_path):
    words = mmzoo.Text("words", vocabulary_size=20, output_mode="multi_hot")
    words.adapt(["a good film", "a bad film"])
    bag = mmzoo.build_model("early_fusion", [words], mmzoo.Classification(num_classes=2))
    with pytest.raises(ValueError, match=r"Layer 'words_vectorize' \(TextVectorization.*onnx.*'int'"):
        mmzoo.export(bag, str(tmp_path / "bag.onnx"), format="onnx")

    waveform = keras.Input((800,), name="clip")
    scaled = keras.layers.Reshape((800, 1), name="clip_channels")(waveform)
    spectrum = keras.layers.STFTSpectrogram(frame_length=64, frame_step=32, name="clip_stft")(scaled)
    plain = keras.Model({"clip": waveform}, keras.layers.Dense(1)(keras.layers.Flatten()(spectrum)))
    with pytest.raises(ValueError, match=r"Layer 'clip_stft' \(STFTSpectrogram\) cannot be exported to onnx"):
        mmzoo.export(plain, str(tmp_path / "plain.onnx"), format="onnx")
    with pytest.raises(ValueError, match=r"path must end with '.onnx'.*received path='.*plain.pb'"):
        mmzoo.export(plain, str(tmp_path / "plain.pb"), format="onnx")
    with pytest.raises(ValueError, match=r"format must be one of keras, onnx, savedmodel, tflite; received 'torch'"):
        mmzoo.export(plain, str(tmp_path / "plain.pt"), format="torch")
