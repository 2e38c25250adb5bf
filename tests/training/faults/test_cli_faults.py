"""`python -m mmzoo train` under faults: SIGKILL mid-epoch (a real process), NaN loss, unwritable output (in-process)."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import keras
import numpy as np
import pytest

import mmzoo  # noqa: F401  (registers the layers model.keras needs)
from mmzoo.training.checkpoint import Checkpoints
from tests.helpers import run_cli

EPOCHS = 3
TRAIN = [
    "train",
    "--epochs",
    str(EPOCHS),
    "--batch-size",
    "32",
    "--limit-batches",
    "3",
    "--run-name",
    "run",
    "--output",
    "runs",
]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def _run(args, cwd):
    cwd.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "mmzoo", *args], capture_output=True, text=True, cwd=cwd, env=ENV, timeout=600
    )


def _kill_mid_epoch_two(cwd):
    """Starts the command, SIGKILLs it once epoch 1 is checkpointed and epoch 2 has begun; returns its output."""
    cwd.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "mmzoo", *TRAIN], cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = bytearray()
    reader = threading.Thread(
        target=lambda: [output.extend(chunk) for chunk in iter(lambda: process.stdout.read1(4096), b"")], daemon=True
    )
    reader.start()
    checkpoint = cwd / "runs" / "run" / "checkpoints" / "epoch-0001"
    deadline = time.time() + 300
    while not (checkpoint.is_dir() and b"Epoch 2/" in output):
        assert process.poll() is None, f"the run ended before it could be killed:\n{output.decode()[-3000:]}"
        assert time.time() < deadline, "epoch 1 never finished"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    reader.join(timeout=10)
    assert process.returncode == -signal.SIGKILL
    return output.decode(errors="replace")


def _weights(run):
    return keras.saving.load_model(str(run / "model.keras")).get_weights()


@pytest.mark.slow
def test_sigkill_mid_epoch_then_the_same_command_resumes_to_bit_identical_weights(tmp_path):
    reference = _run(TRAIN, tmp_path / "uninterrupted")
    assert reference.returncode == 0, reference.stderr[-3000:]

    _kill_mid_epoch_two(tmp_path / "killed")
    run = tmp_path / "killed" / "runs" / "run"
    done = Checkpoints(run / "checkpoints").epochs()[-1]
    assert 1 <= done < EPOCHS  # killed before the run finished: epoch `done + 1` was cut short
    assert not (run / "model.keras").exists()

    resumed = _run(TRAIN, tmp_path / "killed")  # the very same command
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (
        f"resuming from {os.path.join('runs', 'run', 'checkpoints', f'epoch-{done:04d}')} "
        f"({done} of {EPOCHS} epochs done)" in resumed.stdout
    )
    assert f"Epoch {done + 1}/{EPOCHS}" in resumed.stdout and "Epoch 1/" not in resumed.stdout

    expected, actual = _weights(tmp_path / "uninterrupted" / "runs" / "run"), _weights(run)
    assert len(expected) == len(actual)
    for a, b in zip(expected, actual):
        assert np.array_equal(a, b), f"max |diff| {np.max(np.abs(a - b)):.3g}"
    history = [
        json.loads((r / "metrics.json").read_text())["history"]
        for r in (tmp_path / "uninterrupted" / "runs" / "run", run)
    ]
    assert history[0] == history[1] and len(history[1]["loss"]) == EPOCHS  # all epochs, equal values
    assert not (run / "checkpoints").exists()  # removed once the artifacts are written


def test_nan_loss_exits_non_zero_with_the_epoch_and_batch(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(
        "train",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--limit-batches",
        "3",
        "--learning-rate",
        "1e30",
        "--run-name",
        "nan",
        "--output",
        "runs",
        capsys=capsys,
    )
    assert code != 0
    # with fused BatchNorm the normalised loss can stay finite while the weights overflow: either guard stops it
    assert re.search(r"mmzoo train: Training stopped: the (loss|weights .*) became", err)
    assert "at epoch 1, batch" in err
    assert not (tmp_path / "runs" / "nan" / "model.keras").exists()


def test_unwritable_output_fails_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a folder")
    code, out, err = run_cli("train", "--output", "blocker/runs", "--run-name", "x", capsys=capsys)
    assert code != 0
    assert "Cannot write to the output directory 'blocker/runs/x'" in err
    assert "Epoch 1/" not in out and "training" not in out
