"""The zoo itself is safe to load: pinned Keras, no Lambda anywhere, every artifact passes the inspector."""

import configparser
import os

import keras
import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import mmzoo
from mmzoo.artifacts.safety import config_problems
from mmzoo.registry import ENCODERS
from tests import paths
from tests.helpers import code_layers, small_inputs
from tests.models.test_registry import SMALL_OPTIONS

ROOT = str(paths.ROOT)
pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
# 3.15.0 fixes CVE-2026-12479 (asset path traversal), CVE-2026-12480 (HDF5 virtual datasets) and
# CVE-2026-12481 (Lambda safe_mode=None); 3.15.1 adds dataset-unpickling and asset-extraction hardening.
MIN_KERAS = Version("3.15.1")


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
        for below in ("3.13.1", "3.14.0", "3.15.0"):  # 3.14.0 has all three CVEs
            assert not requirement.specifier.contains(below), f"{source} admits {below}"
        assert requirement.specifier.contains(keras.__version__), (
            f"installed keras {keras.__version__} does not satisfy {source}: {requirement}"
        )
    assert Version(keras.__version__) >= MIN_KERAS


# Every zoo architecture is checked in tests/models/test_registry.py::test_every_model, on the `.keras` file that
# test already saves: no code-carrying layer anywhere (`code_layers`), the inspector's allow-list admits the
# file (`check_artifact`) and it reloads in safe mode as the same class (`run_model_test`).


# encoders that need a pretrained preset are checked on tiny presets in tests/encoders/test_keras_hub*.py
ENCODER_CASES = [
    (name, ENCODERS.meta(name)["modalities"][0])
    for name in ENCODERS.names()
    if not ENCODERS.meta(name).get("pretrained")
]


@pytest.mark.parametrize("encoder,modality", ENCODER_CASES, ids=[c[0] for c in ENCODER_CASES])
def test_every_encoder_config_passes_the_inspector(encoder, modality):
    other = "features" if modality != "features" else "image"
    overrides = {modality: ENCODERS.meta(encoder).get("spec_options", {})}
    specs, _, _ = small_inputs((modality, other), overrides=overrides)
    options = SMALL_OPTIONS.get(encoder, {})
    model = mmzoo.build_model(
        "early_fusion", specs, mmzoo.Classification(num_classes=2), encoders={modality: (encoder, options)}
    )
    assert code_layers(model) == []
    assert config_problems(keras.saving.serialize_keras_object(model)) == []


def test_keras_applications_backbone_loads_in_safe_mode(tmp_path):
    specs, x, _ = small_inputs(("image", "features"), overrides={"image": {"shape": (32, 32, 3)}})
    model = mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(num_classes=2),
        encoders={"image": ("mobilenet_v3_small", SMALL_OPTIONS["mobilenet_v3_small"])},
    )
    assert code_layers(model) == []
    path = str(tmp_path / "mobilenet.keras")
    model.save(path)
    reloaded = mmzoo.load(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(reloaded(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)),
        atol=1e-5,
    )
