"""Non-finite values, non-UTF-8 text and CSVs, WAV headers the decoder reads otherwise, mismatched batch sizes.

Each bad input or file is built here; each error must name the input, file or key; the good path must give
the numbers Keras gives on the same arrays.
"""

import re
import struct

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.cli.commands import main
from mmzoo.data import from_csv, from_dataframe
from mmzoo.data.decode import read_wav_header
from tests.helpers import small_inputs, tiny_early_fusion

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")


@pytest.fixture(scope="module")
def model_and_data():
    keras.utils.set_random_seed(0)
    specs, x, _ = small_inputs()
    specs[1] = mmzoo.Image("image", shape=(12, 12, 3), dtype="float32")
    x["image"] = (x["image"] / 255).astype("float32")
    return tiny_early_fusion(specs), x


def _spoiled(x, name, index, value):
    bad = x[name].copy()
    bad[index] = value
    return {**x, name: bad}


@pytest.mark.parametrize(
    "name, index, value, message",
    [
        ("audio", (3, 10), np.nan, r"Audio input 'audio' has NaN at example 3; expected finite float32"),
        ("audio", (2, 0), np.inf, r"Audio input 'audio' has Inf at example 2;"),
        ("image", (5, 1, 1, 0), np.nan, r"Image input 'image' has NaN at example 5;"),
        ("features", (0, 4), -np.inf, r"Features input 'features' has Inf at example 0;"),
        (
            "features",
            (slice(1, 4), 0),
            np.nan,
            r"Features input 'features' has NaN at example 1 \(and 2 more examples\)",
        ),
    ],
)
def test_non_finite_values_are_refused_at_predict(model_and_data, name, index, value, message):
    model, x = model_and_data
    bad = _spoiled(x, name, index, value)
    with pytest.raises(ValueError, match=message):
        model.predict(bad, verbose=0)
    with pytest.raises(ValueError, match=message):  # eager tensors are looked at too
        model.predict({**bad, name: tf.constant(bad[name])}, verbose=0)


def test_nan_audio_no_longer_looks_like_silence(model_and_data):
    """The reason for the check: the graph maps a NaN waveform to the output of an all-zero one."""
    model, x = model_and_data
    nan, zero = _spoiled(x, "audio", 3, np.nan), _spoiled(x, "audio", 3, 0.0)
    np.testing.assert_allclose(
        keras.Model.predict(model, nan, verbose=0)[3], keras.Model.predict(model, zero, verbose=0)[3], atol=1e-6
    )
    with pytest.raises(ValueError, match="Audio input 'audio' has NaN at example 3"):
        model.predict(nan, verbose=0)


def test_good_inputs_give_the_same_numbers(model_and_data):
    model, x = model_and_data
    expected = keras.Model.predict(model, x, verbose=0)  # Keras's own path, none of mmzoo's checks
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-6)
    as_bytes = {**x, "text": np.array([s.encode("utf-8") for s in x["text"]])}
    np.testing.assert_allclose(model.predict(as_bytes, verbose=0), expected, atol=1e-6)


@pytest.mark.parametrize("make", [lambda t: np.array(t), lambda t: np.array(t, dtype=object)], ids=["S", "object"])
def test_text_bytes_that_are_not_utf8(model_and_data, make):
    model, x = model_and_data
    texts = [s.encode("utf-8") for s in x["text"]]
    texts[2] = "café".encode("latin-1")
    with pytest.raises(
        ValueError,
        match=r"Text input 'text' expects UTF-8 text; example 2 has the byte 0xe9 at "
        r"byte offset 3",
    ):
        model.predict({**x, "text": make(texts)}, verbose=0)


def test_text_with_undecodable_characters(model_and_data):
    model, x = model_and_data
    texts = x["text"].copy()
    texts[4] = b"caf\xe9".decode("utf-8", "surrogateescape")  # how Python keeps bytes it could not decode
    with pytest.raises(ValueError, match=r"Text input 'text' expects UTF-8 text; example 4 has an undecodable"):
        model.predict({**x, "text": texts}, verbose=0)


