"""The command line: `list`, and the main job on its embedded default."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mmzoo
from tests.helpers import run_cli


def _run(*args, cwd):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "mmzoo", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=900
    )


def test_list_shows_the_zoo(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("list", "--json", capsys=capsys)
    assert code == 0, err[-2000:]
    listing = json.loads(out)
    assert sorted(listing["models"]) == mmzoo.list_models()
    assert sorted(listing["encoders"]) == mmzoo.list_encoders()
    assert "avmnist_sample" in listing["datasets"]


def test_train_rejects_unknown_dataset(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("train", "--dataset", "nope", capsys=capsys)
    assert code != 0
    assert (
        "Unknown dataset 'nope'. Known datasets: avmnist, avmnist_hard, avmnist_sample, emoji, mosi, moving_mnist_fsdd, moving_mnist_fsdd_hard"
        in err
    )
    assert not (tmp_path / "saved_models").exists() or not os.listdir(tmp_path / "saved_models")


def test_real_dataset_without_data_says_where_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MMZOO_DATA", raising=False)
    code, _, err = run_cli("train", "--dataset", "mosi", capsys=capsys)
    assert code != 0
    assert "mosi_bclstm_utterances.npz" in err and "MMZOO_DATA" in err


@pytest.mark.slow
def test_main_job_trains_to_95_percent_and_writes_artifacts(tmp_path, capsys, monkeypatch):
    """`python -m mmzoo train` with no arguments: the README's first command."""
    result = _run("train", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Test metrics: accuracy=" in result.stdout
    runs = os.listdir(tmp_path / "saved_models")
    assert len(runs) == 1
    run = tmp_path / "saved_models" / runs[0]
    assert str(run.relative_to(tmp_path)) in result.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["metrics"]["test"]["accuracy"] >= 0.95, metrics["metrics"]
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((run / "config.json").read_text())["model"] == "early_fusion"

    # both artifacts give the same predictions on real test pairs
    import tensorflow as tf

    from mmzoo.datasets import load_avmnist_sample_arrays

    x, y = load_avmnist_sample_arrays()["test"]
    x = {k: v[:64] for k, v in x.items()}
    model = mmzoo.load(str(run / "model.keras"))
    expected = model.predict(x, verbose=0)
    assert np.mean(expected.argmax(1) == y[:64]) >= 0.9
    served = (
        mmzoo.load(str(run / "savedmodel"))
        .signatures["serve"](**{k: tf.constant(v) for k, v in x.items()})["probabilities"]
        .numpy()
    )
    assert np.max(np.abs(served - expected)) <= 1e-5

    # `evaluate` on the same artifact: metrics and a confusion matrix, consistent with the served outputs
    # (in this process: the entry point itself was just tested, a second interpreter would only import TF again)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(
        "evaluate", "--model", str(run / "model.keras"), "--dataset", "avmnist_sample", capsys=capsys
    )
    assert code == 0, err[-3000:]
    evaluation = json.loads((run / "evaluation-avmnist_sample-test" / "metrics.json").read_text())
    assert evaluation["num_examples"] == 600
    assert evaluation["accuracy"] >= 0.95
    assert np.sum(evaluation["confusion_matrix"]) == 600
    assert np.trace(evaluation["confusion_matrix"]) == round(evaluation["accuracy"] * 600)
    assert (run / "evaluation-avmnist_sample-test" / "confusion_matrix.png").stat().st_size > 1000
