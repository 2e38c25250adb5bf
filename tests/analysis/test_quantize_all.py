"""Quantizing every Dense, EinsumDense and Embedding, nested ones included, with a `.keras` round trip.

A small text transformer (embeddings, multi-head attention's EinsumDense,
feed-forward Dense, all nested in mmzoo's encoder and fusion layers) is
quantized by `mmzoo.compression.quantize` and by Keras's own
`Model.quantize`; the saved file reloads (safe mode) into a model predicting
exactly the same. (Keras's `Model.quantize` stops at a `Text` spec's
unbuilt `StringLookup`; `mmzoo.compression.quantize` walks past it.)
"""

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.analysis.compression import model_size_bytes, quantize
from mmzoo.models.quantized_layers import quantized_entries

WORDS = np.array(["a good film", "a bad plot", "great acting and music", "dull and slow"] * 4, dtype=object)


@pytest.fixture(scope="module")
def text_model():
    keras.utils.set_random_seed(0)
    text = mmzoo.Text("review", vocabulary_size=64, sequence_length=8)
    text.adapt(list(WORDS))
    features = mmzoo.Features("f", shape=(4,), normalize=False)
    model = mmzoo.build_model(
        "transformer",
        [text, features],
        mmzoo.Classification(3),
        encoders={
            "review": ("transformer", {"units": 32, "num_heads": 2, "num_layers": 1, "ff_dim": 64, "max_length": 8}),
            "f": ("mlp", {"units": (16,)}),
        },
    )
    x = {"review": WORDS, "f": np.random.default_rng(0).normal(size=(len(WORDS), 4)).astype("float32")}
    return model, x


def _types(report):
    return {e["type"] for e in report.quantized}


def test_every_dense_einsum_dense_and_embedding_is_quantized_and_reloads_identically(text_model, tmp_path):
    model, x = text_model
    quantized, report = quantize(model, "int8")
    assert {"Dense", "EinsumDense", "Embedding"} <= _types(report)
    assert {e["type"] for e in report.float} <= {"LayerNormalization"}, report.summary()
    assert any(e["layer"].startswith("review_encoder/") and e["type"] == "Embedding" for e in report.quantized)

    quantized.save(tmp_path / "q.keras")
    model.save(tmp_path / "f.keras")
    assert model_size_bytes(tmp_path / "q.keras") < 0.6 * model_size_bytes(tmp_path / "f.keras")
    reloaded = mmzoo.load(tmp_path / "q.keras")  # safe mode
    assert [e["layer"] for e in quantized_entries(reloaded)] == [e["layer"] for e in report.quantized]
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), quantized.predict(x, verbose=0))
    np.testing.assert_allclose(quantized.predict(x, verbose=0), model.predict(x, verbose=0), atol=0.15)


def test_float8_is_reported_per_layer_where_keras_lacks_it(text_model):
    model, _ = text_model
    _, report = quantize(model, "float8")
    reasons = {e["layer"]: e["reason"] for e in report.float if e["type"] == "Embedding"}
    assert reasons and all("no float8 quantization for Embedding" in r for r in reasons.values())
    assert {"Dense", "EinsumDense"} <= _types(report)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_keras_model_quantize_on_a_multimodal_model_round_trips(mode, tmp_path):
    model = mmzoo.build_model(
        "early_fusion",
        [mmzoo.Features("f", shape=(4,), normalize=False)],
        mmzoo.Classification(2),
        encoders={"f": ("mlp", {"units": (16,)})},
        head_units=(8,),
    )
    assert "quantized" not in model.get_config()  # a float model's config is unchanged
    model.quantize(mode)  # Keras's own API (a model without string lookups, which it cannot walk past)
    assert "f_encoder/dense0" in [e["layer"] for e in model.get_config()["quantized"]]
    reloaded = mmzoo.load(_saved(model, tmp_path / f"{mode}.keras"))
    x = {"f": np.random.default_rng(0).normal(size=(8, 4)).astype("float32")}
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


@keras.saving.register_keras_serializable(package="mmzoo_tests")
class TwoDense(keras.layers.Layer):
    """Auto-named sublayers: their names differ each time the layer is constructed."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first, self.second = keras.layers.Dense(8), keras.layers.Dense(2)

    def build(self, shape):
        self.first.build(shape)
        self.second.build((*shape[:-1], 8))

    def call(self, x):
        return self.second(self.first(x))


def test_auto_named_nested_layers_are_found_by_position(tmp_path):
    inputs = keras.Input((4,), name="f")
    model = mmzoo.MultimodalModel({"f": inputs}, TwoDense(name="two")(inputs))
    model.quantize("int8")
    [keras.layers.Dense(1) for _ in range(3)]  # shift Keras's automatic name counter
    reloaded = mmzoo.load(_saved(model, tmp_path / "m.keras"))
    assert [
        str(layer.kernel.dtype) for layer in (reloaded.get_layer("two").first, reloaded.get_layer("two").second)
    ] == ["int8", "int8"]
    x = {"f": np.ones((2, 4), "float32")}
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_recorded_layer_missing_from_the_rebuilt_model_is_named():
    inputs = keras.Input((4,), name="f")
    config = mmzoo.MultimodalModel({"f": inputs}, keras.layers.Dense(2, name="d")(inputs)).get_config()
    config["quantized"] = [{"layer": "d/inner", "position": [1, 0], "type": "Dense", "mode": "int8"}]
    with pytest.raises(ValueError, match="quantized Dense 'd/inner'"):
        mmzoo.MultimodalModel.from_config(config)


def _saved(model, path):
    model.save(path)
    return path
