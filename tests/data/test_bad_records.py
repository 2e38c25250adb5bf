"""Bad records in CSV manifests: each kind is named (file + modality) and `on_error="skip"` drops
exactly the bad rows, counts them per reason, and yields every good row once.

tests/data/test_manifest.py covers the DataFrame path (truncated PNG, stereo/16 kHz/zero-byte/
garbage/cut WAVs, missing PNG, empty text); this file covers JPEG, zero-byte and non-image images,
missing WAVs, 3-channel and 0-frame WAVs, CSV-specific empty cells, and one manifest mixing one
row of every bad kind with good rows.
"""

import re
import struct
import warnings

import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.data import from_csv

IMG = mmzoo.Image("img", shape=(8, 8, 3))
VOICE = mmzoo.Audio("voice", sample_rate=8000, seconds=0.1)  # 800 samples
TEXT = mmzoo.Text("caption")
FEATS = mmzoo.Features("feats", shape=(1,))


def write_wav(path, samples, rate=8000):
    samples = np.asarray(samples, "float32")
    tf.io.write_file(str(path), tf.audio.encode_wav(samples[:, None] if samples.ndim == 1 else samples, rate))


def good_pixels(i):
    """A distinct, JPEG-stable image per row (a flat colour)."""
    return np.full((8, 8, 3), 15 * i + 5, np.uint8)


def good_clip(i):
    """A distinct waveform per row: exactly representable in int16."""
    return np.full(800, (i + 1) * 256 / 32768, np.float32)


