"""Tests of the AV-MNIST sample shipped in mmzoo/datasets/_data and its loaders."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmzoo.datasets import Splits, load_avmnist_sample, load_avmnist_sample_arrays
from mmzoo.datasets.avmnist_sample import DEFAULT_PATH
from tests import paths

SCRIPT = paths.ROOT / "scripts" / "build_avmnist_sample.py"
DATA_DIR = os.environ.get("MMZOO_DATA")
HAS_DATA = bool(DATA_DIR) and Path(DATA_DIR).is_dir()
HAS_MNIST = HAS_DATA and (Path(DATA_DIR) / "mnist" / "mnist.npz").is_file()
NO_DATA_REASON = "set MMZOO_DATA to the folder holding mnist/ and fsdd/ (unset or missing)"
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
EXPECTED_PAIRS = {"train": 2700, "validation": 360, "test": 600}


@pytest.fixture(scope="module")
def raw():
    with np.load(DEFAULT_PATH, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def arrays():
    return load_avmnist_sample_arrays()


def _files(raw, split):
    code = list(raw["split_names"]).index(split)
    return set(raw["recording_files"][raw["recording_split"] == code].tolist())


def _take(name):
    return int(name[: -len(".wav")].split("_")[2])


def test_file_is_small_and_split_sizes(raw, arrays):
    assert os.path.getsize(DEFAULT_PATH) <= 8_000_000
    assert list(raw["split_names"]) == ["train", "validation", "test"]
    for code, split in enumerate(raw["split_names"]):
        pairs = int((raw["split"] == code).sum())
        recordings = int((raw["recording_split"] == code).sum())
        assert pairs == EXPECTED_PAIRS[split]
        assert pairs == recordings * (2 if split == "test" else 3)
        assert len(arrays[split][1]) == pairs
    n_train, n_val = len(_files(raw, "train")), len(_files(raw, "validation"))
    assert 0.10 <= n_val / (n_train + n_val) <= 0.15


def test_no_recording_or_image_leaks_between_splits(raw):
    train, validation, test = (_files(raw, s) for s in ("train", "validation", "test"))
    assert len(raw["recording_files"]) == len(set(raw["recording_files"].tolist()))
    assert not train & validation
    assert test == {f"{d}_{s}_{t}.wav" for d in range(10) for s in SPEAKERS for t in range(5)}
    assert min(_take(f) for f in train | validation) >= 5
    is_test = raw["split"] == 2
    for mask in (is_test, ~is_test):  # indices into MNIST test / train: each image used once
        index = raw["image_mnist_index"][mask]
        assert len(np.unique(index)) == len(index)


def test_shapes_dtypes_and_label_range(arrays):
    for split, (features, labels) in arrays.items():
        n = EXPECTED_PAIRS[split]
        assert sorted(features) == ["digit", "voice"]
        assert features["digit"].shape == (n, 28, 28, 1) and features["digit"].dtype == np.uint8
        assert features["voice"].shape == (n, 8000) and features["voice"].dtype == np.float32
        assert np.abs(features["voice"]).max() <= 1.0
        assert labels.dtype == np.int64 and labels.shape == (n,)
        assert set(np.unique(labels).tolist()) == set(range(10))


def test_pair_label_equals_recording_digit(raw):
    digits = np.array([int(f.split("_")[0]) for f in raw["recording_files"]])
    np.testing.assert_array_equal(digits[raw["pair_recording"]], raw["labels"])
    np.testing.assert_array_equal(raw["split"], raw["recording_split"][raw["pair_recording"]])


def test_voice_is_stored_audio_cropped_and_zero_padded(raw, arrays):
    lengths, original = raw["audio_lengths"], raw["original_lengths"]
    np.testing.assert_array_equal(lengths, np.minimum(original, 8000))
    assert int(raw["num_cropped"]) == int((original > 8000).sum()) > 0
    assert int(raw["audio_offsets"][-1] + lengths[-1]) == raw["audio"].size
    test_pairs = np.flatnonzero(raw["split"] == 2)
    voices = arrays["test"][0]["voice"]
    for row in (0, 1, 299, 599):
        rec = raw["pair_recording"][test_pairs[row]]
        start, length = raw["audio_offsets"][rec], lengths[rec]
        expected = raw["audio"][start : start + length].astype(np.float32) / 32768.0
        np.testing.assert_array_equal(voices[row, :length], expected)
        assert not voices[row, length:].any()


@pytest.mark.skipif(not HAS_MNIST, reason=NO_DATA_REASON)
def test_images_and_labels_match_mnist(raw):
    with np.load(Path(DATA_DIR) / "mnist" / "mnist.npz") as mnist:
        is_test = raw["split"] == 2
        for mask, x, y in ((is_test, mnist["x_test"], mnist["y_test"]), (~is_test, mnist["x_train"], mnist["y_train"])):
            index = raw["image_mnist_index"][mask]
            np.testing.assert_array_equal(raw["images"][mask], x[index])
            np.testing.assert_array_equal(raw["labels"][mask], y[index])


def test_load_avmnist_sample_yields_named_batches():
    splits = load_avmnist_sample(batch_size=16, cache=False)
    assert isinstance(splits, Splits)
    assert [spec.name for spec in splits.inputs] == ["digit", "voice"]
    assert splits.task.num_classes == 10 and splits.task.class_names[7] == "seven"
    for ds in (splits.train, splits.validation, splits.test):
        features, labels = next(iter(ds))
        assert sorted(features) == ["digit", "voice"]
        assert tuple(features["digit"].shape) == (16, 28, 28, 1)
        assert tuple(features["voice"].shape) == (16, 8000)
        assert features["digit"].dtype.name == "uint8" and labels.dtype.name == "int64"
    assert sum(int(labels.shape[0]) for _, labels in splits.test) == 600


def test_missing_file_says_how_to_rebuild(tmp_path):
    with pytest.raises(FileNotFoundError, match="build_avmnist_sample.py"):
        load_avmnist_sample_arrays(tmp_path / "absent.npz")


@pytest.mark.slow
@pytest.mark.skipif(not HAS_DATA, reason=NO_DATA_REASON)
def test_rebuild_reproduces_shipped_file(tmp_path, raw):
    out = tmp_path / "avmnist_sample.npz"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--data-dir", DATA_DIR, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "test:   600 pairs" in result.stdout
    with np.load(out, allow_pickle=False) as rebuilt:
        assert sorted(rebuilt.files) == sorted(raw)
        for key in raw:
            np.testing.assert_array_equal(rebuilt[key], raw[key], err_msg=key)
