"""One run folder under faults: a refused resume, a killed run's leftovers, two runs at once, a full disk.

The `python -m mmzoo train` cases run the command in this process (`run_cli`)
on a copy of one finished two-epoch run that kept its checkpoints, less the
second one: the state a run killed in epoch 2 leaves, which the same command
resumes. The lock holder that gets SIGKILLed is a real process.
"""

import contextlib
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mmzoo.training.atomic
import mmzoo.training.checkpoint
from mmzoo.cli.commands import main
from mmzoo.training.atomic import LOCK_FILE, FolderInUseError, hold_folder
from mmzoo.training.checkpoint import Checkpoints
from mmzoo.training.trainer import train
from tests.helpers import run_cli
from tests.training.faults.helpers import CountSteps, build, splits, weights

TRAIN = (
    "train",
    "--epochs",
    "2",
    "--batch-size",
    "32",
    "--limit-batches",
    "2",
    "--run-name",
    "run",
    "--output",
    "runs",
    "--keep-checkpoints",
)
RUN = os.path.join("runs", "run")
PID = 99999999  # above any pid_max: never a live process


@contextlib.contextmanager
def _inside(folder):
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A folder holding `runs/run/`: two epochs trained by the CLI, both checkpoints kept."""
    folder = tmp_path_factory.mktemp("finished")
    with _inside(folder):
        assert main(list(TRAIN)) == 0
    assert Checkpoints(folder / RUN / "checkpoints").epochs() == [1, 2]
    return folder


@pytest.fixture
def run_copy(finished_run, tmp_path, monkeypatch):
    """A copy of `finished_run` without its epoch-2 checkpoint, as the working directory; returns the run folder."""
    shutil.copytree(finished_run, tmp_path, dirs_exist_ok=True)
    shutil.rmtree(tmp_path / RUN / "checkpoints" / "epoch-0002")
    monkeypatch.chdir(tmp_path)
    return tmp_path / RUN


def _leftovers(folder):
    """The names of mmzoo's write temporaries under `folder`."""
    return sorted(p.name for p in folder.rglob("*") if re.search(r"\.(tmp|old)-\d+|^\.mmzoo-write-probe-", p.name))


def _lines(text):
    return [line for line in text.splitlines() if line.strip()]


# --- a. a refused resume leaves config.yaml as it was ---------------------------------------------------------


def test_a_refused_resume_leaves_config_yaml_as_it_was(run_copy, capsys):
    before = (run_copy / "config.yaml").read_bytes()
    code, out, err = run_cli(*TRAIN, "--learning-rate", "0.01", capsys=capsys)
    assert code != 0 and "Refusing to resume" in err and "learning_rate: 0.001 -> 0.01" in err
    assert "Epoch 2/" not in out
    assert (run_copy / "config.yaml").read_bytes() == before

    # an accepted resume records its config (the patience is no part of what checkpoints must match)
    code, out, err = run_cli(*TRAIN, "--set", "training.early_stopping_patience=7", capsys=capsys)
    assert code == 0, err
    assert "Epoch 2/2" in out and "early_stopping_patience: 7" in (run_copy / "config.yaml").read_text()


# --- b. the temporaries of a killed run are cleaned by the next run -------------------------------------------

STALE_FILES = [  # what SIGKILL in the middle of each atomic write leaves (pid PID)
    f".config.tmp-{PID}.yaml",  # save_config
    f".model.tmp-{PID}.keras",
    f".metrics.tmp-{PID}.json",
    f".config.tmp-{PID}.json",  # save_artifacts
    f".curves.tmp-{PID}.png",
    ".mmzoo-write-probe-k3j4h5",  # check_writable
    f"checkpoints/.run_config.tmp-{PID}.json",  # Checkpoints.check_config
    "checkpoints/.mmzoo-write-probe-a1b2c3",
]
STALE_FOLDERS = [
    f".savedmodel.tmp-{PID}",  # atomic_directory, before its renames
    f".savedmodel.old-{PID}",  # atomic_directory, after its renames (savedmodel/ is the new version)
    f"checkpoints/.epoch-0002.tmp-{PID}",  # Checkpoints.save
    f"checkpoints/.epoch-0001.old-{PID}",
]
KEPT = {"notes.txt": "mine", ".hidden": "mine too", ".draft.tmp-notes": "not a pid", "checkpoints/README": "kept"}


def test_the_next_run_removes_a_killed_runs_temporaries_and_nothing_else(run_copy, capsys):
    for name in STALE_FILES:
        (run_copy / name).write_bytes(b"partial")
    for name in STALE_FOLDERS:
        (run_copy / name).mkdir()
        (run_copy / name / "variables.npz").write_bytes(b"PK partial")
    for name, text in KEPT.items():
        (run_copy / name).write_text(text)
    (run_copy / LOCK_FILE).write_text(f"pid {PID} on a killed host")  # flock is gone with its process
    before = {p.relative_to(run_copy) for p in run_copy.rglob("*")}

    code, out, err = run_cli(*TRAIN, capsys=capsys)
    assert code == 0, err
    assert "resuming from" in out and "Epoch 2/2" in out
    after = {p.relative_to(run_copy) for p in run_copy.rglob("*")}
    assert _leftovers(run_copy) == []
    stale = {Path(name) for name in (*STALE_FILES, *STALE_FOLDERS, LOCK_FILE)}  # the lock: taken over, deleted
    stale |= {Path(name) / "variables.npz" for name in STALE_FOLDERS}
    assert before - after == stale  # every temporary, and nothing else
    assert all((run_copy / name).read_text() == text for name, text in KEPT.items())
    assert Checkpoints(run_copy / "checkpoints").epochs() == [1, 2]


