"""`mmzoo.train(..., precision=...)`: a float32 model is rebuilt under the policy and trained; heads stay float32."""

import json

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.training.placement import place
from mmzoo.training.trainer import train
from tests.training.distribute.workload import build, data, weights


def _layer_dtypes(model):
    """(class, name, dtype policy) of every layer config, nested ones included, in config order."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            config = node.get("config")
            if (
                isinstance(config, dict)
                and isinstance(config.get("dtype"), dict)
                and node.get("class_name") != "__keras_tensor__"
            ):
                found.append((node["class_name"], config.get("name"), config["dtype"]["config"]["name"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(json.dumps(model.get_config(), default=str)))
    return found


@pytest.mark.parametrize("name", ["tfn", "clip"])
def test_rebuilt_model_has_the_dtypes_of_a_fresh_mixed_build(name):
    inputs = [mmzoo.Features("a", shape=(4,), normalize=False), mmzoo.Features("b", shape=(3,), normalize=False)]
    task = mmzoo.Retrieval(embedding_dim=4) if name == "clip" else mmzoo.Classification(3)
    model = mmzoo.build_model(name, inputs, task, encoders={"a": "mlp", "b": "mlp"})
    placed = place(model, precision="mixed_float16")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        fresh = mmzoo.build_model(name, inputs, task, encoders={"a": "mlp", "b": "mlp"})
    finally:
        keras.config.set_dtype_policy(previous)
    assert _layer_dtypes(placed) == _layer_dtypes(fresh)
    kept = {(c, n) for c, n, d in _layer_dtypes(placed) if d == "float32"}
    assert kept == (
        {("L2Normalize", "a_embedding"), ("L2Normalize", "b_embedding"), ("ContrastiveLogits", "similarity")}
        if name == "clip"
        else {("Activation", "probabilities")}
    )
    assert type(placed.optimizer).__name__ == "LossScaleOptimizer"  # float16 needs loss scaling
    assert model.dtype_policy.name == "float32" and placed.dtype_policy.name == "mixed_float16"
    x = {"a": np.ones((2, 4), "float32"), "b": np.ones((2, 3), "float32")}
    np.testing.assert_allclose(np.asarray(placed(x)), np.asarray(model(x)), atol=0.05)


def test_train_under_mixed_bfloat16_trains_and_gives_the_weights_back():
    train_data, validation, inputs = data()
    reference = build(inputs)
    expected = train(reference, train_data, validation, epochs=2, seed=0, verbose=0).history

    model = build(inputs)
    before = weights(model)
    history = train(model, train_data, validation, epochs=2, seed=0, verbose=0, precision="mixed_bfloat16")
    trained = history.model
    assert trained is not model and trained.dtype_policy.name == "mixed_bfloat16"
    assert trained.get_layer("head_dense0").compute_dtype == "bfloat16"
    assert trained.get_layer("probabilities").compute_dtype == "float32"
    assert model.dtype_policy.name == "float32"  # the caller's model stays float32 ...
    after = weights(model)  # ... and holds the trained weights
    assert all(np.array_equal(a, b) for a, b in zip(after, weights(trained)))
    assert not all(np.array_equal(a, b) for a, b in zip(before, after))
    np.testing.assert_allclose(history.history["loss"], expected["loss"], rtol=0.02)  # bfloat16: ~3 digits


def test_bad_precision_names_the_argument():
    train_data, _, inputs = data()
    with pytest.raises(
        ValueError,
        match=r"precision must be one of 'float32', 'mixed_float16', "
        r"'mixed_bfloat16' \(or None: keep the model's own; or 'auto': chosen by the device\); received 'float64'",
    ):
        train(build(inputs), train_data, epochs=1, verbose=0, precision="float64")


def test_place_returns_the_model_itself_when_nothing_changes_and_needs_a_compiled_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="must be compiled before training under a strategy or precision"):
        place(model, precision="mixed_bfloat16")
    model.compile(optimizer="sgd", loss="mse")
    assert place(model) is model and place(model, precision="float32") is model
