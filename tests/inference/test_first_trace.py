"""`fit` and `evaluate` trace their step once: variables exist before the first trace (MultimodalModel)."""

import numpy as np
import tensorflow as tf

import mmzoo
from tests.helpers import small_inputs


def _counting(model, name):
    """Replaces `model.<name>` by a wrapper that counts how often its Python body runs (once per trace)."""
    calls = []
    original = getattr(model, name)

    def step(data):
        calls.append(1)
        return original(data)

    setattr(model, name, step)
    return calls


def _model():
    specs, x, n = small_inputs(("image", "features"))
    model = mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(num_classes=2),
        encoders={"image": ("cnn", {"filters": (4,), "units": 8})},
    )
    return model, x, np.arange(n) % 2


def test_fit_and_evaluate_trace_their_step_once():
    model, x, y = _model()
    train, test = _counting(model, "train_step"), _counting(model, "test_step")
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert len(train) == 1  # Keras alone: twice (the first trace creates the optimizer's and metrics' variables)
    model.evaluate(x, y, batch_size=4, verbose=0)
    assert len(test) == 1


def test_datasets_are_built_from_their_element_spec_without_reading_a_batch():
    model, x, y = _model()
    reads = tf.Variable(0)

    def count(features, label):
        reads.assign_add(1)
        return features, label

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).map(count).batch(4)
    calls = _counting(model, "train_step")
    model.fit(dataset, epochs=1, verbose=0)
    assert len(calls) == 1 and model.optimizer.built
    assert int(reads.numpy()) == len(y)  # one pass over the data: the build read none of it
