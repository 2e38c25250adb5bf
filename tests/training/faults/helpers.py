"""Small fixtures for the fault tests: a tiny XOR task, a tiny model, an interrupting callback."""

import keras
import numpy as np

import mmzoo
from mmzoo.data import from_arrays
from mmzoo.data.synthetic import make_xor

X, Y, INPUTS = make_xor(160, ("image", "features"), seed=1)


def splits(batch_size=32, seed=3):
    """A shuffled (epoch-seeded) train split of 128 examples and a validation split of 32."""
    train = from_arrays(
        {k: v[:128] for k, v in X.items()}, Y[:128], inputs=INPUTS, batch_size=batch_size, shuffle=True, seed=seed
    )
    validation = from_arrays({k: v[128:] for k, v in X.items()}, Y[128:], inputs=INPUTS, batch_size=32)
    return train, validation


def build(units=16, dropout=0.3, seed=0, learning_rate=3e-3):
    """A small early-fusion model with dropout (so RNG state matters), built from a fixed seed."""
    keras.utils.set_random_seed(seed)
    encoders = {"image": ("cnn", {"filters": (8,), "units": units}), "features": ("mlp", {"units": (units,)})}
    return mmzoo.build_model(
        "early_fusion",
        INPUTS,
        mmzoo.Classification(num_classes=2),
        encoders=encoders,
        learning_rate=learning_rate,
        dropout=dropout,
    )


def weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def assert_bit_identical(expected, actual):
    assert len(expected) == len(actual)
    for i, (a, b) in enumerate(zip(expected, actual)):
        assert a.dtype == b.dtype and np.array_equal(a, b), (
            f"weight {i} differs: max |diff| {np.max(np.abs(a.astype(np.float64) - b)):.3g}"
        )


class Interrupt(Exception):
    """Stands in for a crash in the middle of an epoch."""


class CrashMidEpoch(keras.callbacks.Callback):
    """Raises `Interrupt` after `batch` (0-based) of `epoch` (0-based): the run dies mid-epoch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.crash_epoch, self.crash_batch, self.epoch = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.crash_epoch and batch == self.crash_batch:
            raise Interrupt(f"crash in epoch {self.epoch}, batch {batch}")


class CountSteps(keras.callbacks.Callback):
    """Counts training steps and records the epochs that began."""

    def __init__(self):
        super().__init__()
        self.steps, self.epochs = 0, []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        self.steps += 1
