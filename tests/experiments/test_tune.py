"""Hyperparameter search from a config's search: section: resumable, tabulated, best config reusable."""

import csv
import json
import sys

import pytest

import mmzoo
from mmzoo import cli
from mmzoo.experiments import tuning
from mmzoo.experiments.config import ConfigError, dump_config, from_dict, load_config

pytest.importorskip("keras_tuner")  # the tune extra; the test extra installs it

OBJECTIVE = "val_accuracy"


def _config(directory, max_trials=2, **search):
    """Tiny trials: the digit input only, 2 batches of 16, one epoch."""
    return {
        "inputs": {"names": ["digit"]},
        "dataset": {"limit_batches": 2},
        "encoders": {"digit": {"name": "cnn", "options": {"filters": [8], "units": 16}}},
        "training": {"epochs": 1, "batch_size": 16},
        "search": {
            "directory": str(directory),
            "max_trials": max_trials,
            "objective": OBJECTIVE,
            "space": {
                "architecture.options.head_units": [[8], [16, 8]],
                "training.learning_rate": {"min": 1e-4, "max": 1e-1, "sampling": "log"},
            },
            **search,
        },
    }


@pytest.fixture
def builds(monkeypatch):
    """Counts the models trials build (and can interrupt one)."""
    state = {"count": 0, "interrupt_at": None}
    real = tuning.build_model_from_config

    def counting(config, splits):
        state["count"] += 1
        if state["count"] == state["interrupt_at"]:
            raise KeyboardInterrupt  # like Ctrl-C during a trial
        return real(config, splits)

    monkeypatch.setattr(tuning, "build_model_from_config", counting)
    return state


def _table(directory):
    with open(directory / "results.csv") as f:
        return list(csv.DictReader(f))


def test_search_is_resumable_and_writes_a_table_and_the_best_config(tmp_path, builds, capsys, monkeypatch):
    directory = tmp_path / "search"
    path = tmp_path / "experiment.yaml"
    path.write_text(dump_config(from_dict(_config(directory))))

    assert cli.main(["tune", "--config", str(path), "--verbose", "0"]) == 0
    assert builds["count"] == 2
    out = capsys.readouterr().out
    assert f"2 trials in {directory}/" in out and f"python -m mmzoo train --config {directory}/best_config.yaml" in out
    rows = _table(directory)
    assert [r["rank"] for r in rows] == ["1", "2"] and all(r["status"] == "COMPLETED" for r in rows)
    assert list(rows[0]) == [
        "rank",
        "trial",
        "architecture.options.head_units",
        "training.learning_rate",
        OBJECTIVE,
        "epoch",
        "status",
    ]
    scores = [float(r[OBJECTIVE]) for r in rows]
    assert scores == sorted(scores, reverse=True)  # best first (accuracy: highest)
    assert all(1e-4 <= float(r["training.learning_rate"]) <= 1e-1 for r in rows)
    markdown = (directory / "results.md").read_text().splitlines()
    assert markdown[0].startswith("| rank | trial | architecture.options.head_units |") and len(markdown) == 4

    best = load_config(str(directory / "best_config.yaml"))
    assert best.search is None and best.export.run_name == "search-best"
    assert json.dumps(best.architecture.options["head_units"]) == rows[0]["architecture.options.head_units"]
    assert f"{best.training.learning_rate:.6g}" == rows[0]["training.learning_rate"]

    # the same command again: nothing is retrained, the table is the same
    assert cli.main(["tune", "--config", str(path), "--verbose", "0"]) == 0
    assert builds["count"] == 2 and _table(directory) == rows

    # a larger budget adds trials; one interrupted mid-way (Ctrl-C) is run again on the next call, and only it
    builds["interrupt_at"] = 3
    with pytest.raises(KeyboardInterrupt):
        mmzoo.tune(str(path), overrides=["search.max_trials=3"], verbose=0)
    builds["interrupt_at"] = None
    result = mmzoo.tune(str(path), overrides=["search.max_trials=3"], verbose=0)
    assert builds["count"] == 4 and len(result.rows) == 3
    assert all(r["status"] == "COMPLETED" for r in result.rows)
    kept = {r["trial"]: r[OBJECTIVE] for r in _table(directory)}
    assert all(kept[r["trial"]] == r[OBJECTIVE] for r in rows)  # earlier results kept as they were
    assert result.rows[0][OBJECTIVE] == max(r[OBJECTIVE] for r in result.rows)
    assert result.best_config == load_config(str(directory / "best_config.yaml"))

    # another config in the same folder is refused, with what changed
    with pytest.raises(ConfigError, match=r"holds a search of a different config; changed:\n  training.epochs: 1 -> 2"):
        mmzoo.tune(str(path), overrides=["search.max_trials=3", "training.epochs=2"], verbose=0)
    assert builds["count"] == 4

    # a trial is the training run of its config: `train --config best_config.yaml` gets the same validation score
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--config", result.paths["best_config"]]) == 0
    metrics = json.loads((tmp_path / "saved_models" / "search-best" / "metrics.json").read_text())
    assert metrics["history"][OBJECTIVE] == [result.rows[0][OBJECTIVE]]


def test_hyperband_continues_trials_with_more_epochs(tmp_path):
    config = _config(tmp_path / "hb", tuner="hyperband", max_epochs=2, factor=2)
    config["search"]["space"] = {"architecture.options.dropout": {"min": 0.0, "max": 0.5, "step": 0.1}}
    result = mmzoo.tune(config, verbose=0)
    assert sorted({row["epochs"] for row in result.rows}) == [1, 2]
    assert all(row[OBJECTIVE] is not None for row in result.rows)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"search": None}, "search: this config has no search section"),
        (
            {"objective": "val_acc"},
            "search.objective: 'val_acc' is not a metric of this task; choose one of val_accuracy, val_f1, val_loss",
        ),
        ({"objective": "val_f1", "direction": None}, None),
        ({"objective": "val_score"}, "search.direction: cannot tell whether 'val_score' is to be minimised"),
        (
            {"space": {"encoders.digit.name": ["cnn", "bilstm_x"]}},
            "search.space[encoders.digit.name]: value 'bilstm_x': encoders.digit.name: Unknown encoder 'bilstm_x'",
        ),
        (
            {"space": {"training.epochs": {"min": 1.0, "max": 3.0}}},
            "search.space[training.epochs]: value 1.0: training.epochs: expected int, got float",
        ),
    ],
)
def test_bad_searches_fail_before_any_trial(tmp_path, builds, change, message):
    config = _config(tmp_path / "s")
    if "search" in change:
        config["search"] = None
    else:
        config["search"].update(change)
    if message is None:  # val_f1 is maximised without saying so; no trial is needed to see that
        assert tuning._direction(from_dict(config).search) == "max"
        return
    with pytest.raises(ConfigError) as info:
        mmzoo.tune(config, verbose=0)
    assert str(info.value).startswith(message)
    assert builds["count"] == 0 and not (tmp_path / "s" / "tuner").exists()


def test_missing_keras_tuner_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_tuner", None)
    with pytest.raises(ImportError, match=r'pip install "mmzoo\[tune\]"'):
        mmzoo.tune(_config(tmp_path / "s"), verbose=0)
    with pytest.raises(SystemExit, match=r"mmzoo tune: mmzoo.tune needs KerasTuner"):
        path = tmp_path / "e.yaml"
        path.write_text(dump_config(from_dict(_config(tmp_path / "s"))))
        cli.main(["tune", "--config", str(path)])
