"""Attention fusions: numbers against NumPy, presence masking, order, config round trip, mixed precision (learning: tests/models/test_learning.py, the mult and transformer presets)."""

import json

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.fusion.attention import AttentionFusion
from mmzoo.fusion.blocks import MaskedMultiHeadAttention, sinusoidal_positions
from mmzoo.fusion.transformer import CrossModalAttentionFusion, TransformerFusion
from mmzoo.testing import call_outputs
from tests.helpers import small_inputs

N = 4
LAYERS = {
    "attention": lambda: AttentionFusion(units=8),
    "cross_attention": lambda: CrossModalAttentionFusion(units=8, num_heads=2, num_layers=1, dropout=0.1),
    "transformer": lambda: TransformerFusion(units=8, num_heads=2, num_layers=2, dropout=0.1, positions="sinusoidal"),
}
# a sample per pattern: all present; audio absent; audio and text absent; none present
PRESENCE = {"audio": [1, 0, 0, 0], "text": [1, 1, 0, 0], "video": [1, 1, 1, 0]}


def _inputs(fusion, seed=0):
    rng = np.random.default_rng(seed)
    if fusion == "attention":
        shapes = {"video": (N, 6), "audio": (N, 4), "text": (N, 3)}
    else:  # steps and dims differ per modality
        shapes = {"video": (N, 5, 6), "audio": (N, 3, 4), "text": (N, 7, 3)}
    return {k: rng.standard_normal(s).astype("float32") for k, s in shapes.items()}


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_attention_weights_and_output_match_numpy():
    x = _inputs("attention")
    layer = AttentionFusion(units=6, return_weights=True)
    fused, weights = (_np(t) for t in layer(x))
    names = sorted(x)
    h = np.stack([x[n] @ _np(p.kernel) + _np(p.bias) for n, p in zip(names, layer.projections)], axis=1)
    scores = np.tanh(h @ _np(layer.score_hidden.kernel) + _np(layer.score_hidden.bias))
    scores = (scores @ _np(layer.score_out.kernel) + _np(layer.score_out.bias))[..., 0]
    expected = _softmax(scores)
    assert weights.shape == (N, 3) and np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    np.testing.assert_allclose(fused, (expected[..., None] * h).sum(axis=1), atol=1e-5)


def test_attention_absent_modality_gets_exactly_zero_weight():
    x = _inputs("attention")
    layer = AttentionFusion(units=6, return_weights=True)
    presence = {k: np.array(v, "float32") for k, v in PRESENCE.items()}
    fused, weights = (_np(t) for t in layer(x, presence=presence))
    mask = np.stack([presence[n] for n in sorted(x)], axis=1) > 0
    assert np.all(weights[~mask] == 0.0)
    np.testing.assert_allclose(weights[:3].sum(axis=1), 1.0, atol=1e-6)
    assert np.all(weights[3] == 0.0) and np.all(fused[3] == 0.0)  # nothing present: zeros, not NaN


def _mha_numpy(att, q_in, kv_in, key_mask):
    heads, d = att.num_heads, att.units // att.num_heads

    def dense(layer, x):
        return x @ _np(layer.kernel) + _np(layer.bias)

    def split(x):
        return x.reshape(x.shape[0], x.shape[1], heads, d).transpose(0, 2, 1, 3)

    q = split(dense(att.query_dense, q_in))
    k, v = split(dense(att.key_dense, kv_in)), split(dense(att.value_dense, kv_in))
    scores = np.einsum("bhtd,bhsd->bhts", q, k) / np.sqrt(d)
    scores = np.where(key_mask[:, None, None, :], scores, -np.inf)
    any_valid = key_mask.any(axis=1)[:, None, None, None]
    weights = np.where(any_valid, _softmax(np.where(any_valid, scores, 0.0)), 0.0)
    out = np.einsum("bhts,bhsd->bhtd", weights, v).transpose(0, 2, 1, 3).reshape(q_in.shape[0], -1, att.units)
    return dense(att.output_dense, out)


def test_cross_attention_single_key_returns_its_value_projection():
    rng = np.random.default_rng(1)
    att = MaskedMultiHeadAttention(units=8, num_heads=2)
    query = rng.standard_normal((3, 5, 4)).astype("float32")
    key = rng.standard_normal((3, 1, 6)).astype("float32")
    out = _np(att(query, key))
    value = key[:, 0] @ _np(att.value_dense.kernel) + _np(att.value_dense.bias)
    expected = value @ _np(att.output_dense.kernel) + _np(att.output_dense.bias)  # softmax over one key is 1
    np.testing.assert_allclose(out, np.repeat(expected[:, None], 5, axis=1), atol=1e-5)


