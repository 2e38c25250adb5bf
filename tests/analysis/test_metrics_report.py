"""Per-class and averaged precision, recall and F1: `mmzoo.evaluate` and the training-history metrics
against scikit-learn."""

import json

import keras
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

import mmzoo
from mmzoo.analysis.evaluation import classification_metrics
from mmzoo.tasks.metrics import CLASS_SCORES, ClassScore

RNG = np.random.default_rng(0)
Y_TRUE = RNG.choice(4, size=200, p=[0.6, 0.25, 0.1, 0.05])
PROBS = RNG.dirichlet(np.ones(4), size=200) + 0.8 * np.eye(4)[Y_TRUE] * (RNG.random(200) < 0.6)[:, None]
Y_PRED = PROBS.argmax(-1)
NAMES = ["cat", "dog", "fox", "owl"]


def test_classification_metrics_match_scikit_learn():
    m = classification_metrics(Y_TRUE, PROBS, 4, NAMES)
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(Y_TRUE, Y_PRED, average=average, zero_division=0)
        assert m[f"{average}_precision"] == pytest.approx(p)
        assert m[f"{average}_recall"] == pytest.approx(r)
        assert m[f"{average}_f1"] == pytest.approx(f)
    p, r, f, s = precision_recall_fscore_support(Y_TRUE, Y_PRED, labels=range(4), zero_division=0)
    assert list(m["per_class"]) == NAMES == m["class_names"]
    for i, name in enumerate(NAMES):
        assert m["per_class"][name] == pytest.approx({"precision": p[i], "recall": r[i], "f1": f[i], "support": s[i]})
    assert m["confusion_matrix"] == confusion_matrix(Y_TRUE, Y_PRED, labels=range(4)).tolist()
    json.dumps(m)  # plain Python values


def test_classification_metrics_name_a_class_count_mismatch():
    with pytest.raises(ValueError, match="4 classes but 2 class_names"):
        classification_metrics(Y_TRUE, PROBS, 4, ["a", "b"])


@pytest.mark.parametrize("name", CLASS_SCORES)
def test_history_metrics_match_scikit_learn(name):
    metric = ClassScore(4, name)
    for part in np.array_split(np.arange(200), 3):  # accumulated over batches
        metric.update_state(Y_TRUE[part], PROBS[part])
    weighting, score = name.split("_", 1)
    expected = precision_recall_fscore_support(Y_TRUE, Y_PRED, labels=range(4), average=weighting, zero_division=0)
    assert float(metric.result()) == pytest.approx(expected[["precision", "recall", "f1"].index(score)], abs=1e-6)
    assert ClassScore.from_config(metric.get_config()).name == name


def test_evaluate_keys_per_class_metrics_by_the_model_class_names_and_training_history_has_them():
    keras.utils.set_random_seed(0)
    task = mmzoo.Classification(3, class_names=["low", "mid", "high"], extra_metrics=["macro_recall", "weighted_f1"])
    model = mmzoo.build_model("early_fusion", [mmzoo.Features("x", shape=(4,), normalize=False)], task, head_units=(8,))
    x = {"x": RNG.normal(size=(60, 4)).astype("float32")}
    y = RNG.integers(0, 3, size=60)
    history = model.fit(x, y, epochs=1, batch_size=60, verbose=0)
    assert {"macro_recall", "weighted_f1"} <= set(history.history)
    result = mmzoo.evaluate(model, (x, y))
    assert list(result["per_class"]) == ["low", "mid", "high"]
    expected = precision_recall_fscore_support(
        y, model.predict(x, verbose=0).argmax(-1), average="macro", zero_division=0
    )
    assert result["macro_recall"] == pytest.approx(expected[1])


def test_unknown_extra_metric_is_named():
    with pytest.raises(ValueError, match=r"\['macro_auc'\] unknown"):
        mmzoo.Classification(3, extra_metrics=["macro_auc"])
