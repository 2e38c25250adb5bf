"""A NaN or Inf loss stops training at that batch, names it, and keeps the last good checkpoint."""

import numpy as np
import pytest
import tensorflow as tf

from mmzoo.training.checkpoint import Checkpoints
from mmzoo.training.trainer import train
from tests.training.faults.helpers import CountSteps, X, Y, assert_bit_identical, build, splits, weights


def _poisoned(batch, value):
    """The 128 training examples in order, 32 per batch; one example of batch `batch` (0-based) weighs `value`.

    A NaN/Inf sample weight makes that batch's loss NaN/Inf whatever the kernels do with NaN inputs.
    """
    sample_weight = np.ones(128, "float32")
    sample_weight[batch * 32 + 5] = value
    features = {k: v[:128] for k, v in X.items()}
    return tf.data.Dataset.from_tensor_slices((features, Y[:128], sample_weight)).batch(32)


def test_nan_loss_stops_at_that_batch_and_keeps_the_last_good_checkpoint(tmp_path):
    folder = tmp_path / "checkpoints"
    model = build(dropout=0.0)
    train(model, splits()[0], epochs=2, seed=0, verbose=0, checkpoint_dir=folder)
    good = Checkpoints(folder).model_weights(model, 2)

    steps = CountSteps()
    with pytest.raises(
        FloatingPointError,
        match=r"the loss became nan at epoch 3, batch 3 .*"
        r"last good checkpoint, .*epoch-0002 \(epoch 2\), is kept",
    ):
        train(model, _poisoned(2, np.nan), epochs=4, seed=0, verbose=0, checkpoint_dir=folder, callbacks=[steps])
    assert steps.epochs == [2] and steps.steps == 3  # stopped at the poisoned batch, no further steps
    assert Checkpoints(folder).epochs() == [1, 2]  # nothing written for the poisoned epoch
    assert_bit_identical(good, weights(model))  # and the model holds the last good weights again
    assert all(np.isfinite(w).all() for w in weights(model))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_loss_without_checkpoints_still_names_epoch_and_batch(value):
    steps = CountSteps()
    with pytest.raises(FloatingPointError, match=rf"loss became {value} at epoch 1, batch 2 \(counting from 1\)"):
        train(build(dropout=0.0), _poisoned(1, value), epochs=2, verbose=0, callbacks=[steps])
    assert steps.epochs == [0] and steps.steps == 2


def test_nan_input_that_leaves_the_loss_finite_is_caught_through_the_weights(tmp_path):
    """On CPU a NaN input can vanish from the forward pass (ReLU turns NaN into 0), so the loss stays
    finite while the gradients, hence the weights, become NaN: that batch stops training too."""
    values = X["features"][:64].copy()
    values[40, 3] = np.nan  # one value of one example in batch 2
    features = {"image": X["image"][:64], "features": values}
    data = tf.data.Dataset.from_tensor_slices((features, Y[:64])).batch(32)
    model, steps = build(dropout=0.0), CountSteps()
    with pytest.raises(
        FloatingPointError,
        match=r"the weights .*features_encoder.* became NaN/Inf while the loss "
        r"stayed finite at epoch 1, batch 2",
    ):
        train(model, data, epochs=2, seed=0, verbose=0, checkpoint_dir=tmp_path, callbacks=[steps])
    assert steps.steps == 2
    assert Checkpoints(tmp_path).epochs() == []
