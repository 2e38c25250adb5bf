"""Sequence encoders (lstm, gru, bilstm, kim_cnn, transformer, bow): shapes, masking, references, learning."""

import json

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.data.synthetic import make_xor
from mmzoo.registry import ENCODERS
from mmzoo.testing import run_mixed_precision_step
from tests.helpers import small_inputs

SMALL = {
    "lstm": {"embedding_dim": 8, "units": 6},
    "gru": {"embedding_dim": 8, "units": 6},
    "bilstm": {"embedding_dim": 8, "units": 6},
    "kim_cnn": {"embedding_dim": 8, "filters": 4, "units": 6, "window_sizes": (2, 3)},
    "transformer": {"units": 8, "num_heads": 2, "num_layers": 2, "ff_dim": 16},
}
OUTPUT_DIM = {"lstm": 6, "gru": 6, "bilstm": 12, "kim_cnn": 6, "transformer": 8}
SEQUENCE_ENCODERS = sorted(SMALL)
VOCAB = 20
# token ids with padding (0) of different lengths per row
IDS = np.array([[3, 4, 5, 6, 7], [8, 9, 0, 0, 0], [2, 11, 12, 0, 0]], "int32")


def _encoder(encoder, text=True, **options):
    vocab = {"vocabulary_size": VOCAB} if text else {}
    return ENCODERS.get(encoder)(**vocab, **SMALL[encoder], **options)


INPUT_KINDS = {  # input, expected steps
    "token_ids": (IDS, 5),
    "frames": (np.random.default_rng(0).standard_normal((3, 7, 5)).astype("float32"), 7),
    "vector": (np.random.default_rng(1).standard_normal((3, 5)).astype("float32"), 1),
}


@pytest.mark.parametrize("kind", sorted(INPUT_KINDS))
@pytest.mark.parametrize("name", SEQUENCE_ENCODERS)
def test_output_shapes(name, kind):
    x, steps = INPUT_KINDS[kind]
    for sequences in (False, True):
        encoder = _encoder(name, text=kind == "token_ids", return_sequences=sequences)
        out = encoder(x)
        expected = (3, steps, OUTPUT_DIM[name]) if sequences else (3, OUTPUT_DIM[name])
        assert tuple(out.shape) == expected
        assert encoder.compute_output_shape(x.shape) == expected
        assert np.all(np.isfinite(np.asarray(out)))


def test_bow_shapes():
    encoder = ENCODERS.get("bow")(units=(16, 8))
    assert tuple(encoder(np.ones((3, 30), "float32")).shape) == (3, 8)
    single = ENCODERS.get("bow")(units=(8,), return_sequences=True)
    assert tuple(single(np.ones((3, 30), "float32")).shape) == (3, 1, 8)


@pytest.mark.parametrize("name", SEQUENCE_ENCODERS)
def test_padding_does_not_change_the_output(name):
    padded = np.pad(IDS, ((0, 0), (0, 6)))
    for sequences in (False, True):
        encoder = _encoder(name, return_sequences=sequences)
        short, long = np.asarray(encoder(IDS)), np.asarray(encoder(padded))
        if sequences:
            np.testing.assert_allclose(long[:, :5], short, atol=1e-5)
            assert np.all(long[:, 5:] == 0) and np.all(short[IDS == 0] == 0)
        else:
            np.testing.assert_allclose(long, short, atol=1e-5)
    changed = IDS.copy()
    changed[1, 1] = 10  # a real token does change the output
    assert np.max(np.abs(np.asarray(encoder(changed))[1] - short[1])) > 1e-4


