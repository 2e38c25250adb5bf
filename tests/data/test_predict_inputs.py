"""Wrong input shapes and dtypes at predict time: a ValueError naming the input, expected, received.

tests/house/test_errors.py covers image rank/size, image object dtype, audio length and channels, and
text float dtype; this file adds the missing halves (audio dtype, text shape, image float/bool
dtype, features shape and dtype) and checks the same errors after `mmzoo.load` and on a direct call.
"""

import re

import numpy as np
import pytest

import mmzoo
from tests.helpers import small_inputs, tiny_early_fusion

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
IMAGE = r"Image input 'image' expects uint8 values of shape \(batch, 12, 12, 3\)"
AUDIO = r"Audio input 'audio' expects a mono float32 waveform of shape \(batch, 1000\) \(0.25 s at 4000 Hz\)"
TEXT = r"Text input 'text' expects strings of shape \(batch,\)"
FEATURES = r"Features input 'features' expects float32 values of shape \(batch, 5\)"


@pytest.fixture(scope="module")
def model_and_data():
    specs, x, _ = small_inputs()
    return tiny_early_fusion(specs), x


def _bad(x):
    return [  # (input, bad value, expected, received)
        ("image", x["image"].astype("float32") / 255, IMAGE, r"float32 of shape \(8, 12, 12, 3\)"),
        ("image", x["image"] > 128, IMAGE, r"bool of shape \(8, 12, 12, 3\)"),
        ("audio", np.full((8, 1000), "0.1", dtype=object), AUDIO, r"object of shape \(8, 1000\)"),
        ("audio", x["audio"].astype("complex64"), AUDIO, r"complex64 of shape \(8, 1000\)"),
        ("text", np.stack([x["text"], x["text"]], 1), TEXT, r"object of shape \(8, 2\)"),
        ("text", x["text"][:, None], TEXT, r"object of shape \(8, 1\)"),
        ("features", x["features"][:, :3], FEATURES, r"float32 of shape \(8, 3\)"),
        ("features", x["features"][:, :, None], FEATURES, r"float32 of shape \(8, 5, 1\)"),
        ("features", x["features"].astype(str).astype(object), FEATURES, r"object of shape \(8, 5\)"),
    ]


CASE_IDS = [
    "image-float",
    "image-bool",
    "audio-strings",
    "audio-complex",
    "text-2d",
    "text-column",
    "features-width",
    "features-rank",
    "features-strings",
]


@pytest.mark.parametrize("case", range(len(CASE_IDS)), ids=CASE_IDS)
def test_wrong_shape_or_dtype_names_input_expected_and_received(model_and_data, case):
    model, x = model_and_data
    name, value, expected, received = _bad(x)[case]
    with pytest.raises(ValueError, match=f"{expected}; received {received}"):
        model.predict({**x, name: value}, verbose=0)
    # A direct call checks too; Keras's own input-spec check may speak first for shapes.
    with pytest.raises(ValueError) as info:
        model({**x, name: value})
    assert f"'{name}'" in str(info.value) and str(tuple(value.shape)) in str(info.value)


def test_reloaded_model_still_checks_its_inputs(model_and_data, tmp_path):
    model, x = model_and_data
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = mmzoo.load(path)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    for name, value, expected, received in (_bad(x)[2], _bad(x)[4]):
        with pytest.raises(ValueError, match=f"{expected}; received {received}"):
            reloaded.predict({**x, name: value}, verbose=0)


def test_audio_dtype_error_does_not_suggest_padding(model_and_data):
    model, x = model_and_data
    with pytest.raises(ValueError) as info:
        model.predict({**x, "audio": x["audio"].astype("complex64")}, verbose=0)
    assert "Pad or crop" not in str(info.value)


def test_byte_strings_are_accepted_like_unicode(model_and_data):
    model, x = model_and_data
    as_bytes = {**x, "text": np.array([s.encode() for s in x["text"]])}
    np.testing.assert_allclose(model.predict(as_bytes, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_error_names_only_the_bad_input(model_and_data):
    model, x = model_and_data
    with pytest.raises(ValueError) as info:
        model.predict({**x, "features": x["features"][:, :3]}, verbose=0)
    message = str(info.value)
    assert re.match(r"Features input 'features'", message)
    assert not any(f"input '{other}'" in message for other in ("image", "audio", "text"))
