"""mmzoo.training.callbacks on their own, with a plain `model.fit`: what `mmzoo.train` composes."""

import contextlib

import keras
import numpy as np
import pytest
from tensorflow.python.framework import config as tf_config

from mmzoo.data import from_arrays
from mmzoo.training.callbacks import BestWeights, CheckpointWriter, EpochDataOrder, NaNStop
from mmzoo.training.trainer import train
from tests.training.faults.helpers import CountSteps, assert_bit_identical, build, splits, weights


def _tiny():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


@contextlib.contextmanager
def _deterministic():
    was_on = tf_config.is_op_determinism_enabled()
    tf_config.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            tf_config.disable_op_determinism()


def test_nan_stop_stops_a_plain_fit_at_the_nan_batch():
    x = np.ones((8, 2), "float32")
    x[5] = np.nan  # batch 3 of 4 (batches of 2)
    stop, steps = NaNStop(), CountSteps()
    _tiny().fit(x, np.ones(8), batch_size=2, epochs=3, shuffle=False, callbacks=[stop, steps], verbose=0)
    assert steps.steps == 3 and steps.epochs == [0]
    assert (stop.failure.epoch, stop.failure.batch) == (0, 2) and "loss became nan" in stop.failure.what
    assert str(stop.failure) == "the loss became nan at epoch 1, batch 3 (counting from 1)"


def test_best_weights_restores_the_best_epoch_and_stops_after_patience():
    model, seen = _tiny(), []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.get_weights()))
    best = BestWeights(monitor="loss", mode="max", patience=2)  # the loss falls: epoch 0 stays the best
    history = model.fit(np.ones((8, 2), "float32"), np.full(8, 3.0), epochs=10, verbose=0, callbacks=[record, best])
    assert len(history.history["loss"]) == 3 and best.stopped and (best.best_epoch, best.wait) == (0, 2)
    assert_bit_identical(seen[0], model.get_weights())
    assert not np.array_equal(seen[-1][0], seen[0][0])


def test_best_weights_names_a_bad_mode():
    with pytest.raises(ValueError, match="mode=.*'min' or 'max'.*'lowest'"):
        BestWeights(mode="lowest")


def test_checkpoint_writer_keeps_the_early_stopping_wait_across_a_resume(tmp_path):
    def run(epochs, initial_epoch=0):
        model = _tiny()
        best = BestWeights(monitor="loss", mode="max", patience=3)
        writer = CheckpointWriter(tmp_path, best=best)
        start = writer.restore(model)
        assert start == initial_epoch
        model.fit(
            np.ones((8, 2), "float32"),
            np.full(8, 3.0),
            epochs=epochs,
            initial_epoch=start,
            verbose=0,
            callbacks=[best, writer],
        )
        return best, writer

    run(epochs=2)  # epochs 0 (best) and 1 (wait 1), then the process ends
    best, writer = run(epochs=10, initial_epoch=2)
    assert best.stopped and (best.best_epoch, best.wait) == (0, 3)  # stopped after epoch 3, as uninterrupted
    assert len(writer.history["loss"]) == 4 and writer.store.epochs()[0] == 1  # the best epoch is kept


def test_checkpoint_writer_names_callbacks_in_the_wrong_order(tmp_path):
    best = BestWeights(monitor="loss")
    with pytest.raises(ValueError, match="list it before the CheckpointWriter"):
        _tiny().fit(
            np.ones((4, 2), "float32"),
            np.ones(4),
            epochs=1,
            verbose=0,
            callbacks=[CheckpointWriter(tmp_path, best=best), best],
        )


def test_epoch_data_order_needs_an_epoch_seeded_mmzoo_dataset():
    data = from_arrays({"x": np.ones((4, 2), "float32")}, np.ones(4), batch_size=2, shuffle=True)
    with pytest.raises(ValueError, match="shuffled by mmzoo.data with a seed.*DataOrder\\('per_process'\\)"):
        EpochDataOrder(data)


def _plain_fit(data, folder, epochs, with_order=True):
    """A plain `model.fit` with the callbacks, as `mmzoo.train(seed=0, checkpoint_dir=folder)` runs it."""
    model = build()
    keras.utils.set_random_seed(0)
    writer = CheckpointWriter(folder)
    start = writer.restore(model)  # the weights, optimizer and dropout RNG state of the newest checkpoint
    callbacks = ([EpochDataOrder(data)] if with_order else []) + [NaNStop(), writer]
    with _deterministic():
        model.fit(data, epochs=epochs, initial_epoch=start, callbacks=callbacks, verbose=0)
    return weights(model)


def test_plain_fit_with_the_callbacks_resumes_to_the_weights_of_mmzoo_train(tmp_path):
    model = build()
    train(model, splits()[0], epochs=3, seed=0, verbose=0)
    expected = weights(model)
    _plain_fit(splits()[0], tmp_path / "a", epochs=1)  # a first process: one epoch, then it ends
    assert_bit_identical(expected, _plain_fit(splits()[0], tmp_path / "a", epochs=3))  # a new process resumes
    _plain_fit(splits()[0], tmp_path / "b", epochs=1)
    counted = _plain_fit(splits()[0], tmp_path / "b", epochs=3, with_order=False)  # epochs 1-2 see 0-1's order
    assert not all(np.array_equal(a, b) for a, b in zip(expected, counted))
