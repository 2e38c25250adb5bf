"""Tests for mmzoo.data.from_dataframe / from_csv on files written in tmp_path."""

import glob
import os
import re
import struct
import warnings
import wave

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.data import decode, from_csv, from_dataframe

RNG = np.random.default_rng(0)


# --- file helpers -------------------------------------------------------------
def write_png(path, pixels):
    tf.io.write_file(str(path), tf.io.encode_png(pixels))
    return str(path)


def write_jpeg(path, pixels):
    tf.io.write_file(str(path), tf.io.encode_jpeg(pixels, quality=95))
    return str(path)


def write_wav(path, samples, rate=8000):
    """Writes float samples (n,) or (n, channels); returns them as float32 (n, channels)."""
    samples = np.asarray(samples, "float32")
    samples = samples[:, None] if samples.ndim == 1 else samples
    tf.io.write_file(str(path), tf.audio.encode_wav(samples, rate))
    return str(path)


def write_raw_wav(path, fmt_tag=1, fmt_extra=b"", frames=100):
    """A mono 16-bit 8 kHz WAV written by hand, with a chosen format tag and fmt chunk size."""
    fmt = struct.pack("<HHIIHH", fmt_tag, 1, 8000, 16000, 2, 16) + fmt_extra
    data = np.zeros(frames, "<i2").tobytes()
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def int16_clip(n, seed=0):
    """Float samples that are exactly int16 / 32768, so a WAV round trip is exact."""
    ints = np.random.default_rng(seed).integers(-32768, 32767, n)
    return (ints / 32768).astype("float32")


def read_wave_module(path):
    with wave.open(path) as w:
        frames = w.readframes(w.getnframes())
    return np.frombuffer(frames, "<i2").astype("float32") / 32768


def collect(ds):
    """Concatenates a batched dataset into NumPy arrays: ({name: array}, labels)."""
    xs, ys = {}, []
    for x, y in ds:
        for name, value in x.items():
            xs.setdefault(name, []).append(value.numpy())
        ys.append(y.numpy())
    return {k: np.concatenate(v) for k, v in xs.items()}, np.concatenate(ys)


