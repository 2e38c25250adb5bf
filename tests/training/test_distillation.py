"""mmzoo.distill: the loss against NumPy, alpha=1 as plain training, a unimodal student, errors."""

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.data.synthetic import make_xor
from mmzoo.training.distillation import Distiller, distillation_loss


@pytest.fixture(scope="module")
def xor():
    x, y, inputs = make_xor(64, ("image", "features"), seed=0)
    data = mmzoo.data.from_arrays(x, y, inputs=inputs, batch_size=16)
    return x, y, inputs, data


def _model(inputs, seed=0, task=None):
    keras.utils.set_random_seed(seed)
    return mmzoo.build_model("early_fusion", inputs, task or mmzoo.Classification(2))


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


def test_distillation_loss_matches_numpy():
    rng = np.random.default_rng(0)
    teacher = _softmax(rng.normal(size=(5, 4))).astype("float32")
    student = _softmax(rng.normal(size=(5, 4))).astype("float32")
    t = 3.0
    p, q = _softmax(np.log(teacher) / t), _softmax(np.log(student) / t)
    expected = t**2 * (p * (np.log(p) - np.log(q))).sum(axis=-1)
    np.testing.assert_allclose(np.asarray(distillation_loss(teacher, student, t)), expected, rtol=1e-5, atol=1e-6)


def test_batch_loss_is_the_weighted_sum(xor):
    x, y, inputs, data = xor
    teacher, student = _model(inputs, 1), _model(inputs[1:], 2)
    distiller = Distiller(teacher, student, temperature=2.0, alpha=0.3)
    distiller.compile_like(student)
    features, labels = next(iter(data))
    probabilities = np.asarray(student({"features": features["features"]}))
    loss = float(distiller.compute_loss(x=features, y=labels, y_pred=probabilities, training=False))
    teacher_p = np.asarray(teacher(features))
    hard = -np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), np.asarray(labels)], 1e-7, 1)))
    p, q = _softmax(np.log(teacher_p) / 2.0), _softmax(np.log(probabilities) / 2.0)
    soft = np.mean(4.0 * (p * (np.log(p) - np.log(q))).sum(axis=-1))
    np.testing.assert_allclose(loss, 0.3 * hard + 0.7 * soft, rtol=1e-4)


def test_alpha_one_is_plain_training(xor):
    x, y, inputs, data = xor
    plain = _model(inputs[1:], 3)
    features_only = data.map(lambda features, label: ({"features": features["features"]}, label))
    plain_history = mmzoo.train(plain, features_only, epochs=2, seed=0, verbose=0)
    student = _model(inputs[1:], 3)
    history = mmzoo.distill(_model(inputs, 4), student, data, epochs=2, alpha=1.0, seed=0, verbose=0)
    np.testing.assert_allclose(history.history["loss"], plain_history.history["loss"], rtol=1e-6)
    for a, b in zip(student.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_unimodal_student_trains_and_round_trips(xor, tmp_path):
    x, y, inputs, data = xor
    teacher = _model(inputs, 5)
    mmzoo.train(teacher, data, epochs=1, seed=0, verbose=0)
    teacher_weights = [w.copy() for w in teacher.get_weights()]
    student = _model(inputs[1:], 6)
    before = [w.copy() for w in student.get_weights()]
    history = mmzoo.distill(teacher, student, data, validation_data=data, epochs=1, seed=0, verbose=0)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.history)
    assert any(not np.array_equal(a, b) for a, b in zip(before, student.get_weights()))
    for a, b in zip(teacher_weights, teacher.get_weights()):
        np.testing.assert_array_equal(a, b)  # the teacher is frozen
    assert teacher.trainable  # and its flag is given back
    path = tmp_path / "student.keras"
    student.save(path)
    loaded = keras.saving.load_model(path)
    assert [t.name for t in loaded.inputs] == ["features"]
    sample = {"features": x["features"][:4]}
    np.testing.assert_allclose(loaded.predict(sample, verbose=0), student.predict(sample, verbose=0), atol=1e-6)


def test_errors_name_the_culprit(xor):
    x, y, inputs, data = xor
    teacher = _model(inputs, 0)
    only_image = data.map(lambda features, label: ({"image": features["image"]}, label))
    with pytest.raises(ValueError, match="student .* reads input 'features'"):
        mmzoo.distill(teacher, _model(inputs[1:]), only_image, epochs=1)
    with pytest.raises(ValueError, match="teacher .* predicts 2 classes but the student .* 3"):
        mmzoo.distill(teacher, _model(inputs[1:], task=mmzoo.Classification(3)), data, epochs=1)
    regression = _model(inputs[1:], task=mmzoo.Regression(1))
    with pytest.raises(ValueError, match="student .* has a 'regression' task"):
        mmzoo.distill(teacher, regression, data, epochs=1)
    with pytest.raises(ValueError, match="alpha"):
        mmzoo.distill(teacher, _model(inputs[1:]), data, alpha=1.5)
