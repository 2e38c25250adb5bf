"""Datasets hand back their order (`mmzoo.data.order`); nothing reads a dataset's graph."""

import numpy as np
import pytest
import tensorflow as tf

from mmzoo.data import DataOrder, data_order, finalize, from_arrays, keep_order
from mmzoo.data.pipeline import reshuffles_per_process, set_epoch


def test_finalize_attaches_the_order_of_its_shuffle():
    base = tf.data.Dataset.range(8)
    assert data_order(finalize(base)).kind == "fixed"
    assert data_order(finalize(base, shuffle=True)).kind == "per_process"
    seeded = data_order(finalize(base, shuffle=True, seed=1))
    assert seeded.kind == "epoch_seeded" and len(seeded.epoch_variables) == 1


def test_finalize_follows_the_order_its_input_carries():
    shuffled = keep_order(tf.data.Dataset.range(8).shuffle(8), finalize(tf.data.Dataset.range(8), shuffle=True))
    assert data_order(shuffled).kind == "per_process"
    assert reshuffles_per_process(finalize(shuffled, shuffle=True, seed=1))
    assert not reshuffles_per_process(finalize(shuffled, shuffle=True, seed=1, cache=True))  # the cache fixes it


def test_a_dataset_mmzoo_did_not_build_is_taken_as_it_is():
    plain = tf.data.Dataset.range(8).shuffle(8)
    assert data_order(plain) is None and not reshuffles_per_process(plain) and not set_epoch(plain, 1)


def test_keep_order_carries_the_epoch_through_a_map():
    data = from_arrays({"x": np.arange(8.0)[:, None]}, np.arange(8), batch_size=4, shuffle=True, seed=0)
    mapped = keep_order(data.map(lambda x, y: (x["x"], y)), data)
    assert set_epoch(mapped, 2)
    epoch_2 = [int(v) for _, y in mapped for v in y]
    set_epoch(mapped, 0)
    assert epoch_2 != [int(v) for _, y in mapped for v in y]
    set_epoch(mapped, 2)
    assert epoch_2 == [int(v) for _, y in data for v in y]


def test_bad_orders_are_named():
    with pytest.raises(ValueError, match="one of fixed, epoch_seeded, per_process; received 'random'"):
        DataOrder("random")
    with pytest.raises(TypeError, match="must be a DataOrder; received str"):
        keep_order(tf.data.Dataset.range(2), type("Fake", (), {"mmzoo_order": "fixed"})())