def test_lstm_matches_numpy_reference_at_the_last_real_token():
    encoder = _encoder("lstm")
    out = np.asarray(encoder(IDS))
    table = encoder.stem.embedding.embeddings.numpy()
    kernel, recurrent, bias = (w.numpy() for w in encoder.rnns[0].weights)
    units = SMALL["lstm"]["units"]

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    for row, ids in enumerate(IDS):
        h, c = np.zeros(units), np.zeros(units)
        for token in ids[ids != 0]:
            z = table[token] @ kernel + h @ recurrent + bias
            i, f, g, o = np.split(z, 4)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        np.testing.assert_allclose(out[row], h, atol=1e-5)


def test_bow_matches_numpy_reference():
    encoder = ENCODERS.get("bow")(units=(7, 5))
    x = np.random.default_rng(2).uniform(0, 4, (4, 12)).astype("float32")
    out = np.asarray(encoder(x))
    h = np.log1p(x)
    for dense in encoder.dense:
        h = np.maximum(h @ dense.kernel.numpy() + dense.bias.numpy(), 0)
    np.testing.assert_allclose(out, h, atol=1e-5)


def test_masked_pooling_reference_transformer():
    """The pooled output is the mean of the returned sequence over real tokens only."""
    pooled = _encoder("transformer")
    sequence = ENCODERS.get("transformer").from_config({**pooled.get_config(), "return_sequences": True})
    out = np.asarray(pooled(IDS))
    sequence(IDS)
    sequence.set_weights(pooled.get_weights())
    seq = np.asarray(sequence(IDS))
    real = (IDS != 0)[..., None]
    np.testing.assert_allclose(out, (seq * real).sum(1) / real.sum(1), atol=1e-5)


def _tfidf_inputs():
    return small_inputs(("text", "features"), overrides={"text": {"output_mode": "tf_idf"}})


def test_bow_refuses_int_text_and_sequence_encoders_refuse_bags():
    specs, _, _ = small_inputs(("text", "features"))
    with pytest.raises(ValueError, match=r"input 'text'.*output_mode='int'.*output_mode='multi_hot'"):
        mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2), encoders={"text": "bow"})
    specs, _, _ = _tfidf_inputs()
    with pytest.raises(ValueError, match=r"input 'text'.*output_mode='tf_idf'.*output_mode='int'"):
        mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2), encoders={"text": "transformer"})


def test_bow_tf_idf_end_to_end():
    specs, x, n = _tfidf_inputs()
    assert specs[0].default_encoder == "bow"
    model = mmzoo.build_model(
        "early_fusion", specs, mmzoo.Classification(2), encoders={"text": ("bow", {"units": (16,)})}
    )
    y = np.arange(n) % 2
    model.fit(x, y, epochs=2, verbose=0)
    # the encoder reads the TF-IDF vector the spec computes in the graph
    bag = np.asarray(specs[0]._vectorize_layer()(x["text"]))
    assert bag.shape == (n, len(specs[0].get_vocabulary())) and bag.max() > 1.0
    encoder = model.get_layer("text_encoder")
    probe = keras.Model(model.input, encoder.output)
    dense = encoder.dense[0]
    reference = np.maximum(np.log1p(bag) @ dense.kernel.numpy() + dense.bias.numpy(), 0)
    np.testing.assert_allclose(probe.predict(x, verbose=0), reference, atol=1e-5)


CONFIG_CASES = [(name, text, seq) for name in SEQUENCE_ENCODERS for text, seq in ((True, False), (False, True))]


@pytest.mark.parametrize("name,text,sequences", CONFIG_CASES)
def test_config_round_trip_with_copied_weights(name, text, sequences):
    x = IDS if text else INPUT_KINDS["frames"][0]
    encoder = _encoder(name, text=text, return_sequences=sequences, name="enc")
    out = np.asarray(encoder(x))
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(encoder)))
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(encoder) and clone.get_config() == encoder.get_config()
    assert clone.built  # rebuilt from the serialized build config, as loading does
    clone.set_weights(encoder.get_weights())
    np.testing.assert_array_equal(np.asarray(clone(x)), out)


