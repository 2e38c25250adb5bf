"""Inputs are matched by name, never by position: an unknown or missing key is an error at every entry point.

Keras flattens an input dict by sorted key, so before these checks an extra key sorting before the real ones
shifted every input by one and returned the probabilities of the wrong arrays (`test_extra_key_would_shift`).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.artifacts.runtime import predict_from_artifact
from mmzoo.cli.commands import main
from mmzoo.inference.fast_predict import FastPredictor

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
N = 6
EXPECTS = r"it takes inputs 'b', 'c'"


def _features_model(**options):
    keras.utils.set_random_seed(0)
    specs = [mmzoo.Features("b", shape=(3,), normalize=False), mmzoo.Features("c", shape=(3,), normalize=False)]
    return mmzoo.build_model("early_fusion", specs, mmzoo.Classification(3), **options)


@pytest.fixture(scope="module")
def model():
    return _features_model()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    x = {"b": rng.standard_normal((N, 3)).astype("float32"), "c": rng.standard_normal((N, 3)).astype("float32")}
    return x, np.arange(N) % 3


def _bad_dicts(x):
    extra = {"a": x["c"][::-1].copy(), **x}  # 'a' sorts first: it would take the place of 'b'
    missing = {"b": x["b"]}
    both = {"a": x["c"], "b": x["b"]}
    return {
        "extra": (extra, r"received unknown input 'a'"),
        "missing": (missing, r"is missing input 'c'"),
        "both": (both, r"received unknown input 'a' and is missing input 'c'"),
    }


CASES = ["extra", "missing", "both"]


def test_extra_key_would_shift(model, data):
    """What the check prevents: Keras alone takes the sorted values by position (here 'a', 'b' for 'b', 'c')."""
    x, _ = data
    extra = _bad_dicts(x)["extra"][0]
    shifted = keras.Model.predict(model, {"b": extra["a"], "c": extra["b"]}, verbose=0)
    assert not np.allclose(shifted, model.predict(x, verbose=0), atol=1e-3)


@pytest.mark.parametrize("case", CASES)
def test_predict_and_call_name_the_keys(model, data, case):
    x, _ = data
    bad, message = _bad_dicts(x)[case]
    with pytest.raises(ValueError, match=f"Model 'early_fusion' {message}; {EXPECTS}"):
        model.predict(bad, verbose=0)
    with pytest.raises(ValueError, match=f"{message}; {EXPECTS}"):
        model(bad)
    with pytest.raises(ValueError, match=f"{message}; {EXPECTS}"):
        FastPredictor(model)(bad)


@pytest.mark.parametrize("case", CASES)
def test_fit_and_evaluate_name_the_keys(data, case):
    model = _features_model()
    x, y = data
    bad, message = _bad_dicts(x)[case]
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=f"{message}; {EXPECTS}"):
        model.fit(bad, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=f"{message}; {EXPECTS}"):
        model.fit(x, y, validation_data=(bad, y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=f"{message}; {EXPECTS}"):
        model.evaluate(bad, y, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # no step was taken


@pytest.mark.parametrize("case", CASES)
def test_datasets_are_checked_from_their_element_spec(model, data, case):
    """No element is read: the check uses the dataset's element_spec before training starts."""
    x, y = data
    bad, message = _bad_dicts(x)[case]
    reads = []

    def generate():
        reads.append(1)
        for i in range(N):
            yield {k: v[i] for k, v in bad.items()}, y[i]

    signature = ({k: tf.TensorSpec((3,), tf.float32) for k in bad}, tf.TensorSpec((), tf.int64))
    ds = tf.data.Dataset.from_generator(generate, output_signature=signature).batch(2)
    for run in (
        lambda: model.fit(ds, epochs=1, verbose=0),
        lambda: model.evaluate(ds, verbose=0),
        lambda: model.predict(ds, verbose=0),
    ):
        with pytest.raises(ValueError, match=f"{message}; {EXPECTS}"):
            run()
    assert reads == []


def test_key_order_does_not_matter(model, data):
    x, _ = data
    reordered = {"c": x["c"], "b": x["b"]}
    expected = model.predict(x, verbose=0)
    np.testing.assert_array_equal(model.predict(reordered, verbose=0), expected)
    np.testing.assert_array_equal(FastPredictor(model)(reordered), FastPredictor(model)(x))
    np.testing.assert_allclose(np.asarray(model(reordered)), expected, atol=1e-6)
    ds = tf.data.Dataset.from_tensor_slices(reordered).batch(4)
    np.testing.assert_allclose(model.predict(ds, verbose=0), expected, atol=1e-6)


def test_presence_masks_are_optional_keys(data):
    x, _ = data
    model = _features_model(missing_modalities=True)
    everything = {**x, "b_present": np.ones(N, bool), "c_present": np.ones(N, bool)}
    expected = model.predict(everything, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    np.testing.assert_array_equal(model.predict({**x, "c_present": np.ones(N, bool)}, verbose=0), expected)
    np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-6)
    np.testing.assert_array_equal(FastPredictor(model)(x), expected)
    absent = model.predict({**x, "b_present": np.zeros(N, bool)}, verbose=0)
    assert not np.allclose(absent, expected, atol=1e-4)  # the mask is used, not dropped
    with pytest.raises(ValueError, match=r"unknown input 'd_present'.*\(optional: 'b_present', 'c_present'\)"):
        model.predict({**x, "d_present": np.ones(N, bool)}, verbose=0)


def test_presence_keys_are_unknown_to_models_without_them(model, data):
    x, _ = data
    with pytest.raises(ValueError, match=f"unknown input 'b_present'; {EXPECTS}"):
        model.predict({**x, "b_present": np.ones(N, bool)}, verbose=0)


def test_artifacts_refuse_unknown_keys(model, data, tmp_path):
    x, _ = data
    path = str(tmp_path / "model.keras")
    model.save(path)
    np.testing.assert_allclose(predict_from_artifact(path, x)["probabilities"], model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match=f"received unknown input 'a'; {EXPECTS}"):
        predict_from_artifact(path, _bad_dicts(x)["extra"][0])


def test_cli_names_unknown_and_missing_inputs_together(model, tmp_path):
    path = str(tmp_path / "model.keras")
    model.save(path)
    with pytest.raises(SystemExit) as error:
        main(["predict", "--model", path, "--input", "b=1,2,3", "--input", "a=1,2,3"])
    message = str(error.value)
    assert "--input a=...: the model has no input 'a'; its inputs are 'b', 'c'." in message
    assert "Input(s) 'c' (--features or --input c=...) missing" in message
    with pytest.raises(SystemExit, match="--input a=...: the model has no input 'a'"):
        main(["predict", "--model", path, "--input", "b=1,2,3", "--input", "c=1,2,3", "--input", "a=1,2,3"])
