"""Resumable training: a run that dies mid-epoch continues from its last finished epoch, bit for bit.

Granularity: epochs. A crash inside epoch k loses that epoch's progress only;
the next `train` call restores the checkpoint of epoch k-1 (weights, optimizer
moments and step count, dropout RNG states, best-epoch bookkeeping) and the
data order of epoch k depends on (seed, epoch) only, so the final weights
equal an uninterrupted run's exactly.
"""

import os

import keras
import numpy as np
import pytest

from mmzoo.training.checkpoint import CheckpointError, Checkpoints
from mmzoo.training.trainer import train
from tests.training.faults.helpers import (
    CountSteps,
    CrashMidEpoch,
    Interrupt,
    assert_bit_identical,
    build,
    splits,
    weights,
)

EPOCHS = 3
STEPS_PER_EPOCH = 4  # 128 examples, 32 per batch


def _train(model, checkpoint_dir=None, callbacks=(), epochs=EPOCHS, seed=0):
    train_data, validation = splits()
    return train(
        model,
        train_data,
        validation,
        epochs=epochs,
        seed=seed,
        restore_best=True,
        verbose=0,
        checkpoint_dir=checkpoint_dir,
        callbacks=list(callbacks),
    )


@pytest.fixture(scope="module")
def uninterrupted():
    """Weights and history of a run that nothing interrupts (and that writes no checkpoints)."""
    model = build()
    history = _train(model)
    return weights(model), history.history


def _crash_in_third_epoch(checkpoint_dir):
    with pytest.raises(Interrupt):
        _train(build(), checkpoint_dir, callbacks=[CrashMidEpoch(epoch=2, batch=1)])
    assert Checkpoints(checkpoint_dir).epochs() == [1, 2]


def test_crash_mid_epoch_resumes_and_ends_bit_identical(tmp_path, uninterrupted):
    expected_weights, expected_history = uninterrupted
    folder = tmp_path / "checkpoints"
    _crash_in_third_epoch(folder)

    model, steps = build(), CountSteps()
    history = _train(model, folder, callbacks=[steps])
    assert steps.epochs == [2]  # the epoch count continues: only the third epoch runs again
    assert steps.steps == STEPS_PER_EPOCH
    assert history.history == expected_history  # earlier epochs included, every value equal
    assert_bit_identical(expected_weights, weights(model))
    best = int(np.argmin(expected_history["val_loss"])) + 1
    assert set(Checkpoints(folder, keep=2).epochs()) == {2, 3, best}  # the newest two, plus the best epoch

    # once finished, the same call trains nothing and ends with the same (best-epoch) weights
    model, steps = build(), CountSteps()
    _train(model, folder, callbacks=[steps])
    assert steps.steps == 0
    assert_bit_identical(expected_weights, weights(model))


def test_truncated_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, uninterrupted):
    folder = tmp_path / "checkpoints"
    _crash_in_third_epoch(folder)
    damaged = folder / "epoch-0002" / "variables.npz"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])

    model, steps = build(), CountSteps()
    with pytest.warns(UserWarning, match=r"Skipping damaged checkpoint .*epoch-0002.*SHA-256"):
        _train(model, folder, callbacks=[steps])
    assert steps.epochs == [1, 2]  # restarted after epoch 1
    assert_bit_identical(uninterrupted[0], weights(model))


@pytest.mark.parametrize("damage", ["truncated state.json", "missing variables.npz", "edited variables.npz"])
def test_every_kind_of_damage_is_detected(tmp_path, damage):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    store = Checkpoints(tmp_path)
    for epoch in (1, 2):
        model.layers[0].kernel.assign(np.full((3, 2), epoch, "float32"))
        store.save(model, epoch, {"history": {}})
    folder = tmp_path / "epoch-0002"
    if damage == "truncated state.json":
        (folder / "state.json").write_text((folder / "state.json").read_text()[:40])
    elif damage == "missing variables.npz":
        (folder / "variables.npz").unlink()
    else:
        data = bytearray((folder / "variables.npz").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (folder / "variables.npz").write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="Skipping damaged checkpoint .*epoch-0002"):
        state = store.restore(model)
    assert state["epoch"] == 1
    assert np.all(keras.ops.convert_to_numpy(model.layers[0].kernel) == 1)


@pytest.fixture(scope="module")
def one_epoch_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("one-epoch") / "checkpoints"
    _train(build(), folder, epochs=1)
    return folder


@pytest.mark.parametrize(
    "change, expected",
    [
        (dict(units=32), r"image_encoder\]?\.config\.units: 16 -> 32"),
        (dict(learning_rate=1e-2), r"compile\.optimizer\.config\.learning_rate: 0\.003 -> 0\.01"),
        (dict(seed=1), r"training\.seed: 0 -> 1"),
    ],
)
def test_resuming_with_a_changed_configuration_is_refused_with_a_diff(one_epoch_folder, change, expected):
    folder = one_epoch_folder
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    seed = change.pop("seed", 0)
    model, steps = build(**change), CountSteps()
    with pytest.raises(CheckpointError, match=expected) as error:
        _train(model, folder, callbacks=[steps], seed=seed)
    assert "Refusing to resume" in str(error.value) and str(folder) in str(error.value)
    assert steps.steps == 0
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before  # checkpoints untouched


def test_unwritable_checkpoint_directory_fails_before_the_first_step(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the checkpoint folder's parent should be")
    model, steps = build(), CountSteps()
    initial = weights(model)
    with pytest.raises(OSError, match=r"Cannot write to the checkpoint directory '.*not-a-folder/checkpoints'"):
        _train(model, blocker / "checkpoints", callbacks=[steps])
    assert steps.steps == 0
    assert_bit_identical(initial, weights(model))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_checkpoint_directory_fails_before_the_first_step(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    folder.chmod(0o500)
    steps = CountSteps()
    try:
        with pytest.raises(OSError, match="Cannot write to the checkpoint directory"):
            _train(build(), folder, callbacks=[steps])
    finally:
        folder.chmod(0o700)
    assert steps.steps == 0


def test_a_new_configuration_may_start_over_while_no_epoch_is_checkpointed(tmp_path):
    """E.g. the loss became NaN in epoch 1 and the run is started again with a lower learning rate."""

    def model(learning_rate):
        net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        net.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
        return net

    store = Checkpoints(tmp_path)
    store.check_config(model(1e-3))
    store.check_config(model(1e-4))  # accepted: there is nothing to resume yet
    store.save(model(1e-4), 1, {"history": {}})
    store.check_config(model(1e-4))
    with pytest.raises(CheckpointError, match=r"learning_rate: 0\.0001 -> 0\.001"):
        store.check_config(model(1e-3))
