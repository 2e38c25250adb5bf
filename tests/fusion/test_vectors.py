"""Vector fusions (weighted_sum, additive, gmu, tfn, lmf, mfb, mfh, late_fusion) against NumPy references."""

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.registry import FUSIONS
from tests.helpers import small_inputs

VECTOR_FUSIONS = ["weighted_sum", "additive", "gmu", "tfn", "lmf", "mfb", "mfh"]
ALL_FUSIONS = VECTOR_FUSIONS + ["late_fusion"]
SMALL = {
    "weighted_sum": {"units": 6},
    "additive": {"units": 6},
    "gmu": {"units": 6},
    "tfn": {},
    "lmf": {"rank": 3, "units": 6},
    "mfb": {"units": 4, "factor": 3},
    "mfh": {"units": 4, "factor": 3, "order": 3},
    "late_fusion": {"mode": "learned"},
}
ATOL = 2e-5


def _inputs(seed=0, dims=(("audio", 5), ("text", 3)), batch=4):
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal((batch, d)).astype("float32") for name, d in dims}


def _dims(fusion):
    """Equal sizes for late fusion (decisions), different sizes otherwise."""
    return (("audio", 3), ("text", 3)) if fusion == "late_fusion" else (("audio", 5), ("text", 3))


def _make(fusion, x, seed=1, **options):
    """The layer built on `x` with every weight set to random values (so logits and biases matter)."""
    layer = FUSIONS.get(fusion)(**{**SMALL[fusion], **options})
    layer(x)
    rng = np.random.default_rng(seed)
    layer.set_weights([0.5 * rng.standard_normal(w.shape) for w in layer.get_weights()])
    return layer


def _np(v):
    return None if v is None else np.asarray(v, dtype="float64")


def _proj(x, projection):
    kernel, bias = projection
    return x @ _np(kernel) + (0 if bias is None else _np(bias))


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _power_l2(z):
    z = np.sign(z) * np.sqrt(np.abs(z))
    return z / np.linalg.norm(z, axis=-1, keepdims=True)


def _ordered(x):
    return [x[k].astype("float64") for k in sorted(x)]


def _out(layer, x, **kwargs):
    return np.asarray(layer(x, **kwargs), dtype="float64")


def test_weighted_sum_matches_softmax_weighted_projections():
    x = _inputs(dims=(("a", 5), ("b", 3), ("c", 4)))
    layer = _make("weighted_sum", x)
    w = _softmax(_np(layer.logits))
    expected = sum(wm * _proj(xm, p) for wm, xm, p in zip(w, _ordered(x), layer.projections))
    np.testing.assert_allclose(_out(layer, x), expected, atol=ATOL)
    weights = np.asarray(layer.modality_weights(x))
    assert np.all(weights >= 0) and abs(weights.sum() - 1) < 1e-6 and len(set(weights.round(4))) == 3


def test_weighted_sum_presence_renormalises_and_equal_sizes_need_no_projection():
    x = _inputs(dims=(("a", 4), ("b", 4), ("c", 4)))
    layer = _make("weighted_sum", x, units=None)
    assert layer.projections is None and [w.name for w in layer.weights] == ["modality_logits"]
    presence = {"a": np.array([1, 0, 1, 0], "float32"), "c": np.array([1, 1, 0, 0], "float32")}
    mask = np.stack([presence["a"], np.ones(4), presence["c"]], axis=1)
    weights = np.asarray(layer.modality_weights(x, presence))
    expected_w = _softmax(_np(layer.logits)) * mask
    expected_w /= expected_w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights, expected_w, atol=1e-6)
    np.testing.assert_allclose(weights.sum(axis=1), 1, atol=1e-6)
    assert np.all(weights[mask == 0] == 0)
    expected = np.einsum("bm,mbd->bd", expected_w, np.stack(_ordered(x)))
    np.testing.assert_allclose(_out(layer, x, presence=presence), expected, atol=ATOL)
    # different sizes and units=None: everything projected to the largest size
    assert FUSIONS.get("weighted_sum")().compute_output_shape({"a": (None, 3), "b": (None, 7)}) == (None, 7)


