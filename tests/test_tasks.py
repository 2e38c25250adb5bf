"""Task heads, losses and metrics against hand-computed references."""

import numpy as np
import pytest

import mmzoo
from mmzoo.metrics import F1Score
from mmzoo.tasks import task_from_config


def _f1_reference(y, pred, k):
    scores = []
    for c in range(k):
        tp = np.sum((y == c) & (pred == c))
        fp = np.sum((y != c) & (pred == c))
        fn = np.sum((y == c) & (pred != c))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return scores


@pytest.mark.parametrize("k", [2, 3, 7])
def test_f1_matches_reference(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 200)
    probs = rng.random((200, k)).astype("float32")
    probs[np.arange(200)[:120], y[:120]] += 1.0  # mostly right
    metric = F1Score(num_classes=k)
    for i in range(0, 200, 64):  # accumulated across batches
        metric.update_state(y[i:i + 64], probs[i:i + 64])
    scores = _f1_reference(y, probs.argmax(1), k)
    expected = scores[1] if k == 2 else np.mean(scores)
    assert abs(float(metric.result()) - expected) < 1e-6
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_task_configs_round_trip():
    for task in [mmzoo.Classification(3, class_names=["a", "b", "c"]), mmzoo.Regression(units=2)]:
        assert task_from_config(task.get_config()) == task
    with pytest.raises(ValueError, match="num_classes=3 but 2 class_names"):
        mmzoo.Classification(3, class_names=["a", "b"])
    with pytest.raises(ValueError, match="num_classes >= 2"):
        mmzoo.Classification(1)


def test_model_carries_specs_and_task_through_save(tmp_path):
    import keras

    from tests.helpers import small_inputs

    specs, x, n = small_inputs(("image", "features"))
    task = mmzoo.Regression(units=2)
    model = mmzoo.build_model("early_fusion", specs, task)
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    assert reloaded.task == task
    assert [s.get_config() for s in reloaded.specs] == [s.get_config() for s in specs]
    # compiled with the task's loss and metrics, trains, and MAE is computed correctly
    y = np.ones((n, 2), "float32")
    logs = reloaded.evaluate(x, y, return_dict=True, verbose=0)
    pred = reloaded.predict(x, verbose=0)
    assert abs(logs["mae"] - np.mean(np.abs(pred - y))) < 1e-5
