"""A small trained multimodal model (text, image, audio, features) shared by the export tests."""

import importlib.util

import numpy as np
import pytest

import mmzoo
from tests.helpers import small_inputs


@pytest.fixture(scope="session")
def small_model():
    """`(model, x, n)`: early fusion over all four modalities (untrained: parity needs no training)."""
    specs, x, n = small_inputs()
    model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(num_classes=3))
    # words outside the vocabulary: the OOV mapping must survive every format
    x["text"] = np.array(list(x["text"][:-1]) + ["Completely UNSEEN words!"], dtype=object)
    return model, x, n


@pytest.fixture(scope="session")
def artifacts(small_model, tmp_path_factory):
    """`small_model` written once in every format: `{"keras", "savedmodel", "tflite", "onnx": path}`.

    Exporting leaves the model as it was (the cores share its trained layers), which is checked here.
    """
    model, x, n = small_model
    folder = tmp_path_factory.mktemp("artifacts")
    paths = {
        "keras": str(folder / "reviews.keras"),
        "savedmodel": str(folder / "savedmodel"),
        "tflite": str(folder / "reviews.tflite"),
        "onnx": str(folder / "reviews.onnx"),
    }
    config = model.get_config()
    needs = {"tflite": "ai_edge_litert", "onnx": "tf2onnx"}  # the `export` extra; the SavedModel needs neither
    for kind in ("savedmodel", "tflite", "onnx"):
        if kind in needs and importlib.util.find_spec(needs[kind]) is None:
            paths[kind] = None  # those tests skip at import with the reason
            continue
        assert mmzoo.export(model, paths[kind], format=kind) == paths[kind]
    assert model.get_config() == config
    model.save(paths["keras"])
    return paths