def test_additive_sums_projections_and_drops_absent():
    x = _inputs()
    layer = _make("additive", x)
    projected = [_proj(xm, p) for xm, p in zip(_ordered(x), layer.projections)]
    np.testing.assert_allclose(_out(layer, x), projected[0] + projected[1], atol=ATOL)
    presence = {"text": np.array([1, 0, 1, 0], "float32")}
    expected = projected[0] + presence["text"][:, None] * projected[1]
    np.testing.assert_allclose(_out(layer, x, presence=presence), expected, atol=ATOL)


def test_gmu_two_modalities_match_the_paper_equations():
    x = _inputs()
    layer = _make("gmu", x)
    xv, xt = _ordered(x)  # "audio" is v, "text" is t
    hv, ht = (np.tanh(_proj(xm, p)) for xm, p in zip((xv, xt), layer.projections))
    z = 1 / (1 + np.exp(-_proj(np.concatenate([xv, xt], axis=1), layer.gate)))
    np.testing.assert_allclose(_out(layer, x), z * hv + (1 - z) * ht, atol=ATOL)
    # presence: text absent -> h = h_v; audio absent -> h = h_t
    presence = {"text": np.array([1, 0, 1, 1], "float32"), "audio": np.array([1, 1, 1, 0], "float32")}
    out = _out(layer, x, presence=presence)
    np.testing.assert_allclose(out[1], hv[1], atol=ATOL)
    np.testing.assert_allclose(out[3], np.tanh(_proj(xt[3:], layer.projections[1]))[0], atol=ATOL)


def test_gmu_many_modalities_softmax_gates():
    x = _inputs(dims=(("a", 5), ("b", 3), ("c", 2)))
    layer = _make("gmu", x)
    xs = _ordered(x)
    h = np.stack([np.tanh(_proj(xm, p)) for xm, p in zip(xs, layer.projections)], axis=1)
    z = _softmax(_proj(np.concatenate(xs, axis=1), layer.gate).reshape(4, 3, 6), axis=1)
    np.testing.assert_allclose(_out(layer, x), (z * h).sum(axis=1), atol=ATOL)
    presence = {"b": np.array([0, 1, 0, 1], "float32")}
    gates = np.asarray(layer.gates(x, presence))
    assert np.all(gates[[0, 2], 1] == 0)
    np.testing.assert_allclose(gates.sum(axis=1), 1, atol=1e-6)


def _outer(vectors):
    z = vectors[0]
    for v in vectors[1:]:
        z = np.einsum("bi,bj->bij", z, v).reshape(len(z), -1)
    return z


def _augment(x):
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


def test_tfn_is_the_flattened_outer_product():
    x = _inputs(dims=(("c", 2), ("a", 3), ("b", 4)))
    layer = _make("tfn", x)
    expected = np.einsum("bi,bj,bk->bijk", *[_augment(v) for v in _ordered(x)]).reshape(4, -1)
    np.testing.assert_allclose(_out(layer, x), expected, atol=ATOL)
    assert layer.compute_output_shape({k: v.shape for k, v in x.items()}) == (4, 4 * 5 * 3)
    projected = _make("tfn", x, units=2)
    expected = _outer([_augment(_proj(v, p)) for v, p in zip(_ordered(x), projected.projections)])
    np.testing.assert_allclose(_out(projected, x), expected, atol=ATOL)
    assert expected.shape == (4, 27)


def test_tfn_size_error_names_sizes_and_suggests_units():
    layer = FUSIONS.get("tfn")()
    with pytest.raises(ValueError, match=r"a \(129\) x b \(129\) x c \(129\).*max_size=1,000,000.*units="):
        layer({n: np.zeros((1, 128), "float32") for n in "abc"})
    assert FUSIONS.get("tfn")(units=16)({n: np.zeros((1, 128), "float32") for n in "abc"}).shape == (1, 17**3)


