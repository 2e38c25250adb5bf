"""The zoo itself is safe to load: pinned Keras, no Lambda anywhere, every artifact passes the inspector."""

import configparser
import os

import keras
import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import mmzoo
from mmzoo.registry import ENCODERS, MODELS
from mmzoo.safety import CODE_LAYERS, check_artifact, config_problems
from tests.helpers import small_inputs
from tests.test_registry import FAST_TEXT_ENCODER, SMALL_OPTIONS, _small_fusion

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
MIN_KERAS = Version("3.13.2")  # no known safe-mode bypasses at or above this version


def _keras_requirements():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "setup.cfg"))
    setup_lines = parser["options"]["install_requires"].splitlines()
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        requirement_lines = f.read().splitlines()
    found = {}
    for source, lines in (("setup.cfg", setup_lines), ("requirements.txt", requirement_lines)):
        for line in lines:
            line = line.split("#")[0].strip()
            if line and Requirement(line).name == "keras":
                found[source] = Requirement(line)
    return found


def test_keras_is_pinned_above_the_known_bypasses():
    found = _keras_requirements()
    assert sorted(found) == ["requirements.txt", "setup.cfg"], found
    for source, requirement in found.items():
        floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
        assert floors and min(floors) >= MIN_KERAS, f"{source}: {requirement}"
        assert not requirement.specifier.contains("3.13.1"), f"{source} admits 3.13.1"
        assert requirement.specifier.contains(keras.__version__), (
            f"installed keras {keras.__version__} does not satisfy {source}: {requirement}")
    assert Version(keras.__version__) >= MIN_KERAS


def _build(name):
    if MODELS.meta(name).get("task") == "retrieval":
        specs, x, _ = small_inputs(("image", "text"))
        task = mmzoo.Retrieval(embedding_dim=8)
    else:
        specs, x, _ = small_inputs()
        task = mmzoo.Classification(num_classes=2)
    encoders = {s.name: (s.default_encoder, SMALL_OPTIONS.get(s.default_encoder, {})) for s in specs}
    encoders["text"] = FAST_TEXT_ENCODER  # the BiLSTM's layers are walked in test_every_encoder's safe reload
    return mmzoo.build_model(name, specs, task, encoders=encoders, **_small_fusion(name)), x


def _code_layers(model):
    """Names of code-carrying layers anywhere in `model`, nested layers of custom layers included."""
    layers = model._flatten_layers(include_self=False, recursive=True)
    assert len(layers) > len(model.layers)  # the walk reaches inside encoders and fusions
    return [layer.name for layer in layers
            if type(layer).__name__ in CODE_LAYERS or isinstance(layer, keras.layers.Lambda)]


@pytest.mark.parametrize("name", mmzoo.list_models())
def test_zoo_model_has_no_lambda_and_loads_in_safe_mode(name, tmp_path):
    model, x = _build(name)
    assert _code_layers(model) == []
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    check_artifact(path)  # the allow-list admits every architecture
    reloaded = mmzoo.load(path)
    assert type(reloaded) is type(model)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)), atol=1e-5)


ENCODER_CASES = [(name, ENCODERS.meta(name)["modalities"][0]) for name in ENCODERS.names()]


@pytest.mark.parametrize("encoder,modality", ENCODER_CASES, ids=[c[0] for c in ENCODER_CASES])
def test_every_encoder_config_passes_the_inspector(encoder, modality):
    other = "features" if modality != "features" else "image"
    overrides = {modality: ENCODERS.meta(encoder).get("spec_options", {})}
    specs, _, _ = small_inputs((modality, other), overrides=overrides)
    options = SMALL_OPTIONS.get(encoder, {})
    model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(num_classes=2),
                              encoders={modality: (encoder, options)})
    assert _code_layers(model) == []
    assert config_problems(keras.saving.serialize_keras_object(model)) == []


def test_keras_applications_backbone_loads_in_safe_mode(tmp_path):
    specs, x, _ = small_inputs(("image", "features"), overrides={"image": {"shape": (32, 32, 3)}})
    model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(num_classes=2),
                              encoders={"image": ("mobilenet_v3_small", SMALL_OPTIONS["mobilenet_v3_small"])})
    assert _code_layers(model) == []
    path = str(tmp_path / "mobilenet.keras")
    model.save(path)
    reloaded = mmzoo.load(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)), atol=1e-5)
