"""Same seed and data give bit-identical weights on CPU; data order depends only on (seed, epoch)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from mmzoo.data import finalize, from_arrays
from mmzoo.data.order import keep_order
from mmzoo.data.pipeline import reshuffles_per_process, set_epoch
from mmzoo.training.trainer import train
from tests.training.faults.helpers import INPUTS, X, Y, assert_bit_identical, build, splits, weights


def _run(data_seed=3, callbacks=()):
    model = build()
    train_data, _ = splits(seed=data_seed)
    train(model, train_data, epochs=2, seed=0, verbose=0, callbacks=list(callbacks))
    return weights(model)


class _DeterminismProbe(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append(tf_config.is_op_determinism_enabled())


def test_same_seed_and_data_give_bit_identical_weights():
    before = tf_config.is_op_determinism_enabled()
    probe = _DeterminismProbe()
    first = _run(callbacks=[probe])
    assert set(probe.seen) == {True}  # TF op determinism is on while training with a seed ...
    assert tf_config.is_op_determinism_enabled() == before  # ... and as it was afterwards
    second = _run()
    assert_bit_identical(first, second)
    other = _run(data_seed=4)  # a different shuffle order: the comparison above could have failed
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def _order(ds):
    return [int(v) for batch in ds for v in batch]


def test_epoch_order_depends_on_seed_and_epoch_only():
    def make(seed=5):
        return finalize(tf.data.Dataset.range(40), batch_size=8, shuffle=True, seed=seed)

    counted = make()
    passes = [_order(counted) for _ in range(3)]  # a plain loop counts its own passes
    assert all(sorted(p) == list(range(40)) for p in passes)
    assert passes[0] != passes[1] != passes[2]
    fresh = make()  # a new pipeline (as in a resumed process), asked for epoch 2 directly
    assert set_epoch(fresh, 2)
    assert _order(fresh) == _order(fresh) == passes[2]
    assert not set_epoch(fresh.take(2), 1)  # a transformed dataset does not carry the order by itself ...
    assert set_epoch(keep_order(fresh.take(2), fresh), 1) and _order(fresh) == passes[1]  # ... keep_order carries it
    set_epoch(fresh, None)
    assert _order(fresh) == passes[0]  # counting its own passes again, from 0 (none counted so far)
    assert _order(make(seed=6)) != passes[0]


def test_training_warns_when_the_order_cannot_be_resumed(tmp_path):
    train_data, _ = splits()
    plain = from_arrays({k: v[:128] for k, v in X.items()}, Y[:128], inputs=INPUTS, batch_size=32, shuffle=True)
    assert reshuffles_per_process(plain) and not reshuffles_per_process(train_data)
    assert not reshuffles_per_process(train_data.unbatch().shuffle(128).batch(32))  # not built by mmzoo: as it is
    with pytest.warns(UserWarning, match="reshuffles every pass from per-process state"):
        train(build(), plain, epochs=0, seed=0, verbose=0, checkpoint_dir=tmp_path)