# --- c. two runs writing one folder -----------------------------------------------------------------------------

HOLDER = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("atomic", sys.argv[1])
atomic = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic)
with atomic.hold_folder(sys.argv[2], "run folder"):
    print("held", flush=True)
    time.sleep(600)
"""


def _hold_in_another_process(folder):
    """A process (without TensorFlow: it loads mmzoo/atomic.py alone) that holds `folder` until killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, mmzoo.training.atomic.__file__, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_run_on_a_held_folder_is_refused_and_proceeds_once_the_holder_is_killed(run_copy, capsys):
    before = {p.relative_to(run_copy): p.read_bytes() for p in run_copy.rglob("*") if p.is_file()}
    holder = _hold_in_another_process(run_copy)
    try:
        code, out, err = run_cli(*TRAIN, capsys=capsys)
        assert code != 0
        assert len(_lines(err)) == 1
        assert err.startswith(
            f"mmzoo train: The run folder '{RUN}' is in use by pid {holder.pid} on {socket.gethostname()}, since "
        )
        assert "Epoch" not in out
        now = {p.relative_to(run_copy): p.read_bytes() for p in run_copy.rglob("*") if p.is_file()}
        assert now.pop(Path(LOCK_FILE)) and now == before  # nothing written: config.yaml and checkpoints as they were
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    assert holder.returncode == -signal.SIGKILL
    assert (run_copy / LOCK_FILE).exists()  # SIGKILL left the file, but no lock with it

    code, out, err = run_cli(*TRAIN, capsys=capsys)
    assert code == 0, err
    assert "Epoch 2/2" in out and Checkpoints(run_copy / "checkpoints").epochs() == [1, 2]
    assert not (run_copy / LOCK_FILE).exists()


def test_train_refuses_a_checkpoint_directory_another_run_holds(tmp_path):
    folder = tmp_path / "checkpoints"
    train_data, _ = splits()
    steps = CountSteps()
    refusal = rf"The checkpoint directory '{re.escape(str(folder))}' is in use by pid {os.getpid()} on "
    # a second open file of the lock: flock refuses this very process too
    with hold_folder(folder, "checkpoint directory"), pytest.raises(FolderInUseError, match=refusal):
        train(build(), train_data, epochs=1, seed=0, verbose=0, checkpoint_dir=folder, callbacks=[steps])
    assert steps.steps == 0 and Checkpoints(folder).epochs() == []
    train(build(), train_data, epochs=1, seed=0, verbose=0, checkpoint_dir=folder, callbacks=[steps])
    assert steps.steps > 0 and Checkpoints(folder).epochs() == [1]
    assert not (folder / LOCK_FILE).exists()


# --- d. a full disk while writing a checkpoint -----------------------------------------------------------------


@contextlib.contextmanager
def _disk_full_on_call(monkeypatch, failing_call):
    """Inside the block np.savez (the checkpoint's variables) fills the disk on its `failing_call`-th call."""
    real, calls = np.savez, []

    def savez(file, *args, **arrays):
        calls.append(1)
        if len(calls) == failing_call:
            file.write(b"PK\x03\x04 the first blocks")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(file, *args, **arrays)

    with monkeypatch.context() as patch:  # undoes this patch alone (monkeypatch.undo would undo chdir too)
        patch.setattr(mmzoo.training.checkpoint.np, "savez", savez)
        yield


def test_a_full_disk_during_a_checkpoint_raises_one_line_naming_it_and_keeps_the_previous(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    train_data, _ = splits()
    with _disk_full_on_call(monkeypatch, 2), pytest.raises(OSError) as error:
        train(build(), train_data, epochs=3, seed=0, verbose=0, checkpoint_dir=folder)
    message = str(error.value.strerror)
    assert error.value.errno == errno.ENOSPC and "\n" not in message
    assert message.startswith(
        f"Cannot write the checkpoint {folder / 'epoch-0002'}: No space left on device. "
        f"The previous checkpoint, {folder / 'epoch-0001'}, is intact; free space"
    )
    assert Checkpoints(folder).epochs() == [1] and _leftovers(tmp_path) == []
    assert not (folder / LOCK_FILE).exists()
    fresh = build(seed=1)
    assert Checkpoints(folder).restore(fresh)["epoch"] == 1
    assert all(np.array_equal(a, b) for a, b in zip(weights(fresh), Checkpoints(folder).model_weights(fresh, 1)))


def test_the_cli_reports_a_full_disk_in_one_line_and_resumes_afterwards(run_copy, capsys, monkeypatch):
    with _disk_full_on_call(monkeypatch, 1):
        code, _, err = run_cli(*TRAIN, capsys=capsys)
    checkpoints = os.path.join(RUN, "checkpoints")
    assert code != 0
    expected = (
        f"mmzoo train: Cannot write the checkpoint {os.path.join(checkpoints, 'epoch-0002')}: "
        f"No space left on device. The previous checkpoint, {os.path.join(checkpoints, 'epoch-0001')}, "
        f"is intact; free space on its disk, then run the same training again to resume from it."
    )
    assert _lines(err) == [expected]  # one line: the path and the fix
    assert Checkpoints(run_copy / "checkpoints").epochs() == [1] and _leftovers(run_copy) == []
    assert not (run_copy / LOCK_FILE).exists()

    code, out, err = run_cli(*TRAIN, capsys=capsys)  # space again: the same command resumes
    assert code == 0, err
    assert f"resuming from {os.path.join(checkpoints, 'epoch-0001')}" in out