@pytest.fixture
def files(tmp_path):
    """Good and bad files of each kind, keyed by a short name."""
    f = {
        "pixels": [RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8) for _ in range(3)],
        "clips": [int16_clip(800, seed=i) for i in range(3)],
    }
    f["png"] = [write_png(tmp_path / f"img{i}.png", p) for i, p in enumerate(f["pixels"])]
    f["wav"] = [write_wav(tmp_path / f"clip{i}.wav", c) for i, c in enumerate(f["clips"])]
    png = tf.io.encode_png(f["pixels"][0]).numpy()
    (tmp_path / "truncated.png").write_bytes(png[: len(png) // 2])
    (tmp_path / "zero.wav").write_bytes(b"")
    (tmp_path / "garbage.wav").write_bytes(RNG.integers(0, 256, 300, dtype=np.uint8).tobytes())
    wav = tf.audio.encode_wav(f["clips"][0][:, None], 8000).numpy()
    (tmp_path / "cut.wav").write_bytes(wav[:-100])  # header declares more data than is left
    write_wav(tmp_path / "stereo.wav", np.stack([f["clips"][0], f["clips"][1]], 1))
    write_wav(tmp_path / "rate16k.wav", int16_clip(1600), rate=16_000)
    write_png(tmp_path / "big.png", RNG.integers(0, 256, (9, 7, 3), dtype=np.uint8))
    write_raw_wav(tmp_path / "extensible.wav", fmt_tag=0xFFFE)
    write_raw_wav(tmp_path / "odd_fmt.wav", fmt_extra=b"\x00" * 4)  # TF refuses a 20-byte PCM fmt
    f["dir"] = str(tmp_path)
    return f


IMG = mmzoo.Image("img", shape=(6, 5, 3))
VOICE = mmzoo.Audio("voice", sample_rate=8000, seconds=0.1)  # 800 samples


# --- values round-trip ------------------------------------------------------------
def test_png_wav_text_features_round_trip_exactly(files):
    feats = RNG.normal(size=(3, 4)).astype("float32")
    df = pd.DataFrame(
        {
            "caption": ["one", "two", "three"],
            "img": files["png"],
            "voice": files["wav"],
            "feats": list(feats),
            "y": [2, 0, 1],
        }
    )
    inputs = [mmzoo.Text("caption"), IMG, VOICE, mmzoo.Features("feats", shape=(4,))]
    ds = from_dataframe(df, inputs, label="y", batch_size=2)
    assert ds.element_spec[0]["img"].dtype == tf.uint8
    assert ds.element_spec[0]["voice"].shape.as_list() == [None, 800]
    x, y = collect(ds)
    np.testing.assert_array_equal(x["img"], np.stack(files["pixels"]))
    np.testing.assert_array_equal(x["voice"], np.stack(files["clips"]))
    np.testing.assert_array_equal(x["voice"][0], read_wave_module(files["wav"][0]))
    np.testing.assert_array_equal(x["feats"], feats)
    assert [s.decode() for s in x["caption"]] == ["one", "two", "three"]
    assert y.tolist() == [2, 0, 1] and y.dtype == np.int64


def test_no_label_yields_feature_dicts(files):
    ds = from_dataframe(pd.DataFrame({"img": files["png"]}), [IMG], batch_size=3)
    batch = next(iter(ds))
    assert isinstance(batch, dict) and batch["img"].shape == (3, 6, 5, 3)


def test_float_images_grey_channels_and_jpeg(files, tmp_path):
    jpg = write_jpeg(tmp_path / "a.jpg", files["pixels"][0])
    df = pd.DataFrame({"rgb": [files["png"][0], jpg], "grey": [files["png"][1]] * 2, "y": [0, 1]})
    inputs = [mmzoo.Image("rgb", shape=(6, 5, 3), dtype="float32"), mmzoo.Image("grey", shape=(6, 5, 1))]
    x, _ = collect(from_dataframe(df, inputs, label="y"))
    assert x["rgb"].dtype == np.float32 and x["grey"].shape == (2, 6, 5, 1)
    np.testing.assert_allclose(x["rgb"][0], files["pixels"][0] / 255, atol=1e-6)
    jpeg_pixels = tf.io.decode_jpeg(tf.io.read_file(jpg)).numpy()  # JPEG is lossy: compare decodes
    np.testing.assert_allclose(x["rgb"][1], jpeg_pixels / 255, atol=1e-6)
    grey = tf.image.rgb_to_grayscale(files["pixels"][1]).numpy()
    assert np.abs(x["grey"][0].astype(int) - grey.astype(int)).max() <= 1


# --- audio length -------------------------------------------------------------------
def test_short_audio_is_padded_and_long_audio_cropped_with_warning(tmp_path):
    short, long_ = int16_clip(500, seed=1), int16_clip(1234, seed=2)
    df = pd.DataFrame(
        {"voice": [write_wav(tmp_path / "short.wav", short), write_wav(tmp_path / "long.wav", long_)], "y": [0, 1]}
    )
    with pytest.warns(UserWarning, match=r"1 of 2 clips are longer.*cropped.*long\.wav"):
        ds, report = from_dataframe(df, [VOICE], label="y", with_report=True)
    x, _ = collect(ds)
    assert x["voice"].shape == (2, 800)
    np.testing.assert_array_equal(x["voice"][0, :500], short)
    assert not x["voice"][0, 500:].any()
    np.testing.assert_array_equal(x["voice"][1], long_[:800])
    assert report.cropped == {"voice": 1} and report.padded == {"voice": 1}


def test_long_audio_error_names_the_file(tmp_path):
    path = write_wav(tmp_path / "long.wav", int16_clip(900))
    with pytest.raises(ValueError, match=r"Audio input 'voice'.*900 samples.*long\.wav.*row 0"):
        from_dataframe(pd.DataFrame({"voice": [path]}), [VOICE], long_audio="error")


# --- CSV ---------------------------------------------------------------------------------
def test_csv_relative_paths_resolve_against_the_csv(files, tmp_path, monkeypatch):
    sub = tmp_path / "manifest"
    (sub / "media").mkdir(parents=True)
    write_png(sub / "media" / "a.png", files["pixels"][0])
    write_wav(sub / "media" / "a.wav", files["clips"][0])
    (sub / "train.csv").write_text(
        "caption,img,voice,feats,y\n"
        'NA,media/a.png,media/a.wav,"[1.5, 2.5]",3\n'
        '"a, b",media/a.png,media/a.wav,"[0, -1]",4\n'
    )
    monkeypatch.chdir(tmp_path)  # not the CSV's directory
    inputs = [mmzoo.Text("caption"), IMG, VOICE, mmzoo.Features("feats", shape=(2,))]
    x, y = collect(from_csv(str(sub / "train.csv"), inputs, label="y"))
    np.testing.assert_array_equal(x["img"][1], files["pixels"][0])
    np.testing.assert_array_equal(x["voice"][0], files["clips"][0])
    np.testing.assert_array_equal(x["feats"], [[1.5, 2.5], [0, -1]])
    assert [s.decode() for s in x["caption"]] == ["NA", "a, b"]  # "NA" is text, not missing
    assert y.tolist() == [3, 4]
    with pytest.raises(FileNotFoundError, match=r"elsewhere.*media.*a\.png"):
        from_csv(str(sub / "train.csv"), inputs, base_dir=str(tmp_path / "elsewhere"))


def test_csv_columns_mapping_and_missing_csv(files, tmp_path):
    (tmp_path / "m.csv").write_text(f"picture\n{files['png'][2]}\n")
    x = next(iter(from_csv(str(tmp_path / "m.csv"), [IMG], columns={"img": "picture"})))
    np.testing.assert_array_equal(x["img"][0], files["pixels"][2])
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        from_csv(str(tmp_path / "nope.csv"), [IMG])


# --- errors -----------------------------------------------------------------------------
def test_empty_dataframe_and_missing_column(files):
    with pytest.raises(ValueError, match="has no rows"):
        from_dataframe(pd.DataFrame({"img": []}), [IMG])
    with pytest.raises(ValueError, match=r"Image input 'img'.*column 'img'.*columns are: a, b"):
        from_dataframe(pd.DataFrame({"a": [1], "b": [2]}), [IMG])
    with pytest.raises(ValueError, match=r"Label column 'y'.*columns are: img"):
        from_dataframe(pd.DataFrame({"img": files["png"]}), [IMG], label="y")


BAD_FILES = [  # (column, file, spec, exception, message pattern)
    ("img", "missing.png", IMG, FileNotFoundError, r"Image input 'img': the file does not exist"),
    ("img", "truncated.png", IMG, ValueError, r"Image input 'img'.*cannot be decoded.*PNG"),
    ("img", "big.png", IMG, ValueError, r"Image input 'img'.*6x5.*9x7.*resize_images=True"),
    ("voice", "stereo.wav", VOICE, ValueError, r"Audio input 'voice'.*mono.*2 channels"),
    ("voice", "rate16k.wav", VOICE, ValueError, r"Audio input 'voice'.*8000 Hz.*16000 Hz.*resample=True"),
    ("voice", "zero.wav", VOICE, ValueError, r"Audio input 'voice'.*empty \(0 bytes\)"),
    ("voice", "garbage.wav", VOICE, ValueError, r"Audio input 'voice'.*not a WAV"),
    ("voice", "cut.wav", VOICE, ValueError, r"Audio input 'voice'.*truncated"),
    ("voice", "extensible.wav", VOICE, ValueError, r"Audio input 'voice'.*EXTENSIBLE.*16-bit PCM"),
    (
        "voice",
        "odd_fmt.wav",
        VOICE,
        ValueError,
        r"Audio input 'voice'.*the WAV cannot be read: its PCM fmt chunk is 20 bytes; tf.audio.decode_wav reads 16- or "
        r"18-byte ones",
    ),
]


@pytest.mark.parametrize("column,name,spec,exc,pattern", BAD_FILES, ids=[b[1] for b in BAD_FILES])
def test_bad_file_errors_name_input_file_and_row(files, column, name, spec, exc, pattern):
    good = files["png"][0] if column == "img" else files["wav"][0]
    df = pd.DataFrame({column: [good, os.path.join(files["dir"], name)]}, index=[10, 11])
    with pytest.raises(exc) as info:
        from_dataframe(df, [spec])
    message = str(info.value)
    assert re.search(pattern, message, re.S), message
    assert os.path.join(files["dir"], name) in message
    assert "row 11" in message and "on_error='skip'" in message


@pytest.mark.parametrize("value,what", [("", "empty"), ("   ", "empty"), (None, "missing")])
def test_empty_text_errors_name_row_and_column(value, what):
    df = pd.DataFrame({"words": ["fine", value]}, index=["a", "b"])
    pattern = rf"Text input 'caption': the text is {what}.*row 'b'.*column 'words'"
    with pytest.raises(ValueError, match=pattern):
        from_dataframe(df, [mmzoo.Text("caption")], columns={"caption": "words"})


def test_raise_lists_every_bad_row(files):
    df = pd.DataFrame({"img": ["no1.png", files["png"][0], "no2.png"]})
    with pytest.raises(FileNotFoundError) as info:
        from_dataframe(df, [IMG], base_dir=files["dir"])
    assert "no1.png" in str(info.value) and "no2.png" in str(info.value)
    assert "1 more bad record" in str(info.value)


# --- on_error="skip" ----------------------------------------------------------------------
def test_skip_drops_exactly_the_bad_rows_and_reports_why(files):
    d = files["dir"]
    rows = [  # (caption, img, voice, label); None label = missing
        ("ok0", files["png"][0], files["wav"][0], 0.0),
        ("bad", "missing.png", files["wav"][1], 1.0),
        ("ok2", files["png"][1], files["wav"][1], 2.0),
        ("bad", f"{d}/truncated.png", files["wav"][0], 3.0),
        ("", files["png"][2], files["wav"][2], 4.0),
        ("ok5", files["png"][2], files["wav"][2], 5.0),
        ("bad", files["png"][0], f"{d}/zero.wav", 6.0),
        ("bad", files["png"][0], f"{d}/garbage.wav", 7.0),
        ("bad", files["png"][0], f"{d}/stereo.wav", 8.0),
        ("bad", files["png"][0], f"{d}/rate16k.wav", 9.0),
        ("ok10", files["png"][0], files["wav"][0], 10.0),
        ("bad", files["png"][1], f"{d}/cut.wav", 11.0),
        ("ok12", files["png"][1], files["wav"][1], None),
        ("bad", f"{d}/big.png", files["wav"][2], 13.0),
        ("ok14", files["png"][2], files["wav"][2], 14.0),
        ("bad", files["png"][2], f"{d}/odd_fmt.wav", 15.0),
    ]
    df = pd.DataFrame(rows, columns=["caption", "img", "voice", "y"])
    inputs = [mmzoo.Text("caption"), IMG, VOICE]
    with pytest.warns(UserWarning, match=r"5 of 16 rows kept, 11 skipped"):
        ds, report = from_dataframe(df, inputs, label="y", on_error="skip", batch_size=4, with_report=True, base_dir=d)
    assert report.num_skipped == 11 and report.num_examples == 5
    assert report.skipped_rows == [1, 3, 4, 6, 7, 8, 9, 11, 12, 13, 15]
    assert report.reasons() == {
        "corrupt file": 5,
        "empty text": 1,
        "missing file": 1,
        "missing label": 1,
        "wrong channels": 1,
        "wrong image size": 1,
        "wrong sample rate": 1,
    }
    x, y = collect(ds)
    assert sorted(y.tolist()) == [0, 2, 5, 10, 14]
    assert [s.decode() for s in x["caption"]] == ["ok0", "ok2", "ok5", "ok10", "ok14"]
    np.testing.assert_array_equal(x["voice"][1], files["clips"][1])


def test_probe_goes_on_after_a_failing_file_and_keeps_positions(files):
    d = files["dir"]
    paths = [files["png"][0], f"{d}/truncated.png", files["png"][1], f"{d}/zero.wav", files["png"][2]]
    decode_fn = lambda b: tf.shape(decode.decode_image(b, IMG))  # noqa: E731
    results = decode.probe(paths, decode_fn, num_parallel_calls=4)
    assert [error is None for _, error in results] == [True, False, True, False, True]
    assert results[2][0].tolist() == [6, 5, 3] and "Invalid PNG data" in results[1][1]
    assert "{{" not in results[1][1] and "Iterator" not in results[1][1]  # cleaned message


def test_skip_every_row_bad_raises():
    df = pd.DataFrame({"caption": ["", None]})
    with pytest.raises(ValueError, match=r"Every row.*2 rows"):
        from_dataframe(df, [mmzoo.Text("caption")], on_error="skip")


def test_options_are_checked():
    df = pd.DataFrame({"caption": ["x"]})
    with pytest.raises(ValueError, match="on_error"):
        from_dataframe(df, [mmzoo.Text("caption")], on_error="ignore")
    with pytest.raises(ValueError, match="long_audio"):
        from_dataframe(df, [mmzoo.Text("caption")], long_audio="trim")
    with pytest.raises(ValueError, match="non-numeric"):
        from_dataframe(df.assign(y=["cat"]), [mmzoo.Text("caption")], label="y")


# --- resampling, resizing, shuffling --------------------------------------------------------
@pytest.mark.parametrize(
    "rate_in,rate_out,hz,seconds",
    [
        (16_000, 8000, 440, 1.0),
        (8000, 16_000, 1000, 1.0),
        (11_025, 16_000, 777, 1.0),
        (22_050, 8000, 1234, 3.0),  # longer than the spec: cropped before resampling
    ],
)
def test_resample_keeps_a_sines_frequency_and_phase(tmp_path, rate_in, rate_out, hz, seconds):
    t = np.arange(int(rate_in * seconds)) / rate_in
    path = write_wav(tmp_path / "sine.wav", 0.5 * np.sin(2 * np.pi * hz * t), rate=rate_in)
    spec = mmzoo.Audio("voice", sample_rate=rate_out, seconds=1.0)  # 1 s: FFT bin k is k Hz
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds, report = from_dataframe(pd.DataFrame({"voice": [path]}), [spec], resample=True, with_report=True)
    assert sum("cropped" in str(w.message) for w in caught) == (seconds > 1)
    out = next(iter(ds))["voice"][0].numpy()
    spectrum = np.abs(np.fft.rfft(out))
    assert out.shape == (rate_out,) and int(np.argmax(spectrum)) == hz
    assert spectrum[hz] > 0.95 * 0.5 * rate_out / 2  # amplitude kept
    want = 0.5 * np.sin(2 * np.pi * hz * np.arange(rate_out) / rate_out)
    np.testing.assert_allclose(out[200:-200], want[200:-200], atol=2e-3)  # on time, no drift
    assert report.resampled == {"voice": 1}


def test_resize_images_keeps_dtype_and_leaves_right_sizes_alone(files):
    df = pd.DataFrame({"img": [os.path.join(files["dir"], "big.png"), files["png"][0]]})
    for dtype in ("uint8", "float32"):
        spec = mmzoo.Image("img", shape=(6, 5, 3), dtype=dtype)
        ds, report = from_dataframe(df, [spec], resize_images=True, with_report=True)
        x = next(iter(ds))["img"].numpy()
        assert x.shape == (2, 6, 5, 3) and x.dtype == dtype
        scale = 1 if dtype == "uint8" else 255
        np.testing.assert_allclose(x[1] * scale, files["pixels"][0], atol=1e-4)
        assert report.resized == {"img": 1}


def test_shuffle_with_seed_is_reproducible_and_sees_every_row_once(files):
    df = pd.DataFrame({"img": files["png"] * 10, "y": np.arange(30)})
    orders = []
    for _ in range(2):
        ds = from_dataframe(df, [IMG], label="y", shuffle=True, seed=7, batch_size=8)
        orders.append([collect(ds)[1].tolist() for _ in range(2)])  # two epochs
    assert orders[0] == orders[1]
    epoch1, epoch2 = orders[0]
    assert sorted(epoch1) == sorted(epoch2) == list(range(30))
    assert epoch1 != list(range(30)) and epoch1 != epoch2


def test_cache_and_drop_remainder(files):
    df = pd.DataFrame({"img": files["png"] * 3, "y": np.arange(9)})
    ds = from_dataframe(df, [IMG], label="y", cache=True, shuffle=True, seed=1, batch_size=4, drop_remainder=True)
    sizes = [int(y.shape[0]) for _, y in ds]
    assert sizes == [4, 4]


# --- real data --------------------------------------------------------------------------------
DATA = os.environ.get("MMZOO_DATA")


@pytest.mark.slow
@pytest.mark.skipif(
    not DATA or not os.path.isdir(os.path.join(DATA, "fsdd", "recordings")),
    reason="set MMZOO_DATA to the data folder holding fsdd/recordings/*.wav",
)
def test_fsdd_recordings_decode_like_the_wave_module():
    paths = sorted(glob.glob(os.path.join(DATA, "fsdd", "recordings", "*.wav")))[:20]
    df = pd.DataFrame({"voice": paths, "y": [int(os.path.basename(p)[0]) for p in paths]})
    spec = mmzoo.Audio("voice", sample_rate=8000, seconds=1.0)
    ds, report = from_dataframe(df, [spec], label="y", batch_size=8, with_report=True)
    x, y = collect(ds)
    assert x["voice"].shape == (20, 8000) and x["voice"].dtype == np.float32
    assert y.tolist() == df["y"].tolist()
    lengths = []
    for row, path in enumerate(paths):
        samples = read_wave_module(path)
        lengths.append(len(samples))
        want = samples[:8000]
        np.testing.assert_array_equal(x["voice"][row, : len(want)], want)
        assert not x["voice"][row, len(want) :].any()
    assert report.padded["voice"] == sum(n < 8000 for n in lengths)
    assert report.cropped["voice"] == sum(n > 8000 for n in lengths)
