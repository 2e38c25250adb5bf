"""mmzoo's compiled predict path: the same outputs as Keras's predict, one trace for every batch size."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.inference.fast_predict import FastPredictor, can_fast_predict, fast_predictor
from mmzoo.models.reference import reference_batch, reference_inputs


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    specs = reference_inputs(vocabulary_size=200, sequence_length=8, image_size=16, seconds=0.25, sample_rate=4000)
    return mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(4),
        encoders={
            "text": ("bilstm", {"units": 8, "embedding_dim": 8}),
            "image": ("cnn", {"filters": (4, 8), "units": 8}),
            "audio": ("cnn", {"filters": (4, 8), "units": 8}),
        },
    )


def _keras_predict(model, x, batch_size=None):
    return keras.Model.predict(model, model._prepare(x), batch_size=batch_size, verbose=0)


@pytest.mark.parametrize("n, batch_size", [(1, None), (7, None), (70, None), (70, 16)])
def test_predict_equals_keras_predict(model, n, batch_size):
    x = reference_batch(model.specs, n, seed=n)
    assert can_fast_predict(model, model._prepare(x))
    ours = model.predict(x, batch_size=batch_size)
    theirs = _keras_predict(model, x, batch_size)
    assert ours.shape == theirs.shape == (n, 4) and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)  # fused LSTM for small batches


def test_one_trace_for_every_batch_size(model):
    predictor = fast_predictor(model)
    for n in (1, 3, 33, 5):
        model.predict(reference_batch(model.specs, n))
    assert fast_predictor(model) is predictor
    assert predictor._forward.experimental_get_tracing_count() == 1


def test_inputs_are_converted(model):
    """Lists of strings, int pixels for a float spec, tensors: converted to the signature's dtypes."""
    x = reference_batch(model.specs, 3)
    mixed = {"text": list(x["text"]), "image": tf.constant(x["image"]), "audio": x["audio"].astype("float64")}
    np.testing.assert_allclose(model.predict(mixed), _keras_predict(model, x), rtol=1e-5, atol=1e-6)
    unicode = {**x, "text": np.array([str(s) for s in x["text"]])}  # NumPy <U strings
    np.testing.assert_allclose(model.predict(unicode), _keras_predict(model, x), rtol=1e-5, atol=1e-6)


def test_datasets_and_callbacks_take_keras_path(model):
    x = reference_batch(model.specs, 5)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(2)
    assert not can_fast_predict(model, ds)
    assert not can_fast_predict(model, x, steps=1)
    assert not can_fast_predict(model, x, callbacks=[keras.callbacks.Callback()])
    np.testing.assert_allclose(model.predict(ds, verbose=0), model.predict(x), rtol=1e-5, atol=1e-6)


def test_errors_still_name_the_input(model):
    x = reference_batch(model.specs, 2)
    with pytest.raises(ValueError, match="Image input 'image'"):
        model.predict({**x, "image": x["image"][:, :8]})
    with pytest.raises(ValueError, match="missing input"):
        model.predict({k: v for k, v in x.items() if k != "audio"})


def test_predictor_does_not_keep_the_model_alive():
    import gc
    import weakref

    m = mmzoo.build_model(
        "early_fusion",
        [mmzoo.Image("a", shape=(8, 8, 1)), mmzoo.Audio("b", sample_rate=4000, seconds=0.25)],
        mmzoo.Classification(3),
    )
    m.predict({"a": np.zeros((1, 8, 8, 1), "uint8"), "b": np.zeros((1, 1000), "float32")})
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None


def test_standalone_predictor_works_on_a_plain_keras_model():
    inp = keras.Input((3,), name="x")
    plain = keras.Model(inp, keras.layers.Dense(2)(inp))
    data = np.arange(12, dtype="float32").reshape(4, 3)
    np.testing.assert_allclose(
        FastPredictor(plain)({"x": data}, batch_size=3), plain.predict(data, verbose=0), rtol=1e-6
    )
    with pytest.raises(ValueError, match="empty batch"):
        FastPredictor(plain)({"x": data[:0]})


@pytest.mark.parametrize(
    "encoder, sequences",
    [
        (("bilstm", {"units": 6, "embedding_dim": 5}), False),
        (("lstm", {"units": 6, "embedding_dim": 5, "num_layers": 2}), False),
        (("bilstm", {"units": 6, "embedding_dim": 5, "num_layers": 2}), True),
    ],
)
def test_fused_lstm_matches_keras(encoder, sequences):
    """Small batches take the fused LSTM kernel: prefix masks, a non-prefix mask (Keras path), empty texts."""
    from mmzoo.inference import fused_lstm

    keras.utils.set_random_seed(1)
    specs = [mmzoo.Text("t", vocabulary_size=50, sequence_length=7, token_ids=True), mmzoo.Image("i", shape=(8, 8, 1))]
    name = "mult" if sequences else "early_fusion"
    options = {"fusion_options": {"units": 8, "num_heads": 2, "num_layers": 1}} if sequences else {}
    model = mmzoo.build_model(
        name,
        specs,
        mmzoo.Classification(3),
        encoders={"t": encoder, "i": ("cnn", {"filters": (4,), "units": 8})},
        **options,
    )
    ids = np.random.default_rng(0).integers(1, 50, (6, 7)).astype("int32")
    ids[1, 4:] = 0  # padded
    ids[2, :] = 0  # empty
    ids[3, 6:] = 0
    x = {"t": ids, "i": np.zeros((6, 8, 8, 1), "uint8")}
    assert fused_lstm.applies(model.get_layer("t_encoder"), training=False) is False  # only while tracing predict
    np.testing.assert_allclose(model.predict(x), _keras_predict(model, x), rtol=1e-5, atol=1e-6)
    graph = fast_predictor(model)._forward.get_concrete_function().graph.as_graph_def()
    assert any(node.op == "BlockLSTMV2" for f in graph.library.function for node in f.node_def)
    holes = {**x, "t": ids.copy()}
    holes["t"][0, 2] = 0  # a mask that is not a prefix: the graph takes Keras's path
    np.testing.assert_allclose(model.predict(holes), _keras_predict(model, holes), rtol=1e-5, atol=1e-6)
    big = {k: np.concatenate([v] * 7) for k, v in x.items()}  # 42 > MAX_BATCH: Keras's path
    np.testing.assert_allclose(model.predict(big, batch_size=64), _keras_predict(model, big, 64), rtol=1e-5, atol=1e-6)


def test_xla_predictor_keeps_keras_lstm():
    """XLA has no kernel for the fused LSTM op: a jit-compiled predictor (Keras's GPU default) skips it."""
    keras.utils.set_random_seed(2)
    specs = [mmzoo.Text("t", vocabulary_size=30, sequence_length=5, token_ids=True), mmzoo.Image("i", shape=(8, 8, 1))]
    model = mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(3),
        encoders={"t": ("bilstm", {"units": 4, "embedding_dim": 4}), "i": ("cnn", {"filters": (4,), "units": 4})},
    )
    x = {"t": np.random.default_rng(0).integers(1, 30, (2, 5)).astype("int32"), "i": np.zeros((2, 8, 8, 1), "uint8")}
    np.testing.assert_allclose(
        FastPredictor(model, jit_compile=True)(x), _keras_predict(model, x), rtol=1e-5, atol=1e-6
    )