def test_lmf_matches_factorised_formula_and_low_rank_tfn():
    x = _inputs(dims=(("a", 5), ("b", 3), ("c", 2)))
    layer = _make("lmf", x)
    factors = [_np(w) for w in layer.factors]
    lam, bias = _np(layer.rank_weights), _np(layer.bias)
    per_mod = [np.einsum("bd,rdu->bru", _augment(v), w) for v, w in zip(_ordered(x), factors)]
    expected = np.einsum("r,bru->bu", lam, np.prod(per_mod, axis=0)) + bias
    np.testing.assert_allclose(_out(layer, x), expected, atol=ATOL)
    # the same thing as a linear layer on TFN's outer product with a rank-r weight tensor
    weight = np.einsum("r,rpu,rqu,rsu->pqsu", lam, *factors).reshape(-1, 6)
    tfn = _outer([_augment(v) for v in _ordered(x)])
    np.testing.assert_allclose(_out(layer, x), tfn @ weight + bias, atol=ATOL)


def _mfh_reference(layer, xs, present=None):
    outputs, previous = [], 1.0
    for block in layer.blocks:
        factors = [_proj(xm, p) for xm, p in zip(xs, block)]
        if present is not None:
            factors = [np.where(present[:, [m]] > 0, f, 1.0) for m, f in enumerate(factors)]
        previous = np.prod(factors, axis=0) * previous
        outputs.append(_power_l2(previous.reshape(len(previous), layer.units, layer.factor).sum(-1)))
    return np.concatenate(outputs, axis=1)


@pytest.mark.parametrize("fusion,dims", [("mfb", 2), ("mfb", 3), ("mfh", 2)])
def test_mfb_mfh_sum_pooled_products_power_l2(fusion, dims):
    x = _inputs(dims=(("b", 5), ("a", 3), ("c", 4))[:dims])
    layer = _make(fusion, x)
    out = _out(layer, x)
    np.testing.assert_allclose(out, _mfh_reference(layer, _ordered(x)), atol=ATOL)
    assert out.shape == (4, 4 * layer.order)
    np.testing.assert_allclose(np.linalg.norm(out.reshape(4, layer.order, 4), axis=-1), 1, atol=1e-5)
    presence = {"b": np.array([1, 0, 1, 0], "float32")}
    present = np.stack([np.ones(4), presence["b"]] + [np.ones(4)] * (dims - 2), axis=1)
    np.testing.assert_allclose(
        _out(layer, x, presence=presence), _mfh_reference(layer, _ordered(x), present), atol=ATOL
    )


def test_late_fusion_mean_and_learned():
    x = _inputs(dims=(("a", 3), ("b", 3), ("c", 3)))
    xs = _ordered(x)
    mean = FUSIONS.get("late_fusion")()
    np.testing.assert_allclose(_out(mean, x), np.mean(xs, axis=0), atol=ATOL)
    presence = {"a": np.array([1, 0, 0, 1], "float32"), "c": np.array([1, 1, 0, 0], "float32")}
    mask = np.stack([presence["a"], np.ones(4), presence["c"]], axis=1)
    expected = np.einsum("bm,mbd->bd", mask, np.stack(xs)) / mask.sum(1, keepdims=True)
    np.testing.assert_allclose(_out(mean, x, presence=presence), expected, atol=ATOL)
    learned = _make("late_fusion", x)
    w = _softmax(_np(learned.logits))
    np.testing.assert_allclose(_out(learned, x), np.einsum("m,mbd->bd", w, np.stack(xs)), atol=ATOL)
    with pytest.raises(ValueError, match="equal size; received a: 3, b: 4"):
        FUSIONS.get("late_fusion")()({"a": x["a"], "b": np.zeros((4, 4), "float32")})
    with pytest.raises(ValueError, match="mode must be one of"):
        FUSIONS.get("late_fusion")(mode="max")


