"""Task heads, losses and metrics against hand-computed references."""

import numpy as np
import pytest

import mmzoo
from mmzoo.tasks.metrics import F1Score
from mmzoo.tasks.task import task_from_config


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
        metric.update_state(y[i : i + 64], probs[i : i + 64])
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


def test_multilabel_f1_with_per_label_thresholds():
    from mmzoo.tasks.metrics import MultiLabelF1

    rng = np.random.default_rng(3)
    y = (rng.random((300, 4)) < 0.3).astype("float32")
    p = np.clip(y * 0.5 + rng.random((300, 4)) * 0.6, 0, 1).astype("float32")
    thresholds = np.array([0.5, 0.4, 0.6, 0.7], "float32")
    pred = p >= thresholds
    tp = (pred & (y == 1)).sum(0)
    fp = (pred & (y == 0)).sum(0)
    fn = (~pred & (y == 1)).sum(0)
    micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum())
    macro = np.mean(2 * tp / (2 * tp + fp + fn))
    for average, expected in (("micro", micro), ("macro", macro)):
        metric = MultiLabelF1(4, average=average, threshold=list(thresholds))
        metric.update_state(y[:150], p[:150])
        metric.update_state(y[150:], p[150:])
        assert abs(float(metric.result()) - expected) < 1e-6
    with pytest.raises(ValueError, match="num_labels=4 but 3 thresholds"):
        mmzoo.MultiLabel(num_labels=4, threshold=[0.5, 0.5, 0.5])


def test_pearson_matches_numpy():
    from mmzoo.tasks.metrics import PearsonCorrelation

    rng = np.random.default_rng(4)
    x = rng.standard_normal(500)
    y = 0.6 * x + 0.8 * rng.standard_normal(500)
    metric = PearsonCorrelation()
    for i in range(0, 500, 128):
        metric.update_state(x[i : i + 128], y[i : i + 128])
    assert abs(float(metric.result()) - np.corrcoef(x, y)[0, 1]) < 1e-5


def test_recall_at_k_matches_numpy():
    from mmzoo.tasks.metrics import RecallAtK

    rng = np.random.default_rng(5)
    sims = rng.standard_normal((50, 50)).astype("float32") + 2 * np.eye(50, dtype="float32")
    for k in (1, 5):
        row = np.mean([i in np.argsort(-sims[i])[:k] for i in range(50)])
        col = np.mean([i in np.argsort(-sims[:, i])[:k] for i in range(50)])
        metric = RecallAtK(k)
        metric.update_state(np.arange(50), sims)
        assert abs(float(metric.result()) - (row + col) / 2) < 1e-6
