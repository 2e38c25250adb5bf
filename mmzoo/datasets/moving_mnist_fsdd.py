"""Moving MNIST + FSDD: a bouncing real MNIST digit as a video clip, paired with a spoken digit.

The clips follow the Moving MNIST procedure of Srivastava et al. 2015
("Unsupervised Learning of Video Representations using LSTMs"): a 28x28
MNIST digit starts at a uniformly random position inside a 64x64 canvas and
moves in a uniformly random direction at a fixed speed (`step_length` of the
free range per frame, 0.1 as in the original generator), bouncing off the
edges (the velocity component is reflected when the digit touches a border).
One digit per clip, since the clip's label is the digit. Each clip is paired
with a real FSDD recording of the same digit, within the official split (FSDD
takes 0-4 with MNIST test images form the test split, takes 5-49 with MNIST
train images form train and validation, validation carved by recording):
exactly the pairing of AV-MNIST (`mmzoo.datasets.avmnist`), which this
module reuses, so no recording is in two splits and no MNIST image is used
twice. Frames can be block-averaged to `frame_size` (e.g. 32) after the 64x64
composition, to make the clips cheaper.

The "hard" variant degrades both modalities so that neither suffices alone:
each clip's stored frames (after block-averaging) get a static opaque
occluder (a square of `occluder` of the frame side at a random position,
mid-grey) that the digit moves behind, and seeded Gaussian pixel noise of
standard deviation `pixel_noise` (0-255 scale, clipped back to uint8); the audio gets white noise at exactly `snr_db` as
AV-MNIST-hard does (`avmnist.add_white_noise`).

Clips are built once from `$MMZOO_DATA` (mnist/mnist.npz and
fsdd/recordings/) into a cache folder (`cache_dir`, default `$MMZOO_CACHE`
or ~/.cache/mmzoo) as one .npz per set of options; the loader builds on first
use, or `scripts/build_moving_mnist_fsdd.py` builds ahead. Building is
deterministic given the seed.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from mmzoo.data.order import keep_order
from mmzoo.data.pipeline import finalize
from mmzoo.datasets.avmnist import SAMPLE_RATE, add_white_noise, load_avmnist_arrays
from mmzoo.datasets.avmnist_sample import CLASS_NAMES
from mmzoo.datasets.base import Splits
from mmzoo.datasets.locate import resolve_data_dir
from mmzoo.registry import register_dataset

SPLITS = ("train", "validation", "test")
CANVAS, DIGIT = 64, 28
VERSION = 3  # bump when the procedure changes, so old cache files are not reused
_STREAMS = {"motion": 11, "occluder": 12, "pixels": 13, "audio": 14, "order": 15}
HARD = {"occluder": 0.4, "pixel_noise": 25.0, "snr_db": 0.0}


def _rng(seed, step):
    return np.random.default_rng([seed, _STREAMS[step]])


def trajectories(count, frames, rng, step_length=0.1):
    """Top-left corners `(count, frames, 2)` int of a digit bouncing in the canvas (Srivastava et al. 2015).

    Positions live in [0, 1] (scaled to the `CANVAS - DIGIT` free range);
    each frame moves `step_length` along a random direction, and a
    coordinate that leaves [0, 1] is put back on the border with its
    velocity reflected.

    Example:
        >>> corners = trajectories(2, 5, np.random.default_rng(0))
        >>> corners.shape, bool(corners.min() >= 0), bool(corners.max() <= 36)
        ((2, 5, 2), True, True)
    """
    position = rng.uniform(0.0, 1.0, size=(count, 2))
    theta = rng.uniform(0.0, 2 * np.pi, size=count)
    velocity = np.stack([np.sin(theta), np.cos(theta)], axis=1)
    out = np.empty((count, frames, 2), np.int64)
    for t in range(frames):
        position = position + velocity * step_length
        low, high = position < 0.0, position > 1.0
        velocity = np.where(low | high, -velocity, velocity)
        position = np.clip(position, 0.0, 1.0)
        out[:, t] = np.floor(position * (CANVAS - DIGIT)).astype(np.int64)
    return out


def compose(digits, corners):
    """uint8 clips `(n, T, 64, 64)`: each digit `(n, 28, 28)` pasted at its corners `(n, T, 2)`."""
    n, frames = corners.shape[:2]
    clips = np.zeros((n, frames, CANVAS, CANVAS), np.uint8)
    rows = corners[..., 0, None] + np.arange(DIGIT)  # (n, T, 28)
    cols = corners[..., 1, None] + np.arange(DIGIT)
    i = np.arange(n)[:, None, None, None]
    t = np.arange(frames)[None, :, None, None]
    clips[i, t, rows[..., :, None], cols[..., None, :]] = digits[:, None]
    return clips


def degrade(clips, occluder, pixel_noise, rng_occluder, rng_pixels):
    """The hard variant's frames: a static mid-grey square occluder per clip, then Gaussian pixel noise."""
    n, _, size, _ = clips.shape
    side = int(round(occluder * size))
    out = clips.astype(np.float32)
    if side > 0:
        corner = rng_occluder.integers(0, size - side + 1, size=(n, 2))
        rows = (np.arange(size)[None, :] >= corner[:, :1]) & (np.arange(size)[None, :] < corner[:, :1] + side)
        cols = (np.arange(size)[None, :] >= corner[:, 1:]) & (np.arange(size)[None, :] < corner[:, 1:] + side)
        mask = rows[:, None, :, None] & cols[:, None, None, :]
        out = np.where(mask, np.float32(128.0), out)
    if pixel_noise > 0:
        out += rng_pixels.standard_normal(out.shape, dtype=np.float32) * np.float32(pixel_noise)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _shrink(clips, frame_size):
    if frame_size == CANVAS:
        return clips
    if CANVAS % frame_size:
        raise ValueError(f"moving_mnist_fsdd frame_size must divide {CANVAS} (e.g. 64, 32, 16); received {frame_size}.")
    k = CANVAS // frame_size
    n, frames = clips.shape[:2]
    sums = clips.reshape(n, frames, frame_size, k, frame_size, k).sum(axis=(3, 5), dtype=np.uint32)
    return ((sums + k * k // 2) // (k * k)).astype(np.uint8)  # the block mean, rounded half up


def build_arrays(
    data_dir=None,
    hard=False,
    seed=0,
    frames=10,
    frame_size=CANVAS,
    val_fraction=0.1,
    seconds=1.0,
    pairs_per_recording=1,
    step_length=0.1,
    occluder=HARD["occluder"],
    pixel_noise=HARD["pixel_noise"],
    snr_db=HARD["snr_db"],
):
    """Builds the clips as NumPy arrays (see the module docstring for the procedure).

    Returns:
        `{split: {"clip": uint8 (P, T, S, S, 1), "labels": int64 (P,),
        "pair_recording": (P,) into "recordings" float32 (R, samples),
        "files": (R,), "mnist_index": (P,)}}`.
    """
    if int(frames) < 1:
        raise ValueError(f"moving_mnist_fsdd frames must be >= 1; received {frames!r}.")
    arrays, _ = load_avmnist_arrays(
        data_dir, "clean", seed, val_fraction, seconds, pairs_per_recording=pairs_per_recording
    )
    rngs = {step: _rng(seed, step) for step in _STREAMS}
    out = {}
    for name in SPLITS:
        split = arrays[name]
        corners = trajectories(len(split["labels"]), int(frames), rngs["motion"], step_length)
        clips = _shrink(compose(split["digit"][..., 0], corners), int(frame_size))
        waves = split["recordings"]
        if hard:
            clips = degrade(clips, occluder, pixel_noise, rngs["occluder"], rngs["pixels"])
            waves = add_white_noise(waves, split["lengths"], snr_db, rngs["audio"])
        order = rngs["order"].permutation(len(split["labels"]))  # digits mixed: any prefix is a fair subset
        out[name] = {
            "clip": clips[order, ..., None],
            "labels": split["labels"][order],
            "pair_recording": split["pair_recording"][order],
            "recordings": waves.astype(np.float32),
            "files": split["files"],
            "mnist_index": split["mnist_index"][order],
        }
    return out


def _options(
    hard,
    seed,
    frames,
    frame_size,
    val_fraction,
    seconds,
    pairs_per_recording,
    step_length,
    occluder,
    pixel_noise,
    snr_db,
):
    options = dict(
        hard=bool(hard),
        seed=int(seed),
        frames=int(frames),
        frame_size=int(frame_size),
        val_fraction=float(val_fraction),
        seconds=float(seconds),
        pairs_per_recording=int(pairs_per_recording),
        step_length=float(step_length),
    )
    if hard:
        options.update(occluder=float(occluder), pixel_noise=float(pixel_noise), snr_db=float(snr_db))
    return options


def cache_path(cache_dir, data_root, options):
    """The .npz holding these options' clips built from `data_root` (a hash of both names it)."""
    key = json.dumps({**options, "data": str(Path(data_root).resolve()), "version": VERSION}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    variant = "hard" if options["hard"] else "clean"
    return Path(cache_dir).expanduser() / f"moving_mnist_fsdd-{variant}-seed{options['seed']}-{digest}.npz"


def default_cache_dir():
    return Path(os.environ.get("MMZOO_CACHE") or Path.home() / ".cache" / "mmzoo")


def load_moving_mnist_fsdd_arrays(
    data_dir=None,
    cache_dir=None,
    hard=False,
    seed=0,
    frames=10,
    frame_size=CANVAS,
    val_fraction=0.1,
    seconds=1.0,
    pairs_per_recording=1,
    step_length=0.1,
    occluder=HARD["occluder"],
    pixel_noise=HARD["pixel_noise"],
    snr_db=HARD["snr_db"],
):
    """The clips of `build_arrays`, read from the cache folder, built and cached there first if absent.

    Args:
        data_dir: folder holding mnist/mnist.npz and fsdd/recordings/; default `$MMZOO_DATA`.
        cache_dir: where the built .npz files live; default `$MMZOO_CACHE` or ~/.cache/mmzoo.
        hard: degrade frames (occluder, pixel noise) and audio (white noise at `snr_db`).
        seed: seeds the split, pairing, motion and degradations.
        frames: frames per clip (T).
        frame_size: side of the stored frames; the 64x64 canvas is block-averaged down to it.
        val_fraction, seconds, pairs_per_recording: as in `load_avmnist_arrays`.
        step_length: motion per frame, as a share of the free range (Srivastava et al.: 0.1).
        occluder, pixel_noise, snr_db: the hard variant's occluder side (share of the frame),
            pixel noise std (0-255 scale) and audio SNR in dB.

    Returns:
        `(arrays, path)`: the arrays of `build_arrays` and the cache file.

    Example:
        >>> arrays, path = load_moving_mnist_fsdd_arrays(frames=12)  # doctest: +SKIP
        >>> arrays["train"]["clip"].shape  # doctest: +SKIP
        (2430, 12, 64, 64, 1)
    """
    options = _options(
        hard,
        seed,
        frames,
        frame_size,
        val_fraction,
        seconds,
        pairs_per_recording,
        step_length,
        occluder,
        pixel_noise,
        snr_db,
    )
    root, _ = resolve_data_dir(data_dir, "moving_mnist_fsdd", ["mnist/mnist.npz", "fsdd/recordings"])
    path = cache_path(cache_dir or default_cache_dir(), root, options)
    if path.exists():
        with np.load(path, allow_pickle=False) as saved:
            return {
                s: {k.split("/", 1)[1]: saved[k] for k in saved.files if k.startswith(s + "/")} for s in SPLITS
            }, path
    arrays = build_arrays(root, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **{f"{s}/{k}": v for s in SPLITS for k, v in arrays[s].items()})
    os.replace(tmp, path)  # atomic: a concurrent reader sees the whole file or none
    return arrays, path


def moving_mnist_fsdd_inputs(frames=10, frame_size=CANVAS, seconds=1.0, audio_options=None):
    """The specs: a uint8 `Video` "clip" (T, S, S, 1) and an 8 kHz `Audio` "voice" (`audio_options`: its front end)."""
    from mmzoo.specs import Audio, Video

    return [
        Video("clip", frames=int(frames), shape=(int(frame_size), int(frame_size), 1), dtype="uint8"),
        Audio("voice", sample_rate=SAMPLE_RATE, seconds=seconds, **(audio_options or {})),
    ]


def _dataset(split, batch_size, shuffle, seed, cache, limit=None):
    count = len(split["labels"]) if limit is None else min(int(limit), len(split["labels"]))
    table = tf.constant(split["recordings"])
    ds = tf.data.Dataset.from_tensor_slices(
        ({"clip": split["clip"][:count], "recording": split["pair_recording"][:count]}, split["labels"][:count])
    )
    ds = finalize(ds, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=cache, num_examples=count)

    def attach_voice(features, labels):  # recordings are stored once, gathered per batch
        return {"clip": features["clip"], "voice": tf.gather(table, features["recording"])}, labels

    return keep_order(ds.map(attach_voice, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE), ds)


@register_dataset(
    "moving_mnist_fsdd",
    paper="Moving MNIST (Srivastava et al. 2015) digit clips paired with FSDD spoken digits",
)
def moving_mnist_fsdd(
    data_dir=None,
    cache_dir=None,
    hard=False,
    batch_size=32,
    seed=0,
    frames=10,
    frame_size=CANVAS,
    val_fraction=0.1,
    seconds=1.0,
    pairs_per_recording=1,
    step_length=0.1,
    occluder=HARD["occluder"],
    pixel_noise=HARD["pixel_noise"],
    snr_db=HARD["snr_db"],
    max_train=None,
    audio_options=None,
    cache=True,
):
    """Loads Moving MNIST + FSDD as batched `tf.data` splits (built and cached on first use).

    Arguments as in `load_moving_mnist_fsdd_arrays`, plus `batch_size`,
    `max_train` (train on the first N clips, which are in a seeded random order: a
    smaller training set for quick benchmarks), `audio_options` (the
    `Audio` spec's front end, e.g. `{"num_mel_bins": 32, "frame_step": 160}`)
    and `cache` (cache the per-clip part in memory). The train split is reshuffled every epoch
    (seeded).

    Returns:
        `Splits(train, validation, test, inputs, task)`: datasets of
        `({"clip": uint8 (b, T, S, S, 1), "voice": float32 (b, samples)}, int64 (b,))`,
        inputs from `moving_mnist_fsdd_inputs` and `Classification(10, class_names=...)`.

    Example:
        >>> splits = moving_mnist_fsdd(hard=True, frames=10, frame_size=32)  # doctest: +SKIP
        >>> [spec.name for spec in splits.inputs]  # doctest: +SKIP
        ['clip', 'voice']
    """
    from mmzoo.tasks.task import Classification

    arrays, _ = load_moving_mnist_fsdd_arrays(
        data_dir,
        cache_dir,
        hard,
        seed,
        frames,
        frame_size,
        val_fraction,
        seconds,
        pairs_per_recording,
        step_length,
        occluder,
        pixel_noise,
        snr_db,
    )
    if max_train is not None and int(max_train) < 1:
        raise ValueError(f"moving_mnist_fsdd max_train must be >= 1 or None; received {max_train!r}.")
    datasets = [
        _dataset(arrays[name], batch_size, name == "train", seed, cache, max_train if name == "train" else None)
        for name in SPLITS
    ]
    task = Classification(num_classes=10, class_names=list(CLASS_NAMES))
    return Splits(*datasets, moving_mnist_fsdd_inputs(frames, frame_size, seconds, audio_options), task)


register_dataset(
    "moving_mnist_fsdd_hard",
    options={"hard": True},
    paper="Moving MNIST + FSDD with occluded, noisy frames and noisy audio, so neither modality suffices alone",
)(moving_mnist_fsdd)