@pytest.fixture
def media(tmp_path):
    """Bad files of each kind in tmp_path/media, keyed by kind."""
    d = tmp_path / "media"
    d.mkdir()
    rng = np.random.default_rng(0)
    jpeg = tf.io.encode_jpeg(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), quality=90).numpy()
    png = tf.io.encode_png(good_pixels(0)).numpy()
    files = {
        "truncated_jpeg": ("truncated.jpg", jpeg[: len(jpeg) // 2]),
        "jpeg_without_end": ("no_end.jpg", jpeg[:-2]),  # only the EOI marker is gone
        "truncated_png": ("truncated.png", png[: len(png) // 2]),
        "zero_image": ("zero.jpg", b""),
        "text_as_image": ("notes.png", b"these are notes, not pixels"),
        "zero_wav": ("zero.wav", b""),
        "garbage_wav": ("garbage.wav", rng.integers(0, 256, 400, dtype=np.uint8).tobytes()),
    }
    paths = {}
    for kind, (name, data) in files.items():
        (d / name).write_bytes(data)
        paths[kind] = f"media/{name}"
    write_wav(d / "rate.wav", good_clip(0), rate=11_025)
    write_wav(d / "three.wav", np.stack([good_clip(0)] * 3, 1))
    write_wav(d / "stereo.wav", np.stack([good_clip(0)] * 2, 1))
    write_wav(d / "mono.wav", good_clip(0))
    header = (d / "mono.wav").read_bytes()[:36]  # RIFF + fmt chunk of a valid mono file
    (d / "no_frames.wav").write_bytes(header + b"data" + struct.pack("<I", 0))
    paths.update(
        wrong_rate="media/rate.wav",
        three_channels="media/three.wav",
        stereo="media/stereo.wav",
        no_frames="media/no_frames.wav",
        missing_image="media/gone.jpg",
        missing_wav="media/gone.wav",
    )
    return paths


def write_csv(path, rows, columns=("caption", "img", "voice", "feats", "y")):
    lines = [",".join(columns)] + [",".join(f'"{v}"' if "," in str(v) else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# --- by default, the error names the file and the modality --------------------------------------
CASES = [  # (kind, column, exception, message pattern)
    ("truncated_jpeg", "img", ValueError, r"Image input 'img': the image file cannot be decoded: .*JPEG"),
    ("jpeg_without_end", "img", ValueError, r"Image input 'img': the image file cannot be decoded"),
    ("zero_image", "img", ValueError, r"Image input 'img': the image file cannot be decoded: Input is empty"),
    ("text_as_image", "img", ValueError, r"Image input 'img': .*Unknown image file format"),
    ("missing_image", "img", FileNotFoundError, r"Image input 'img': the file does not exist"),
    ("missing_wav", "voice", FileNotFoundError, r"Audio input 'voice': the file does not exist"),
    ("three_channels", "voice", ValueError, r"Audio input 'voice': expects mono audio; the file has 3 channels"),
    ("wrong_rate", "voice", ValueError, r"Audio input 'voice': expects 8000 Hz audio; the file is 11025 Hz"),
    ("no_frames", "voice", ValueError, r"Audio input 'voice': it holds no audio samples"),
]


@pytest.mark.parametrize("kind,column,exc,pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_file_in_a_csv_names_file_modality_and_row(tmp_path, media, kind, column, exc, pattern):
    media_dir = tmp_path / "media"
    tf.io.write_file(str(media_dir / "ok.png"), tf.io.encode_png(good_pixels(1)))
    write_wav(media_dir / "ok.wav", good_clip(1))
    good = "media/ok.png" if column == "img" else "media/ok.wav"
    csv = write_csv(tmp_path / "m.csv", [(good,), (media[kind],)], columns=(column,))
    spec = IMG if column == "img" else VOICE
    with pytest.raises(exc) as info:
        from_csv(csv, [spec])
    message = str(info.value)
    assert re.search(pattern, message, re.S), message
    assert f"file '{tmp_path / media[kind]}'" in message
    assert f"row 1 of '{csv}', column '{column}'" in message
    assert "on_error='skip'" in message


def test_blank_text_cells_in_a_csv_name_the_row_and_column(tmp_path):
    csv = write_csv(tmp_path / "m.csv", [("fine", 0), ("   ", 1), ("", 2)], columns=("caption", "y"))
    with pytest.raises(ValueError) as info:
        from_csv(csv, [TEXT], label="y")
    message = str(info.value)
    assert f"Text input 'caption': the text is empty (row 1 of '{csv}', column 'caption')" in message
    assert f"Text input 'caption': the text is missing (NaN) (row 2 of '{csv}'" in message


# --- on_error="skip": exact counts, exactly the good rows --------------------------------------
def test_skip_drops_one_row_of_each_bad_kind_and_keeps_every_good_row(tmp_path, media):
    media_dir = tmp_path / "media"
    good_ids = [0, 3, 5, 9, 12, 14]
    for i in good_ids:
        tf.io.write_file(str(media_dir / f"img{i}.jpg"), tf.io.encode_jpeg(good_pixels(i), quality=95))
        write_wav(media_dir / f"clip{i}.wav", good_clip(i))
    bad_rows = {  # row id -> (caption, image, audio): one problem each, except row 15
        1: ("bad", media["truncated_jpeg"], None),
        2: ("bad", media["truncated_png"], None),
        4: ("bad", media["missing_image"], None),
        6: ("bad", None, media["zero_wav"]),
        7: ("bad", None, media["garbage_wav"]),
        8: ("bad", None, media["wrong_rate"]),
        10: ("bad", None, media["stereo"]),
        11: ("bad", None, media["missing_wav"]),
        13: ("   ", None, None),
        15: ("", media["missing_image"], None),  # two problems, one skipped row
    }
    rows = []
    for i in range(16):
        caption, image, audio = bad_rows.get(i, (f"good {i}", None, None))
        image = image or f"media/img{good_ids[0] if i in bad_rows else i}.jpg"
        audio = audio or f"media/clip{good_ids[0] if i in bad_rows else i}.wav"
        rows.append((caption, image, audio, f"[{100 + i}]", i))
    csv = write_csv(tmp_path / "mixed.csv", rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds, report = from_csv(
            csv, [TEXT, IMG, VOICE, FEATS], label="y", on_error="skip", batch_size=4, with_report=True
        )
    summary = [str(w.message) for w in caught if "rows kept" in str(w.message)]
    assert len(summary) == 1 and summary[0].startswith(f"'{csv}': 6 of 16 rows kept, 10 skipped")
    assert report.num_rows == 16 and report.num_examples == 6 and report.num_skipped == 10
    assert report.skipped_rows == sorted(bad_rows)
    assert report.reasons() == {
        "corrupt file": 4,
        "empty text": 2,
        "missing file": 3,
        "wrong channels": 1,
        "wrong sample rate": 1,
    }
    named = {p.row: (p.modality, p.path) for p in report.problems if p.path}
    assert named[1] == ("image", str(tmp_path / media["truncated_jpeg"]))
    assert named[7] == ("audio", str(tmp_path / media["garbage_wav"]))

    for _ in range(2):  # every good row, exactly once per epoch, with its own content
        seen = {}
        for x, y in ds:
            for j, label in enumerate(y.numpy().tolist()):
                assert label not in seen
                seen[label] = {name: value[j].numpy() for name, value in x.items()}
        assert sorted(seen) == good_ids
        for i, row in seen.items():
            assert row["caption"].decode() == f"good {i}"
            assert row["feats"].tolist() == [100 + i]
            jpeg = tf.io.decode_jpeg(tf.io.encode_jpeg(good_pixels(i), quality=95)).numpy()
            np.testing.assert_array_equal(row["img"], jpeg)
            np.testing.assert_array_equal(row["voice"], good_clip(i))


def test_skip_counts_are_exact_when_one_bad_file_is_shared_by_several_rows(tmp_path, media):
    media_dir = tmp_path / "media"
    write_wav(media_dir / "ok.wav", good_clip(2))
    voices = [
        "media/ok.wav",
        media["garbage_wav"],
        "media/ok.wav",
        media["garbage_wav"],
        media["three_channels"],
        "media/ok.wav",
    ]
    csv = write_csv(tmp_path / "m.csv", [(v, i) for i, v in enumerate(voices)], columns=("voice", "y"))
    with pytest.warns(UserWarning, match=r"3 of 6 rows kept, 3 skipped \(corrupt file: 2, wrong channels: 1\)"):
        ds, report = from_csv(csv, [VOICE], label="y", on_error="skip", with_report=True)
    assert report.skipped_rows == [1, 3, 4]
    labels = np.concatenate([y.numpy() for _, y in ds]).tolist()
    assert labels == [0, 2, 5]
