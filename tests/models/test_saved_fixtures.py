"""`.keras` files written by earlier versions of mmzoo keep loading with identical outputs."""

import keras
import numpy as np
import pytest

import mmzoo
from tests import paths

FIXTURES = paths.FIXTURES / "keras_v0_1"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.keras"))


def _inputs(arrays):
    return {
        key[2:]: (arrays[key].astype(object) if arrays[key].dtype.kind == "U" else arrays[key])
        for key in arrays.files
        if key.startswith("x_")
    }


def test_fixtures_present():
    assert NAMES == ["attention", "clip", "early_fusion", "gmu", "late_fusion"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("loader", ["mmzoo.load", "keras.saving.load_model"])
def test_old_keras_file_loads_with_identical_outputs(name, loader):
    arrays = np.load(FIXTURES / f"{name}.npz")
    path = str(FIXTURES / f"{name}.keras")
    model = mmzoo.load(path) if loader == "mmzoo.load" else keras.saving.load_model(path)
    assert isinstance(model, mmzoo.MultimodalModel)
    got = model.predict(_inputs(arrays), verbose=0)
    np.testing.assert_allclose(got, arrays["y"], rtol=1e-5, atol=1e-6)
