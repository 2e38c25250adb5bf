"""Bad input gets a clear error naming the input, modality or registry entry."""

import numpy as np
import pytest

import mmzoo
from mmzoo.data import from_arrays
from tests.helpers import small_inputs


@pytest.fixture(scope="module")
def model_and_data():
    specs, x, n = small_inputs(("text", "image", "audio"))
    model = mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(num_classes=2),
        encoders={
            "image": ("cnn", {"filters": (4,), "units": 4}),
            "audio": ("cnn", {"filters": (4,), "units": 4}),
            "text": ("bilstm", {"units": 4, "embedding_dim": 4}),
        },
    )
    return model, x


def test_missing_input_key(model_and_data):
    model, x = model_and_data
    with pytest.raises(ValueError, match="missing input.*'audio'"):
        model.predict({k: v for k, v in x.items() if k != "audio"}, verbose=0)


@pytest.mark.parametrize(
    "name,bad,message",
    [
        (
            "image",
            np.zeros((8, 12, 12), "uint8"),
            r"Image input 'image' expects uint8 values of shape \(batch, 12, 12, 3\); received uint8 of shape \(8, 12, 12\)",
        ),
        (
            "image",
            np.zeros((8, 13, 12, 3), "uint8"),
            r"Image input 'image' expects .* received uint8 of shape \(8, 13, 12, 3\)",
        ),
        (
            "audio",
            np.zeros((8, 999), "float32"),
            r"Audio input 'audio' expects a mono float32 waveform of shape \(batch, 1000\).*Pad or crop",
        ),
        ("audio", np.zeros((8, 1000, 2), "float32"), r"Audio input 'audio' .* Mix multi-channel audio down to mono"),
        ("text", np.zeros((8,), "float32"), r"Text input 'text' expects strings .* received float32"),
        ("image", np.array(["x"] * 8, dtype=object), r"Image input 'image' expects uint8 .* received object"),
        (
            "image",
            np.full((8, 12, 12, 3), 256, "int64"),
            r"Image input 'image' expects uint8 .* received int64 values "
            r"from 256 to 256, outside \[0, 255\]",
        ),
    ],
)
def test_wrong_rank_shape_dtype_at_predict(model_and_data, name, bad, message):
    model, x = model_and_data
    with pytest.raises(ValueError, match=message):
        model.predict({**x, name: bad}, verbose=0)


def test_wrong_shape_in_dataset_is_caught_before_fit(model_and_data):
    model, x = model_and_data
    ds = from_arrays({**x, "image": np.zeros((8, 10, 10, 3), "uint8")}, np.zeros(8, "int64"))
    with pytest.raises(ValueError, match=r"Image input 'image' .* received uint8 of shape \(None, 10, 10, 3\)"):
        model.fit(ds, epochs=1, verbose=0)


def test_numpy_unicode_strings_are_accepted(model_and_data):
    model, x = model_and_data
    as_unicode = {**x, "text": np.array(list(x["text"]))}  # dtype <U..., which plain Keras rejects
    np.testing.assert_allclose(model.predict(as_unicode, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_empty_dataset():
    with pytest.raises(ValueError, match="empty"):
        from_arrays({"image": np.zeros((0, 4, 4, 1), "uint8")}, np.zeros(0))
    text = mmzoo.Text("review")
    with pytest.raises(ValueError, match="Text input 'review': cannot adapt on an empty dataset"):
        text.adapt([])


def test_dataset_arrays_checked_against_specs():
    specs, x, _ = small_inputs(("image", "audio"))
    with pytest.raises(ValueError, match=r"Audio input 'audio' expects .* received an array of shape \(8, 500\)"):
        from_arrays({**x, "audio": x["audio"][:, :500]}, np.zeros(8), inputs=specs)
    with pytest.raises(ValueError, match="Image input 'image' is missing from the data"):
        from_arrays({"audio": x["audio"]}, np.zeros(8), inputs=specs)
    bad = x["audio"].copy()
    bad[3, 10] = np.nan
    with pytest.raises(ValueError, match="Audio input 'audio' has NaN or Inf values in 1 examples"):
        from_arrays({**x, "audio": bad}, np.zeros(8), inputs=specs)


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda: mmzoo.build_model("nope", [mmzoo.Image("i")], mmzoo.Classification(2)),
            r"Unknown model 'nope'. Known models: .*early_fusion",
        ),
        (
            lambda: mmzoo.build_model(
                "early_fusion", [mmzoo.Image("i")], mmzoo.Classification(2), encoders={"i": "nope"}
            ),
            r"Unknown encoder 'nope'. Known encoders: .*cnn",
        ),
        (
            lambda: mmzoo.build_model("early_fusion", [mmzoo.Image("i")], mmzoo.Classification(2), fusion="nope"),
            r"Unknown fusion 'nope'. Known fusions: .*concat",
        ),
        (
            lambda: mmzoo.build_model(
                "early_fusion", [mmzoo.Image("i")], mmzoo.Classification(2), encoders={"i": "bilstm"}
            ),
            r"Encoder 'bilstm' does not take image input 'i'.*Encoders for image: cnn",
        ),
        (
            lambda: mmzoo.build_model(
                "early_fusion", [mmzoo.Image("i")], mmzoo.Classification(2), encoders={"j": "cnn"}
            ),
            r"encoders= names unknown input\(s\) j",
        ),
        (
            lambda: mmzoo.build_model("early_fusion", [mmzoo.Image("i"), mmzoo.Audio("i")], mmzoo.Classification(2)),
            r"repeated: i",
        ),
    ],
)
def test_build_errors_name_the_culprit(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_unadapted_text_says_how_to_adapt():
    with pytest.raises(ValueError, match=r"Text input 'review' has no vocabulary.*mmzoo.specs.adapt"):
        mmzoo.build_model("early_fusion", [mmzoo.Text("review")], mmzoo.Classification(2))
    with pytest.raises(ValueError, match=r"Features input 'f' normalizes in the graph but has no statistics"):
        mmzoo.build_model("early_fusion", [mmzoo.Features("f", shape=(3,))], mmzoo.Classification(2))


def test_bad_spec_arguments():
    with pytest.raises(ValueError, match=r"Image input 'img' expects shape=\(height, width, channels\)"):
        mmzoo.Image("img", shape=(28, 28))
    with pytest.raises(ValueError, match="must be a Python identifier"):
        mmzoo.Text("my review")