def test_bow_config_round_trip():
    encoder = ENCODERS.get("bow")(units=(8, 4), log_inputs=False, return_sequences=True)
    x = np.ones((2, 9), "float32")
    out = np.asarray(encoder(x))
    clone = type(encoder).from_config(json.loads(json.dumps(encoder.get_config())))
    clone.build(x.shape)
    clone.set_weights(encoder.get_weights())
    np.testing.assert_array_equal(np.asarray(clone(x)), out)


def test_bilstm_keeps_its_old_config():
    old = {"name": "enc", "vocabulary_size": 30, "embedding_dim": 8, "units": 4, "return_sequences": False}
    encoder = ENCODERS.get("bilstm").from_config(old)
    assert encoder.bidirectional and tuple(encoder(IDS).shape) == (3, 8)


def test_mixed_float16_training_step():
    """One model with every encoder (token ids, a feature sequence, a TF-IDF bag) trains a step in float16."""
    rng = np.random.default_rng(3)
    n = 8
    specs = [mmzoo.Text(name, vocabulary_size=VOCAB, sequence_length=5, token_ids=True) for name in SEQUENCE_ENCODERS]
    x = {
        name: np.where(rng.random((n, 5)) < 0.3, 0, rng.integers(1, VOCAB, (n, 5))).astype("int32")
        for name in SEQUENCE_ENCODERS
    }
    encoders = {name: (name, SMALL[name]) for name in SEQUENCE_ENCODERS}
    specs.append(mmzoo.Features("frames", shape=(6, 4), normalize=False))
    x["frames"] = rng.standard_normal((n, 6, 4)).astype("float32")
    encoders["frames"] = ("transformer", SMALL["transformer"])
    bag_specs, bag_x, _ = _tfidf_inputs()
    specs.append(bag_specs[0])
    x["text"] = bag_x["text"]
    encoders["text"] = ("bow", {"units": (8,)})
    built = []

    def build():
        built.append(mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2), encoders=encoders))
        built[0].run_eagerly = True  # one step: tracing the float16 graph would take most of the time
        return built[0]

    loss = run_mixed_precision_step(build, x, np.arange(n) % 2)
    assert np.isfinite(loss)
    assert all(built[0].get_layer(f"{name}_encoder").output.dtype == "float16" for name in encoders)
    assert keras.mixed_precision.global_policy().name == "float32"


def test_clear_errors():
    with pytest.raises(ValueError, match="max_length>=9"):
        ENCODERS.get("transformer")(units=8, num_heads=2, max_length=4)(np.zeros((2, 9, 3), "float32"))
    with pytest.raises(ValueError, match="no vocabulary_size"):
        _encoder("gru", text=False)(IDS)
    with pytest.raises(ValueError, match="units=8 must be divisible by num_heads=3"):
        ENCODERS.get("transformer")(units=8, num_heads=3)


@pytest.mark.parametrize(
    "name,options",
    [
        ("transformer", {"units": 32, "num_heads": 2, "num_layers": 1, "ff_dim": 64, "dropout": 0.0}),
        ("gru", {"embedding_dim": 16, "units": 32}),
    ],
)
def test_text_encoder_learns_xor(name, options):
    x, y, inputs = make_xor(800, ("text", "features"), seed=1)
    keras.utils.set_random_seed(0)
    model = mmzoo.build_model(
        "early_fusion",
        inputs,
        mmzoo.Classification(2),
        encoders={"text": (name, options), "features": ("mlp", {"units": (32,)})},
        head_units=(32,),
        dropout=0.0,
        learning_rate=3e-3,
    )
    train, test = slice(0, 600), slice(600, None)
    model.fit({k: v[train] for k, v in x.items()}, y[train], epochs=12, batch_size=32, verbose=0)
    accuracy = model.evaluate({k: v[test] for k, v in x.items()}, y[test], return_dict=True, verbose=0)["accuracy"]
    assert accuracy >= 0.90, f"{name} text encoder: XOR accuracy {accuracy:.3f} < 0.90"
