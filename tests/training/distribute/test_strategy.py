"""Choosing a strategy by name: clear, early errors; "auto" on one device leaves the model as it is."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from mmzoo.training import distribute
from mmzoo.training.trainer import train
from tests.training.distribute.workload import build, data, weights


def test_unknown_strategy_names_the_argument_and_the_choices():
    with pytest.raises(
        ValueError,
        match=r"strategy must be one of 'auto', 'one_device', 'mirrored', "
        r"'multi_worker', 'tpu' or a tf.distribute.Strategy; received 'gpu'",
    ):
        distribute.get_strategy("gpu")


def test_tpu_without_a_tpu_fails_before_training(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    train_data, validation, inputs = data()
    model = build(inputs)
    before = weights(model)
    with pytest.raises(ValueError, match="strategy='tpu' found no TPU"):
        train(model, train_data, epochs=1, verbose=0, strategy="tpu")
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(model)))


def test_multi_worker_after_tensorflow_started_says_to_create_it_first(monkeypatch):
    cluster = {"worker": ["localhost:1", "localhost:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    tf.constant(1.0) + 1.0  # TensorFlow is running
    with pytest.raises(
        ValueError,
        match=r"must be created before TensorFlow runs anything .* Call "
        r"mmzoo.training.distribute.get_strategy\('multi_worker'\) first thing",
    ):
        distribute.get_strategy("multi_worker")


def test_auto_on_one_device_trains_the_model_itself_and_passes_strategies_through():
    assert distribute.get_strategy("auto").num_replicas_in_sync == 1
    assert distribute.is_default(distribute.get_strategy("auto"))
    assert distribute.is_chief(distribute.get_strategy("auto"))
    one = distribute.get_strategy("one_device")
    assert distribute.get_strategy(one) is one and not distribute.is_default(one)
    with one.scope():  # a model built in a strategy's scope keeps it under "auto"
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert distribute.get_strategy("auto", model) is one

    train_data, validation, inputs = data()
    model = build(inputs)
    history = train(model, train_data, epochs=1, verbose=0)
    assert history.model is model


def test_distribute_dataset_keeps_the_global_batch_on_one_device():
    ds = tf.data.Dataset.range(10).batch(4)
    assert [int(b.shape[0]) for b in distribute.distribute_dataset(distribute.get_strategy("auto"), ds)] == [4, 4, 2]


def test_docstring_examples_run():
    import doctest

    from mmzoo.training import distributed_fit, placement

    for module in (distribute, placement, distributed_fit):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_the_multi_worker_loop_takes_datasets_only():
    from mmzoo.training.distributed_fit import distributed_fit

    train_data, _, inputs = data()
    with pytest.raises(
        ValueError,
        match="validation_data must be a tf.data.Dataset of batches under a multi-worker strategy; received tuple",
    ):
        distributed_fit(build(inputs), train_data, validation_data=({"a": None}, None), verbose=0)
