"""The CLIP-style dual encoder learns to retrieve pairs; its encoders work on their own."""

import keras
import numpy as np
import pytest

import mmzoo


def _pairs(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, 16)).astype("float32")
    rotation = np.linalg.qr(np.random.default_rng(99).standard_normal((16, 16)))[0]
    b = (a @ rotation + 0.1 * rng.standard_normal((n, 16))).astype("float32")
    return {"a": a, "b": b}


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    train, test = _pairs(2048, 0), _pairs(256, 1)
    specs = [mmzoo.Features("a", shape=(16,)), mmzoo.Features("b", shape=(16,))]
    mmzoo.adapt(specs, train)
    model = mmzoo.build_model(
        "clip",
        specs,
        mmzoo.Retrieval(embedding_dim=32),
        encoders={"a": ("mlp", {"units": (64,)}), "b": ("mlp", {"units": (64,)})},
        learning_rate=3e-3,
    )
    ds = mmzoo.data.from_arrays(train, batch_size=128, shuffle=True, seed=0, drop_remainder=True)
    model.fit(ds, epochs=15, verbose=0)  # no labels: pair i matches pair i
    return model, test


def test_recall_well_above_chance(trained):
    model, test = trained
    logs = model.evaluate(test, batch_size=256, return_dict=True, verbose=0)
    # chance: recall@1 = 1/256, recall@10 = 10/256
    assert logs["recall@1"] >= 0.5, logs
    assert logs["recall@10"] >= 0.9, logs
    sims = model.predict(test, batch_size=256, verbose=0)
    assert sims.shape == (256, 256)
    assert np.mean(np.argmax(sims, axis=1) == np.arange(256)) >= 0.5


def test_encoder_submodels_work_alone(trained, tmp_path):
    model, test = trained
    encode_a, encode_b = mmzoo.encoder_model(model, "a"), mmzoo.encoder_model(model, "b")
    ea, eb = encode_a.predict(test["a"], verbose=0), encode_b.predict(test["b"], verbose=0)
    np.testing.assert_allclose(np.linalg.norm(ea, axis=1), 1.0, atol=1e-5)
    scale = float(np.exp(model.get_layer("similarity").log_scale.numpy()))
    np.testing.assert_allclose(scale * ea @ eb.T, model.predict(test, batch_size=256, verbose=0), atol=1e-3)
    model.save(tmp_path / "clip.keras")
    reloaded = keras.saving.load_model(tmp_path / "clip.keras")
    np.testing.assert_allclose(mmzoo.encoder_model(reloaded, "a").predict(test["a"], verbose=0), ea, atol=1e-6)
    with pytest.raises(ValueError, match="no embedding for input 'c'; it has: a, b"):
        mmzoo.encoder_model(model, "c")


def test_clip_refuses_wrong_setups():
    specs = [mmzoo.Features("a", shape=(4,), normalize=False), mmzoo.Features("b", shape=(4,), normalize=False)]
    with pytest.raises(ValueError, match="takes exactly 2 inputs; received 3"):
        mmzoo.build_model("clip", specs + [mmzoo.Features("c", shape=(4,), normalize=False)], mmzoo.Retrieval())
    with pytest.raises(ValueError, match="trains a Retrieval task"):
        mmzoo.build_model("clip", specs, mmzoo.Classification(2))