@pytest.mark.parametrize("fusion", ALL_FUSIONS)
def test_absent_modality_values_do_not_change_the_output(fusion):
    dims = (
        (("audio", 3), ("image", 3), ("text", 3))
        if fusion == "late_fusion"
        else (("audio", 5), ("image", 4), ("text", 3))
    )
    x = _inputs(dims=dims)
    layer = _make(fusion, x)
    presence = {
        "audio": np.array([1, 1, 1, 1], "float32"),
        "image": np.array([0, 1, 0, 1], "float32"),
        "text": np.array([1, 0, 0, 1], "float32"),
    }
    changed = {k: v.copy() for k, v in x.items()}
    changed["image"][[0, 2]] = 100.0
    changed["text"][[1, 2]] = -7.0
    out = _out(layer, x, presence=presence)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(_out(layer, changed, presence=presence), out, atol=ATOL)
    assert not np.allclose(_out(layer, changed), _out(layer, x), atol=1e-3)  # without presence they count


@pytest.mark.parametrize("fusion", ALL_FUSIONS)
def test_sorted_order_and_config_round_trip(fusion):
    x = _inputs(dims=_dims(fusion))
    reversed_x = dict(reversed(list(x.items())))
    assert list(reversed_x) != list(x)
    layer = _make(fusion, x)
    out = _out(layer, x)
    np.testing.assert_allclose(_out(layer, reversed_x), out, atol=0)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    clone(reversed_x)  # built from the other insertion order: same weights, same order
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(_out(clone, x), out, atol=1e-6)
    assert clone.get_config() == config
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is type(layer)


@pytest.mark.parametrize("fusion", ALL_FUSIONS)
def test_one_training_step_under_mixed_float16(fusion):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = {name: keras.Input((d,), name=name) for name, d in (("text", 5), ("audio", 3))}
        features = {
            name: keras.layers.Dense(3 if fusion == "late_fusion" else 4 + i)(inp)
            for i, (name, inp) in enumerate(inputs.items())
        }
        presence = {name: keras.Input((), name=f"{name}_present") for name in inputs}
        fused = FUSIONS.get(fusion)(**SMALL[fusion])(features, presence=presence)
        assert fused.dtype == "float16"
        outputs = keras.layers.Activation("softmax", dtype="float32")(keras.layers.Dense(3)(fused))
        model = keras.Model({**inputs, **{f"{n}_present": p for n, p in presence.items()}}, outputs)
        # eagerly: dtype errors show the same way, and tracing a float16 graph costs seconds per fusion on CPU
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
        rng = np.random.default_rng(0)
        data = {
            "text": rng.standard_normal((8, 5)),
            "audio": rng.standard_normal((8, 3)),
            "text_present": np.array([1, 0] * 4, "float32"),
            "audio_present": np.ones(8, "float32"),
        }
        before = [w.copy() for w in model.get_weights()]
        # a few steps: float16 loss scaling skips the first steps whose scaled gradients overflow
        loss = model.fit(data, np.arange(8) % 3, batch_size=8, epochs=6, verbose=0).history["loss"][-1]
        assert np.isfinite(loss)
        assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(model(data, training=False))))
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("fusion", VECTOR_FUSIONS)
def test_fusion_in_early_fusion_model(fusion):
    specs, x, n = small_inputs(("image", "features"))
    model = mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(num_classes=3),
        fusion=fusion,
        encoders={"image": ("cnn", {"filters": (4,), "units": 6})},
        missing_modalities=True,
    )
    assert isinstance(model.get_layer("early_fusion_fusion"), FUSIONS.get(fusion))
    x = {**x, "image_present": np.array([True, False] * 4), "features_present": np.ones(n, bool)}
    loss = model.fit(x, np.arange(n) % 3, batch_size=n, epochs=1, verbose=0).history["loss"][0]
    assert np.isfinite(loss)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
