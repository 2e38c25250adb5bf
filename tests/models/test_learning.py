"""Fusion must learn what no single modality can: the XOR of two modality bits."""

import keras
import pytest

import mmzoo
from mmzoo.data.synthetic import make_xor


class StopWhenFit(keras.callbacks.Callback):
    """Ends training once an epoch's training accuracy reaches `threshold`: the epoch budget is a ceiling, and
    the held-out accuracy asserted afterwards still has to show the model learned (most solve it in a few epochs)."""

    def __init__(self, threshold=0.95):
        super().__init__()
        self.threshold = threshold

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0.0) >= self.threshold:
            self.model.stop_training = True


def _fit_and_score(inputs, x, y, x_test, y_test, epochs):
    keras.utils.set_random_seed(0)
    model = mmzoo.build_model(
        "early_fusion",
        inputs,
        mmzoo.Classification(num_classes=2),
        encoders={
            s.name: (s.default_encoder, {"units": 32, **({"filters": (16, 32)} if s.default_encoder == "cnn" else {})})
            for s in inputs
        },
        head_units=(64,),
        dropout=0.0,
        learning_rate=3e-3,
    )
    names = [s.name for s in inputs]
    model.fit({k: x[k] for k in names}, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[StopWhenFit()])
    return model.evaluate({k: x_test[k] for k in names}, y_test, return_dict=True, verbose=0)["accuracy"]


# (modalities, train the fused model here): the image+audio early fusion on these same data is
# test_every_fusion_architecture_learns_xor[early_fusion]
@pytest.mark.parametrize("modalities,fuse", [(("image", "audio"), False), (("text", "features"), True)])
def test_fusion_learns_xor_but_single_modality_cannot(modalities, fuse):
    x, y, inputs = make_xor(1200, modalities, seed=1)
    train = slice(0, 800)
    test = slice(800, None)
    x_train = {k: v[train] for k, v in x.items()}
    x_test = {k: v[test] for k, v in x.items()}
    single = _fit_and_score(inputs[:1], x_train, y[train], x_test, y[test], epochs=12)
    assert abs(single - 0.5) <= 0.08, f"{modalities[0]}-only accuracy {single:.3f} is not near chance"
    if fuse:
        fused = _fit_and_score(inputs, x_train, y[train], x_test, y[test], epochs=12)
        assert fused >= 0.90, f"fused {modalities} accuracy {fused:.3f} < 0.90"


# Not expected to solve XOR: clip (a retrieval model, no classifier); late_fusion (sums
# per-modality logits: XOR is not additively separable, see below). weighted_sum and additive
# sum per-modality terms, but the hidden layer of the head separates the four sums, so they are
# held to the same bar as the others.
NOT_XOR = ("clip", "late_fusion")
LEARNERS = [m for m in mmzoo.list_models() if m not in NOT_XOR]
# The attention fusions are trained at a reduced width, without dropout (the architecture and code are
# the preset's): at the presets' sizes the [CLS]-token transformer sat on a plateau near chance for
# 10-14 epochs (97-114 s of the suite) and MulT took 74 s. Measured here, seeds 0-3 (epoch at which
# training accuracy left chance): transformer at width 32, 2 layers, lr 1e-3: 7, 6, 3, 3 (held-out
# 0.98-1.00); at lr 3e-3, or one layer, the plateau came back for some seeds. MulT at width 16, one
# layer: solved in 3-4 epochs (seeds 1, 2).
SETTINGS = {
    "transformer": {
        "epochs": 20,
        "learning_rate": 1e-3,
        "fusion_options": {"units": 32, "num_heads": 2, "num_layers": 2, "dropout": 0.0},
    },
    "mult": {"fusion_options": {"units": 16, "num_heads": 2, "num_layers": 1, "dropout": 0.0}},
}


def _xor_accuracy(name, epochs=12, learning_rate=3e-3, **options):
    x, y, inputs = make_xor(1200, ("image", "audio"), seed=1)
    keras.utils.set_random_seed(0)
    encoders = {s.name: ("cnn", {"filters": (16, 32), "units": 32}) for s in inputs}
    model = mmzoo.build_model(
        name, inputs, mmzoo.Classification(num_classes=2), encoders=encoders, learning_rate=learning_rate, **options
    )
    model.fit(
        {k: v[:800] for k, v in x.items()}, y[:800], epochs=epochs, batch_size=32, verbose=0, callbacks=[StopWhenFit()]
    )
    return model.evaluate({k: v[800:] for k, v in x.items()}, y[800:], return_dict=True, verbose=0)["accuracy"]


@pytest.mark.slow
@pytest.mark.parametrize("name", LEARNERS)
def test_every_fusion_architecture_learns_xor(name):
    """Every fusion architecture that models interactions between modalities solves the XOR."""
    accuracy = _xor_accuracy(name, **SETTINGS.get(name, {}))
    assert accuracy >= 0.90, f"{name}: XOR accuracy {accuracy:.3f} < 0.90"


@pytest.mark.slow
def test_late_fusion_cannot_learn_xor():
    """Decision-level fusion adds per-modality logits d(a) + e(b); XOR would need
    d0+e1 > 0, d1+e0 > 0 and d0+e0 < 0, d1+e1 < 0, whose two sums are the same number."""
    assert _xor_accuracy("late_fusion") <= 0.65