def test_masked_attention_matches_numpy_and_fully_masked_queries_get_zero():
    rng = np.random.default_rng(2)
    att = MaskedMultiHeadAttention(units=8, num_heads=2)
    query = rng.standard_normal((3, 4, 5)).astype("float32")
    value = rng.standard_normal((3, 6, 7)).astype("float32")
    key_mask = np.array([[1, 1, 1, 1, 1, 1], [1, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0]], bool)
    out = _np(att(query, value, key_mask=key_mask))
    np.testing.assert_allclose(out, _mha_numpy(att, query, value, key_mask), atol=1e-5)
    np.testing.assert_allclose(out[2], np.broadcast_to(_np(att.output_dense.bias), (4, 8)), atol=1e-6)


def test_sinusoidal_positions_match_vaswani():
    pos, i = np.arange(5)[:, None], np.arange(3)[None]
    angles = pos / 10000 ** (2 * i / 6)
    expected = np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(5, 6)  # sin on even, cos on odd
    np.testing.assert_allclose(_np(sinusoidal_positions(5, 6)), expected, atol=1e-5)


@pytest.mark.parametrize("fusion", sorted(LAYERS))
def test_absent_modality_content_does_not_matter(fusion):
    x = _inputs(fusion)
    layer = LAYERS[fusion]()
    presence = {k: np.array(v, "float32") for k, v in PRESENCE.items()}
    out = _np(layer(x, presence=presence))
    rng = np.random.default_rng(5)
    scrambled = {}
    for name, value in x.items():
        absent = (presence[name] == 0).reshape((-1,) + (1,) * (value.ndim - 1))
        scrambled[name] = np.where(absent, 10 * rng.standard_normal(value.shape), value).astype("float32")
    np.testing.assert_allclose(_np(layer(scrambled, presence=presence)), out, atol=1e-5)
    assert np.all(out[3] == 0.0)  # no modality present: zeros, not NaN
    # present content does matter, and all-ones presence is the same as none
    changed = {**x, "video": x["video"] + 1.0}
    assert np.abs(_np(layer(changed, presence=presence))[:3] - out[:3]).max() > 1e-3
    ones = {k: np.ones(N, "float32") for k in x}
    np.testing.assert_allclose(_np(layer(x, presence=ones)), _np(layer(x)), atol=1e-5)


@pytest.mark.parametrize("fusion", sorted(LAYERS))
def test_insertion_order_does_not_matter(fusion):
    x = _inputs(fusion)
    layer = LAYERS[fusion]()
    reversed_x = {k: x[k] for k in reversed(list(x))}
    np.testing.assert_allclose(_np(layer(reversed_x)), _np(layer(x)), atol=1e-6)


@pytest.mark.parametrize("fusion", sorted(LAYERS))
def test_config_round_trip_with_copied_weights(fusion):
    x = _inputs(fusion)
    layer = LAYERS[fusion]()
    out = _np(layer(x))
    clone = keras.layers.deserialize(json.loads(json.dumps(keras.layers.serialize(layer))))
    assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(_np(clone(x)), out)


@pytest.mark.parametrize("fusion", sorted(LAYERS))
def test_one_training_step_under_mixed_float16(fusion):
    x = {k: v for k, v in _inputs(fusion).items() if k != "text"}  # two modalities keep the trace short
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = {k: keras.Input(v.shape[1:], name=k) for k, v in x.items()}
        presence = {f"{k}_present": keras.Input((), name=f"{k}_present") for k in x}
        fused = LAYERS[fusion]()(inputs, presence={k: presence[f"{k}_present"] for k in x})
        outputs = keras.layers.Dense(2, activation="softmax", dtype="float32")(fused)
        model = keras.Model({**inputs, **presence}, outputs)
        # eagerly: dtype errors show the same way, and tracing a float16 graph costs seconds per fusion on CPU
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", run_eagerly=True)
        data = {**x, **{f"{k}_present": np.array(PRESENCE[k], "float32") for k in x}}
        loss = model.train_on_batch(data, np.arange(N) % 2)
        assert np.isfinite(loss)
        assert fused.dtype == "float16"
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(model(data, training=False))))
    finally:
        keras.mixed_precision.set_global_policy(previous)


@pytest.mark.parametrize("modalities", [("image", "features"), ("text", "features")])
def test_model_builder_trains_on_token_sequences(modalities, fusion="cross_attention"):
    specs, x, n = small_inputs(modalities)
    encoders = {
        "image": ("cnn", {"filters": (8, 16), "units": 16}),
        "text": ("bilstm", {"embedding_dim": 8, "units": 8}),
    }
    model = mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(num_classes=2),
        encoders={m: encoders[m] for m in modalities if m in encoders},
        fusion=(fusion, {"units": 16, "num_heads": 2, "num_layers": 1}),
        sequences=True,
    )
    for m in modalities:
        assert len(model.get_layer(f"{m}_encoder").output.shape) == 3  # token sequences reach the fusion
    model.run_eagerly = True  # graph-mode training on token sequences: the XOR tests of mult and transformer
    history = model.fit(x, np.arange(n) % 2, epochs=1, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert call_outputs(model, x).shape == (n, 2)
