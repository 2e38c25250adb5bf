"""predict_from_artifact: one call for .keras, SavedModel, .tflite and .onnx on raw inputs."""

import numpy as np
import pytest

from mmzoo.artifacts.core import build_core
from mmzoo.artifacts.runtime import artifact_format, predict_from_artifact

pytest.importorskip("ai_edge_litert.interpreter", reason="pip install 'mmzoo[export]' (ai-edge-litert)")
pytest.importorskip("onnxruntime", reason="pip install 'mmzoo[export]' (onnxruntime)")
pytest.importorskip("tf2onnx", reason="pip install 'mmzoo[export]' (tf2onnx)")

ATOL = {"keras": 1e-6, "savedmodel": 1e-6, "tflite": 1e-5, "onnx": 1e-5}


def test_every_format_predicts_the_same_from_raw_inputs(small_model, artifacts):
    model, x, n = small_model
    paths = artifacts
    expected = model.predict(x, verbose=0)
    raw = {**x, "text": [str(t) for t in x["text"]]}  # plain Python strings work too
    for kind, path in paths.items():
        assert artifact_format(path) == kind
        out = predict_from_artifact(path, raw)
        assert list(out) == ["probabilities"], kind
        diff = np.max(np.abs(out["probabilities"] - expected))
        assert diff <= ATOL[kind], f"{kind} differs from the Keras model by {diff}"

    # token ids pass through for the cores; they are what the contract produces
    ids = build_core(model, "onnx").text["text"](np.asarray(x["text"], dtype=object))
    out = predict_from_artifact(paths["onnx"], {**x, "text": np.asarray(ids)})
    assert np.max(np.abs(out["probabilities"] - expected)) <= ATOL["onnx"]

    with pytest.raises(
        ValueError,
        match=r"The model at '.*' is missing input 'audio'; it takes inputs 'audio', 'features', 'image', 'text'",
    ):
        predict_from_artifact(paths["tflite"], {k: v for k, v in x.items() if k != "audio"})
    with pytest.raises(ValueError, match=r"Input 'text' expects strings of shape \(batch,\) or int32"):
        predict_from_artifact(paths["onnx"], {**x, "text": np.zeros((n, 3), "int32")})
    with pytest.raises(ValueError, match=r"The SavedModel at '.*' is missing inputs 'audio', 'features', 'image'"):
        predict_from_artifact(paths["savedmodel"], {"text": x["text"]})
    for kind in ("savedmodel", "onnx"):  # a signature called by keyword would drop an extra key silently
        with pytest.raises(ValueError, match=r"received unknown input 'voice'; it takes inputs 'audio', 'features'"):
            predict_from_artifact(paths[kind], {**raw, "voice": x["audio"]})


def test_unknown_artifacts_are_named(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"\0")
    with pytest.raises(ValueError, match=r"Cannot predict from '.*model.pt': expected a .keras"):
        predict_from_artifact(str(tmp_path / "model.pt"), {})
    with pytest.raises(FileNotFoundError, match=r"No model at '.*absent.onnx'"):
        predict_from_artifact(str(tmp_path / "absent.onnx"), {})