def test_different_batch_sizes_name_inputs_and_sizes(model_and_data):
    model, x = model_and_data
    bad = {**x, "audio": x["audio"][:5]}
    message = (
        r"Model 'early_fusion' received inputs with different batch sizes \('audio': 5, 'features': 8, "
        r"'image': 8, 'text': 8\)"
    )
    with pytest.raises(ValueError, match=message):
        model.predict(bad, verbose=0)
    with pytest.raises(ValueError, match=message):
        model(bad)
    with pytest.raises(ValueError, match=message):
        model.fit(bad, np.zeros(8, "int64"), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.evaluate(bad, np.zeros(8, "int64"), verbose=0)


# --- WAV files whose header the checker and tf.audio.decode_wav could read differently -----------------
def _fmt(rate, channels):
    body = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    return b"fmt " + struct.pack("<I", len(body)) + body


def _wav(*chunks):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _data(frames=1000):
    samples = (1000 * np.sin(np.arange(frames))).astype("<i2").tobytes()
    return b"data" + struct.pack("<I", len(samples)) + samples


WAVS = {
    "two fmt chunks": (lambda: _wav(_fmt(4000, 1), _fmt(8000, 2), _data()), r"it has 2 fmt chunks"),
    "fmt after data": (lambda: _wav(_fmt(4000, 1), _data(), _fmt(8000, 2)), r"it has 2 fmt chunks"),
    "chunk before fmt": (
        lambda: _wav(b"LIST\x04\x00\x00\x00abcd", _fmt(4000, 1), _data()),
        r"its first chunk is 'LIST', not 'fmt '",
    ),
    "odd chunk": (
        lambda: _wav(_fmt(4000, 1), b"LIST\x03\x00\x00\x00abc\x00", _data()),
        r"its 'LIST' chunk at byte 36 has an odd size \(3\)",
    ),
    "two data chunks": (lambda: _wav(_fmt(4000, 1), _data(), _data()), r"it has 2 data chunks"),
}


def test_tf_reads_the_first_fmt_chunk_the_old_checker_read_the_last(tmp_path):
    """Why two fmt chunks are refused: the decoder and a naive checker see different audio."""
    contents = WAVS["two fmt chunks"][0]()
    _, rate = tf.audio.decode_wav(contents)
    assert int(rate) == 4000  # the checker used to report 8000 Hz stereo for this file


@pytest.mark.parametrize("case", list(WAVS))
def test_ambiguous_wav_headers_are_refused(tmp_path, case):
    make, reason = WAVS[case]
    path = tmp_path / "voice.wav"
    path.write_bytes(make())
    with pytest.raises(ValueError, match=reason):
        read_wav_header(str(path))
    spec = mmzoo.Audio("voice", sample_rate=4000, seconds=0.25)
    with pytest.raises(
        ValueError, match=f"Audio input 'voice': the WAV cannot be read: {reason}.*{re.escape(str(path))}"
    ):
        from_dataframe(pd.DataFrame({"voice": [str(path)]}), [spec])


def test_well_formed_wavs_still_read_alike(tmp_path):
    path = tmp_path / "ok.wav"
    path.write_bytes(_wav(_fmt(4000, 1), _data(), b"LIST\x04\x00\x00\x00abcd"))
    header = read_wav_header(str(path))
    audio, rate = tf.audio.decode_wav(path.read_bytes())
    assert (header.sample_rate, header.channels, header.num_frames) == (int(rate), audio.shape[1], audio.shape[0])
    spec = mmzoo.Audio("voice", sample_rate=4000, seconds=0.25)
    x = next(iter(from_dataframe(pd.DataFrame({"voice": [str(path)]}), [spec])))
    np.testing.assert_allclose(x["voice"].numpy()[0], audio.numpy()[:, 0], atol=0)


# --- CSV manifests and the command line --------------------------------------------------------------------
def test_csv_that_is_not_utf8_is_named_with_offset(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes("text,y\na good film,1\nun café,0\n".encode("latin-1"))
    spec = mmzoo.Text("text")
    with pytest.raises(
        ValueError,
        match=rf"Manifest CSV '{re.escape(str(path))}' is not UTF-8 text at byte offset 27 \(line 3: "
        r"byte 0xe9",
    ):
        from_csv(str(path), [spec], label="y")
    path.write_bytes("text,y\na good film,1\nun café,0\n".encode("utf-8"))
    x, y = next(iter(from_csv(str(path), [spec], label="y")))
    assert [t.decode() for t in x["text"].numpy()] == ["a good film", "un café"] and y.numpy().tolist() == [1, 0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_values")
    specs, x, _ = small_inputs(("text", "audio", "features"))
    keras.utils.set_random_seed(0)
    model = mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(2),
        encoders={"text": ("bilstm", {"units": 4}), "audio": ("cnn", {"filters": (4,), "units": 4})},
    )
    model.save(folder / "model.keras")
    tf.io.write_file(str(folder / "good.wav"), tf.audio.encode_wav(x["audio"][0][:, None], 4000))
    (folder / "two_fmt.wav").write_bytes(WAVS["two fmt chunks"][0]())
    return folder


def _cli(folder, text="a good film", audio="good.wav", features="1,2,3,4,5"):
    return main(
        [
            "predict",
            "--model",
            str(folder / "model.keras"),
            "--text",
            text,
            "--audio",
            str(folder / audio),
            "--features",
            features,
        ]
    )


def test_cli_refuses_bad_values_naming_the_input(saved, capsys):
    assert _cli(saved) == 0 and "probabilities" in capsys.readouterr().out
    with pytest.raises(
        SystemExit,
        match=rf"Audio input 'audio': {re.escape(str(saved / 'two_fmt.wav'))} is a corrupt file: it "
        r"has 2 fmt chunks",
    ):
        _cli(saved, audio="two_fmt.wav")
    with pytest.raises(SystemExit, match=r"Text input 'text' expects UTF-8 text; the value has the byte 0xe9"):
        _cli(saved, text=b"caf\xe9".decode("utf-8", "surrogateescape"))
    with pytest.raises(SystemExit, match=r"Input 'features' expects finite numbers; value 2 is nan"):
        _cli(saved, features="1,2,nan,4,5")
