"""Class imbalance: focal loss, balanced class weights, and `mmzoo.fit(class_weight="balanced")`."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.utils.class_weight import compute_class_weight

import mmzoo
from mmzoo.tasks.losses import SparseCategoricalFocalCrossentropy
from mmzoo.tasks.task import task_from_config
from mmzoo.training import class_weights, with_class_weights

LABELS = np.array([0] * 50 + [1] * 8 + [2] * 2)


def test_focal_loss_equals_keras_categorical_focal_crossentropy_on_a_batch():
    y_pred = tf.nn.softmax(np.random.default_rng(0).normal(size=(16, 3)).astype("float32"))
    y_true = np.arange(16) % 3
    ours = SparseCategoricalFocalCrossentropy(alpha=0.5, gamma=1.5)(y_true, y_pred)
    keras_loss = keras.losses.CategoricalFocalCrossentropy(alpha=0.5, gamma=1.5)(np.eye(3)[y_true], y_pred)
    np.testing.assert_allclose(float(ours), float(keras_loss), rtol=1e-6)
    restored = keras.losses.deserialize(
        json.loads(json.dumps(keras.losses.serialize(SparseCategoricalFocalCrossentropy(alpha=0.5, gamma=1.5))))
    )
    assert (restored.alpha, restored.gamma) == (0.5, 1.5)


def test_focal_classification_config_round_trips_and_its_model_trains_with_the_focal_loss(tmp_path):
    task = mmzoo.Classification(3, focal_gamma=2, focal_alpha=0.5)
    config = json.loads(json.dumps(task.get_config()))
    assert task_from_config(config) == task
    old = {"kind": "classification", "num_classes": 3, "class_names": None}  # a config saved before these fields
    assert task_from_config(old).focal_gamma is None
    assert isinstance(task_from_config(old).loss(), keras.losses.SparseCategoricalCrossentropy)

    keras.utils.set_random_seed(0)
    model = mmzoo.build_model("early_fusion", [mmzoo.Features("x", shape=(4,), normalize=False)], task, head_units=(8,))
    x = {"x": np.random.default_rng(1).normal(size=(12, 4)).astype("float32")}
    y = np.arange(12) % 3
    logs = model.evaluate(x, y, batch_size=12, return_dict=True, verbose=0)
    reference = keras.losses.CategoricalFocalCrossentropy(alpha=0.5, gamma=2.0)(
        np.eye(3)[y], model.predict(x, verbose=0)
    )
    assert logs["loss"] == pytest.approx(float(reference), rel=1e-5)
    model.save(tmp_path / "focal.keras")
    assert mmzoo.load(tmp_path / "focal.keras").task.focal_gamma == 2.0


def test_focal_gamma_must_be_a_non_negative_number():
    with pytest.raises(ValueError, match="focal_gamma must be None .* received -1"):
        mmzoo.Classification(3, focal_gamma=-1)


def test_multilabel_focal_uses_keras_binary_focal_crossentropy():
    loss = mmzoo.MultiLabel(num_labels=3, focal_gamma=2.0).loss()
    assert isinstance(loss, keras.losses.BinaryFocalCrossentropy) and loss.gamma == 2.0


def test_balanced_weights_equal_scikit_learn_from_labels_and_from_a_dataset():
    expected = compute_class_weight("balanced", classes=np.arange(3), y=LABELS)
    assert class_weights(LABELS) == pytest.approx(dict(enumerate(expected)))
    ds = tf.data.Dataset.from_tensor_slices(({"x": np.zeros((60, 1), "float32")}, LABELS)).batch(16)
    assert class_weights(ds) == pytest.approx(dict(enumerate(expected)))
    weights = np.concatenate([w for _, _, w in with_class_weights(ds, class_weights(ds)).as_numpy_iterator()])
    np.testing.assert_allclose(weights, expected[LABELS], rtol=1e-6)


def test_class_weight_errors_name_the_problem():
    with pytest.raises(ValueError, match="mode must be 'balanced'"):
        class_weights(LABELS, mode="inverse")
    with pytest.raises(ValueError, match="integer class ids"):
        class_weights([0.5, 1.0])


def _table(rng, n_common, n_rare):
    y = np.array(["common"] * n_common + ["rare"] * n_rare)
    x = rng.normal(size=(len(y), 2)) + (y == "rare")[:, None]  # the rare class is shifted by 1 on both axes
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y})


def test_fit_with_balanced_class_weight_recalls_more_of_the_minority_class():
    rng = np.random.default_rng(0)
    train, test = _table(rng, 570, 30), _table(rng, 200, 200)
    recalls = {}
    for class_weight in (None, "balanced"):
        model, result = mmzoo.fit(
            train, label="y", validation=None, epochs=10, batch_size=32, verbose=0, class_weight=class_weight
        )
        x = {name: test[[name]].to_numpy("float32") for name in ("a", "b")}
        scores = mmzoo.evaluate(model, (x, (test["y"] == "rare").to_numpy("int64")))
        recalls[class_weight] = scores["per_class"]["rare"]["recall"]
    assert result.class_weight == pytest.approx({0: 600 / (2 * 570), 1: 600 / (2 * 30)})
    assert recalls["balanced"] > recalls[None] + 0.3, recalls


def test_fit_refuses_class_weight_for_regression():
    df = pd.DataFrame({"a": np.arange(20.0), "y": np.arange(20.0) * 0.37})
    with pytest.raises(ValueError, match="class_weight applies to classification; the task is Regression"):
        mmzoo.fit(df, label="y", validation=None, epochs=1, verbose=0, class_weight="balanced")
