"""Checkpoints and artifacts are written atomically: a failure mid-write leaves the previous version whole."""

import os

import keras
import numpy as np
import pytest

import mmzoo.experiments.artifacts
import mmzoo.training.checkpoint
from mmzoo.experiments.artifacts import save_artifacts
from mmzoo.training.atomic import atomic_directory, atomic_file, check_writable, remove_stale_temporaries
from mmzoo.training.checkpoint import Checkpoints
from tests.training.faults.helpers import build


class Boom(Exception):
    pass


def _leftovers(folder):
    return [p.name for p in folder.rglob("*") if ".tmp-" in p.name or ".old-" in p.name]


def test_a_failed_file_write_keeps_the_old_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(Boom):
        with atomic_file(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half a ne")
            raise Boom
    assert target.read_text() == "old" and _leftovers(tmp_path) == []


def test_a_failed_folder_write_keeps_the_old_folder(tmp_path):
    target = tmp_path / "savedmodel"
    target.mkdir()
    (target / "saved_model.pb").write_text("old")
    with pytest.raises(Boom):
        with atomic_directory(target) as tmp:
            (tmp_path / os.path.basename(tmp) / "saved_model.pb").write_text("partial")
            raise Boom
    assert os.listdir(target) == ["saved_model.pb"] and (target / "saved_model.pb").read_text() == "old"
    assert _leftovers(tmp_path) == []
    with atomic_directory(target) as tmp:
        open(os.path.join(tmp, "new.pb"), "w").close()
    assert os.listdir(target) == ["new.pb"] and _leftovers(tmp_path) == []


def test_a_crash_while_writing_a_checkpoint_leaves_the_previous_one_usable(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    store = Checkpoints(tmp_path)
    store.save(model, 1, {"history": {}})
    expected = keras.ops.convert_to_numpy(model.layers[0].kernel)

    def savez_then_die(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise Boom

    monkeypatch.setattr(mmzoo.training.checkpoint.np, "savez", savez_then_die)
    model.layers[0].kernel.assign(np.zeros((3, 2), "float32"))
    with pytest.raises(Boom):
        store.save(model, 2, {"history": {}})
    monkeypatch.undo()
    assert store.epochs() == [1] and _leftovers(tmp_path) == []
    assert store.restore(model)["epoch"] == 1
    assert np.array_equal(keras.ops.convert_to_numpy(model.layers[0].kernel), expected)


def test_a_killed_writer_leaves_temporaries_that_the_next_restore_removes(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    store = Checkpoints(tmp_path)
    store.save(model, 1, {"history": {}})
    stale = tmp_path / ".epoch-0002.tmp-99999"  # what SIGKILL during a write leaves behind
    stale.mkdir()
    (stale / "variables.npz").write_bytes(b"PK")
    assert store.epochs() == [1]
    assert store.restore(model)["epoch"] == 1
    assert not stale.exists()


def test_a_folder_swap_killed_between_its_renames_is_rolled_back_to_the_previous_version(tmp_path):
    """atomic_directory renames the old folder aside, then the new one in: killed in between, neither is in place."""
    for name, text in (
        (".savedmodel.old-99999999", "old"),
        (".savedmodel.tmp-99999999", "new"),
        ("epoch-0001", "kept"),
        (".epoch-0001.old-99999999", "replaced"),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "saved_model.pb").write_text(text)
    for name in (".notes.tmp-draft", "a.tmp-1", ".mmzoo.lock"):  # not what an mmzoo writer leaves
        (tmp_path / name).write_text("mine")
    handled = remove_stale_temporaries(tmp_path)
    assert sorted(handled) == [".epoch-0001.old-99999999", ".savedmodel.old-99999999", ".savedmodel.tmp-99999999"]
    assert sorted(os.listdir(tmp_path)) == [".mmzoo.lock", ".notes.tmp-draft", "a.tmp-1", "epoch-0001", "savedmodel"]
    assert (tmp_path / "savedmodel" / "saved_model.pb").read_text() == "old"
    assert (tmp_path / "epoch-0001" / "saved_model.pb").read_text() == "kept"


def test_save_artifacts_replaces_every_artifact_atomically(tmp_path, monkeypatch):
    model = build()
    run = tmp_path / "run"
    save_artifacts(model, str(run), metrics={"test": {"accuracy": 0.5}}, config={"seed": 0})
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert {"model.keras", "metrics.json", "config.json", "savedmodel/saved_model.pb"} <= {str(p) for p in before}

    def export_then_die(model, path):
        with open(os.path.join(path, "saved_model.pb"), "wb") as f:
            f.write(b"partial")
        raise Boom

    monkeypatch.setattr(mmzoo.experiments.artifacts, "export", export_then_die)
    with pytest.raises(Boom):
        save_artifacts(model, str(run), metrics={"test": {"accuracy": 0.9}}, config={"seed": 1})
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    # model.keras was rewritten (same model); the SavedModel and the JSON files are the old, complete ones
    assert {k: v for k, v in after.items() if k.name != "model.keras"} == {
        k: v for k, v in before.items() if k.name != "model.keras"
    }
    assert _leftovers(run) == []


def test_unwritable_output_directory_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match=r"Cannot write to the output directory '.*file/run'"):
        check_writable(str(blocker / "run"))
    with pytest.raises(OSError, match=r"Cannot write to the output directory '.*file/run'"):
        save_artifacts(build(), str(blocker / "run"))
