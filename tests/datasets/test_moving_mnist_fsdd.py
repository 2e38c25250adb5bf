"""Moving MNIST + FSDD on the tiny dummy data: clip shapes, motion, pairing by digit, determinism, hard variant."""

import importlib

import numpy as np
import pytest

from tests import paths

mm = importlib.import_module("mmzoo.datasets.moving_mnist_fsdd")  # the package attribute is the loader

DUMMY = paths.DUMMY
OPTIONS = dict(data_dir=DUMMY, frames=6, frame_size=32)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("moving_mnist_cache")


@pytest.fixture(scope="module")
def clean(cache):
    return mm.load_moving_mnist_fsdd_arrays(cache_dir=cache, **OPTIONS)


@pytest.fixture(scope="module")
def hard(cache):
    return mm.load_moving_mnist_fsdd_arrays(cache_dir=cache, hard=True, **OPTIONS)[0]


def test_digits_bounce_inside_the_canvas():
    corners = mm.trajectories(50, 40, np.random.default_rng(0), step_length=0.3)
    assert corners.min() == 0 and corners.max() == mm.CANVAS - mm.DIGIT  # every clip hits both walls sometime
    steps = np.abs(np.diff(corners, axis=1))
    assert steps.max() <= int(np.ceil(0.3 * (mm.CANVAS - mm.DIGIT)))  # no jumps: one step per frame
    direction = np.sign(np.diff(corners[..., 0], axis=1))
    assert (direction[:, 1:] * direction[:, :-1] < 0).any()  # and it turns back


def test_clips_are_the_paired_mnist_digit_moving_and_the_voice_says_the_same_digit(clean):
    arrays, path = clean
    with np.load(DUMMY / "mnist" / "mnist.npz") as mnist:
        sources = {"train": mnist["x_train"], "validation": mnist["x_train"], "test": mnist["x_test"]}
    for name in mm.SPLITS:
        split = arrays[name]
        count = len(split["labels"])
        assert split["clip"].shape == (count, 6, 32, 32, 1) and split["clip"].dtype == np.uint8
        # each recording is paired once, with a clip of its own digit ({digit}_{speaker}_{take}.wav)
        spoken = np.array([int(f.split("_")[0]) for f in split["files"]])
        assert sorted(split["pair_recording"]) == list(range(len(split["files"])))
        np.testing.assert_array_equal(spoken[split["pair_recording"]], split["labels"])
        assert split["recordings"].shape == (len(split["files"]), 8000)
        # every frame holds the whole MNIST image (block-averaged 2x2: the ink is kept up to rounding)
        ink = sources[name][split["mnist_index"]].reshape(count, -1).sum(1).astype(float) / 4
        frames = split["clip"].reshape(count, 6, -1).sum(2).astype(float)
        assert np.abs(frames - ink[:, None]).max() <= 0.5 * 32 * 32
        assert (np.abs(np.diff(split["clip"].astype(int), axis=1)).sum((2, 3, 4)) > 0).mean() > 0.5  # it moves
    assert {"train", "test"} <= {n for n in mm.SPLITS if len(set(arrays[n]["labels"])) == 10}
    assert path.exists() and path.suffix == ".npz"


def test_building_is_deterministic_and_cached(clean, cache, tmp_path):
    arrays, path = clean
    again, path_again = mm.load_moving_mnist_fsdd_arrays(cache_dir=cache, **OPTIONS)  # from the cache
    rebuilt, _ = mm.load_moving_mnist_fsdd_arrays(cache_dir=tmp_path, **OPTIONS)  # a fresh build
    other, other_path = mm.load_moving_mnist_fsdd_arrays(cache_dir=tmp_path, seed=1, **OPTIONS)
    assert path_again == path and other_path != path
    for name in mm.SPLITS:
        for key in arrays[name]:
            np.testing.assert_array_equal(again[name][key], arrays[name][key])
            np.testing.assert_array_equal(rebuilt[name][key], arrays[name][key])
    assert not np.array_equal(other["train"]["clip"], arrays["train"]["clip"])


def test_hard_variant_occludes_and_adds_noise_to_both_modalities(clean, hard):
    arrays, _ = clean
    for name in mm.SPLITS:
        a, h = arrays[name], hard[name]
        np.testing.assert_array_equal(h["labels"], a["labels"])  # same clips, degraded
        assert h["clip"].shape == a["clip"].shape and h["clip"].dtype == np.uint8
        assert np.abs(h["clip"].astype(float) - a["clip"]).mean() > 10  # occluder and pixel noise
        noise = h["recordings"] - a["recordings"]
        lengths = (a["recordings"] != 0).sum(1).clip(1)
        snr = 10 * np.log10((a["recordings"] ** 2).sum(1) / ((noise * (a["recordings"] != 0)) ** 2).sum(1))
        assert np.median(snr) == pytest.approx(mm.HARD["snr_db"], abs=1.5) and lengths.min() > 0


def test_loader_batches_clip_and_voice(cache):
    splits = mm.moving_mnist_fsdd(cache_dir=cache, batch_size=4, max_train=8, **OPTIONS)
    (features, labels), count = next(iter(splits.train)), sum(int(y.shape[0]) for _, y in splits.train)
    assert count == 8 and features["clip"].shape == (4, 6, 32, 32, 1) and features["voice"].shape == (4, 8000)
    assert features["clip"].dtype == "uint8" and labels.shape == (4,)
    assert [spec.name for spec in splits.inputs] == ["clip", "voice"] and splits.inputs[0].frames == 6
    with pytest.raises(ValueError, match="frame_size must divide 64"):
        mm.load_moving_mnist_fsdd_arrays(cache_dir=cache, data_dir=DUMMY, frame_size=30)
