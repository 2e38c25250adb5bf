"""AV-MNIST built from local MNIST and FSDD files, clean or degraded ("hard").

AV-MNIST (Vielzeuf et al. 2018, "CentralNet: a Multilayer Approach for
Multimodal Fusion"; MultiBench, Liang et al. 2021) pairs an MNIST digit image
with a spoken recording of the same digit. Here pairs are drawn within the
official splits: FSDD takes 0-4 with MNIST test images form the test split,
takes 5-49 with MNIST train images form train and validation. Validation is
carved from train by recording (per digit, `val_fraction` of the recordings),
so no recording is in two splits; no MNIST image is used twice. Every
recording is used, each paired with `pairs_per_recording` different images
(default 4: 9,720 train, 1,080 validation and 1,200 test pairs with the full
FSDD). Clips are cropped to their first `seconds` or zero-padded at the end.

The "hard" variant degrades both modalities as the AV-MNIST protocol does.
Images keep 25% of their PCA energy: PCA is fitted on the train images, and
images are projected onto the leading components up to the first whose
cumulative explained variance reaches `image_energy` (4 on MNIST, 28%), that
last one shrunk so that exactly 25% is kept (a plain projection keeps 23% or
28%). Audio gets seeded Gaussian white noise at exactly `snr_db` (default
-2.5 dB, where a GRU on the log-mel gets about 45% of the noisy voices right,
close to MultiBench's 43% audio-only; CentralNet mixed in ESC-50 environmental
noise, which is not local).
Hard images are float32 reconstructions on the 0-1 scale, not clipped (about
-0.4 to 1.4), and noisy clips are not clipped either (peaks up to about 2),
so the energy and SNR are what they claim.
"""

import re
import wave

import numpy as np
import tensorflow as tf

from mmzoo.data.order import keep_order
from mmzoo.data.pipeline import finalize
from mmzoo.datasets.avmnist_sample import CLASS_NAMES
from mmzoo.datasets.base import Splits
from mmzoo.datasets.locate import AVMNIST_TFDS_ROUTE, locate
from mmzoo.registry import register_dataset
from mmzoo.specs import Audio, Image
from mmzoo.tasks.task import Classification

SPLITS = ("train", "validation", "test")
SAMPLE_RATE = 8000
FIRST_TRAIN_TAKE = 5  # FSDD's official split: takes 0-4 are the test set
IMAGE_ENERGY = 0.25
SNR_DB = -2.5
_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
_STREAMS = {"split": 1, "pairs": 2, "noise": 3}  # independent random streams per step


def _rng(seed, step):
    return np.random.default_rng([seed, _STREAMS[step]])


def fsdd_recordings(folder):
    """`[(file name, digit, speaker, take)]` of the FSDD wav files in `folder`, sorted by name."""
    rows = []
    for path in sorted(folder.iterdir()):
        match = _FSDD_NAME.match(path.name)
        if match:
            rows.append((path.name, int(match[1]), match[2], int(match[3])))
    if not rows:
        raise FileNotFoundError(
            f"AV-MNIST: no FSDD recordings named {{digit}}_{{speaker}}_{{take}}.wav in {folder}. "
            f"Copy the recordings/ folder of github.com/Jakobovski/free-spoken-digit-dataset there."
        )
    return rows


def read_wav(path, sample_rate=SAMPLE_RATE):
    """Reads a mono 16-bit PCM wav file as float32 samples in [-1, 1)."""
    with wave.open(str(path), "rb") as f:
        if f.getnchannels() != 1 or f.getsampwidth() != 2 or f.getframerate() != sample_rate:
            raise ValueError(
                f"AV-MNIST: {path} must be mono 16-bit PCM at {sample_rate} Hz; received "
                f"{f.getnchannels()} channel(s), {8 * f.getsampwidth()}-bit, {f.getframerate()} Hz."
            )
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    return samples.astype(np.float32) / np.float32(32768.0)


def _assign_splits(rows, val_fraction, rng):
    """Split name per recording: test takes, then `val_fraction` of each digit's train takes."""
    split = np.array(["test" if take < FIRST_TRAIN_TAKE else "train" for _, _, _, take in rows], dtype="<U10")
    digits = np.array([digit for _, digit, _, _ in rows])
    for digit in range(10):
        train = np.flatnonzero((digits == digit) & (split == "train"))
        count = int(round(val_fraction * len(train)))
        split[rng.choice(train, size=count, replace=False)] = "validation"
    return split, digits


def _pair_images(digits, mnist_labels, per_recording, rng):
    """For each recording, `per_recording` distinct MNIST indices of its digit (no image reused)."""
    index = np.empty(len(digits) * per_recording, np.int64)
    for digit in range(10):
        pool = rng.permutation(np.flatnonzero(mnist_labels == digit))
        slots = (np.flatnonzero(digits == digit)[:, None] * per_recording + np.arange(per_recording)).ravel()
        if len(slots) > len(pool):
            raise ValueError(
                f"AV-MNIST: {len(slots)} pairs of digit {digit} need as many MNIST "
                f"images; only {len(pool)} exist. Lower pairs_per_recording."
            )
        index[slots] = pool[: len(slots)]
    return index


def pca_reduce(train_images, energy=IMAGE_ENERGY):
    """Fits PCA on `train_images`; returns a map keeping exactly `energy` of their PCA energy.

    Images are projected onto the leading principal components up to the
    first whose cumulative explained variance (energy about the mean) reaches
    `energy`; that last component is shrunk so the energy kept on the
    training images is exactly `energy` (a plain projection jumps from 23% to
    28% on MNIST). The map is linear, of rank `components`.

    Returns:
        `(reduce, components, kept)`: `reduce(uint8 images) -> float32 images`
        on the 0-1 scale, the number of components and the energy kept on the
        training images.
    """
    if not 0 < energy < 1:
        raise ValueError(f"AV-MNIST image_energy must be in (0, 1); received {energy!r}.")
    x = train_images.reshape(len(train_images), -1).astype(np.float32) / np.float32(255.0)
    mean = x.mean(axis=0)
    centered = x - mean
    # TensorFlow's eigh: NumPy's (OpenBLAS LAPACK) can take seconds on a busy 2-core machine.
    values, vectors = (v.numpy() for v in tf.linalg.eigh(tf.constant(centered.T @ centered, tf.float64)))
    ratio = np.maximum(values[::-1], 0.0) / max(values.sum(), 1e-12)
    cumulative = np.cumsum(ratio)
    components = int(np.searchsorted(cumulative, energy)) + 1
    weights = np.ones(components)
    weights[-1] = np.sqrt((energy - (cumulative[components - 2] if components > 1 else 0.0)) / ratio[components - 1])
    basis = vectors[:, ::-1][:, :components].astype(np.float32)
    weights = weights.astype(np.float32)

    def reduce(images):
        flat = images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0) - mean
        return (mean + ((flat @ basis) * weights) @ basis.T).reshape(images.shape).astype(np.float32)

    kept = float(cumulative[components - 2] if components > 1 else 0.0) + float(
        weights[-1] ** 2 * ratio[components - 1]
    )
    return reduce, components, kept


def add_white_noise(waves, lengths, snr_db, rng):
    """Adds Gaussian white noise at exactly `snr_db` over each clip's own samples.

    Signal and noise power are measured over the first `lengths[i]` samples
    (the recording); the noise continues at the same level over the padding.
    """
    noise = rng.standard_normal(waves.shape).astype(np.float32)
    inside = np.arange(waves.shape[1])[None, :] < lengths[:, None]
    lengths = np.maximum(lengths, 1)
    signal_power = (np.where(inside, waves, 0.0) ** 2).sum(1) / lengths
    noise_power = (np.where(inside, noise, 0.0) ** 2).sum(1) / lengths
    scale = np.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return waves + (noise * scale[:, None]).astype(np.float32)


def _read_clips(folder, files, num_samples):
    """`(float32 (R, num_samples) clips, kept lengths, number cropped)`: crop or zero-pad at the end."""
    waves = np.zeros((len(files), num_samples), np.float32)
    lengths, cropped = np.zeros(len(files), np.int64), 0
    for i, file in enumerate(files):
        samples = read_wav(folder / file)
        cropped += len(samples) > num_samples
        lengths[i] = min(len(samples), num_samples)
        waves[i, : lengths[i]] = samples[:num_samples]
    return waves, lengths, int(cropped)


def load_avmnist_arrays(
    data_dir=None,
    variant="clean",
    seed=0,
    val_fraction=0.1,
    seconds=1.0,
    snr_db=SNR_DB,
    pairs_per_recording=4,
    image_energy=IMAGE_ENERGY,
):
    """Builds AV-MNIST as NumPy arrays (see the module docstring for the protocol).

    Args:
        data_dir: folder holding mnist/mnist.npz and fsdd/recordings/; default `$MMZOO_DATA`.
        variant: "clean" or "hard" (PCA-reduced images, noisy audio).
        seed: seeds the validation choice, the pairing and the noise (independently).
        val_fraction: share of each digit's FSDD train recordings kept for validation.
        seconds: clip length; longer recordings are cropped, shorter ones zero-padded.
        snr_db: signal-to-noise ratio of the hard variant's audio.
        pairs_per_recording: MNIST images paired with every recording.
        image_energy: PCA energy the hard variant's images keep.

    Returns:
        `(arrays, info)`. `arrays[split]` holds "digit" (P, 28, 28, 1) (uint8,
        or float32 for "hard"), "labels" int64 (P,), "pair_recording" (P,)
        indexing "recordings" float32 (R, samples), "files" (R,), "lengths"
        (R,) samples before padding, and "mnist_index" (P,) into MNIST
        x_train (train, validation) or x_test (test). `info` gives counts,
        cropped clips, and the PCA components, energy and SNR used.

    Raises:
        FileNotFoundError: a file is missing (the message says how to get it).

    Example:
        >>> arrays, info = load_avmnist_arrays()  # doctest: +SKIP
        >>> info["pairs"]  # doctest: +SKIP
        {'train': 9720, 'validation': 1080, 'test': 1200}
    """
    if variant not in ("clean", "hard"):
        raise ValueError(f"AV-MNIST variant must be 'clean' or 'hard'; received {variant!r}.")
    if not 0 < val_fraction < 1 or int(pairs_per_recording) < 1:
        raise ValueError(
            "AV-MNIST needs 0 < val_fraction < 1 and pairs_per_recording >= 1; received "
            f"{val_fraction!r} and {pairs_per_recording!r}."
        )
    mnist_path = locate("mnist/mnist.npz", "AV-MNIST", data_dir, AVMNIST_TFDS_ROUTE)
    folder = locate("fsdd/recordings", "AV-MNIST", data_dir, AVMNIST_TFDS_ROUTE)
    rows = fsdd_recordings(folder)
    split, digits = _assign_splits(rows, val_fraction, _rng(seed, "split"))
    for name in SPLITS:
        if not (split == name).any():
            raise ValueError(
                f"AV-MNIST: no {name} recordings in {folder} with val_fraction="
                f"{val_fraction} (test takes are 0-{FIRST_TRAIN_TAKE - 1})."
            )
    with np.load(mnist_path, allow_pickle=False) as mnist:
        sources = {False: (mnist["x_train"], mnist["y_train"]), True: (mnist["x_test"], mnist["y_test"])}
    pair_rng, num_samples = _rng(seed, "pairs"), int(round(SAMPLE_RATE * seconds))
    order = np.argsort(split == "test", kind="stable")  # train+validation share MNIST x_train
    arrays, info = {}, {"variant": variant, "pairs": {}, "recordings": {}, "cropped": {}}
    for is_test in (False, True):
        recordings = order[(split[order] == "test") == is_test]
        images, labels = sources[is_test]
        mnist_index = _pair_images(digits[recordings], labels, pairs_per_recording, pair_rng)
        for name in ("test",) if is_test else ("train", "validation"):
            mine = np.flatnonzero(split[recordings] == name)
            pairs = (mine[:, None] * pairs_per_recording + np.arange(pairs_per_recording)).ravel()
            arrays[name] = {
                "files": np.array([rows[i][0] for i in recordings[mine]]),
                "mnist_index": mnist_index[pairs],
                "digit": images[mnist_index[pairs]][..., None],
                "labels": labels[mnist_index[pairs]].astype(np.int64),
                "pair_recording": np.repeat(np.arange(len(mine)), pairs_per_recording),
            }
    for name in SPLITS:
        waves, lengths, cropped = _read_clips(folder, arrays[name]["files"], num_samples)
        arrays[name]["recordings"], arrays[name]["lengths"] = waves, lengths
        info["pairs"][name] = len(arrays[name]["labels"])
        info["recordings"][name] = len(lengths)
        info["cropped"][name] = cropped
    if variant == "hard":
        _degrade(arrays, info, image_energy, snr_db, _rng(seed, "noise"))
    return arrays, info


def _degrade(arrays, info, image_energy, snr_db, rng):
    reduce, components, kept = pca_reduce(arrays["train"]["digit"], image_energy)
    info.update(pca_components=components, image_energy_kept=kept, snr_db=float(snr_db))
    for name in SPLITS:
        split = arrays[name]
        split["digit"] = reduce(split["digit"])
        split["recordings"] = add_white_noise(split["recordings"], split["lengths"], snr_db, rng)


def avmnist_inputs(variant="clean", seconds=1.0):
    """The specs: an `Image` "digit" (uint8, or float32 for "hard") and an 8 kHz `Audio` "voice"."""
    dtype = "float32" if variant == "hard" else "uint8"
    return [Image("digit", shape=(28, 28, 1), dtype=dtype), Audio("voice", sample_rate=SAMPLE_RATE, seconds=seconds)]


def _dataset(split, batch_size, shuffle, seed, cache):
    table = tf.constant(split["recordings"])
    ds = tf.data.Dataset.from_tensor_slices(
        ({"digit": split["digit"], "recording": split["pair_recording"]}, split["labels"])
    )
    ds = finalize(ds, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=cache, num_examples=len(split["labels"]))

    def attach_voice(features, labels):  # recordings are stored once, gathered per batch
        return {"digit": features["digit"], "voice": tf.gather(table, features["recording"])}, labels

    return keep_order(ds.map(attach_voice, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE), ds)


@register_dataset("avmnist", paper="AV-MNIST: MNIST digits paired with FSDD spoken digits (Vielzeuf et al. 2018)")
def avmnist(
    data_dir=None,
    variant="clean",
    batch_size=64,
    seed=0,
    val_fraction=0.1,
    seconds=1.0,
    snr_db=SNR_DB,
    pairs_per_recording=4,
    image_energy=IMAGE_ENERGY,
    cache=True,
):
    """Loads AV-MNIST from MNIST + FSDD files as batched `tf.data` splits.

    Pairs an MNIST image ("digit") with an FSDD recording ("voice") of the
    same digit within the official splits; "hard" degrades both as in the
    AV-MNIST protocol (Vielzeuf et al. 2018). The train split is reshuffled
    every epoch (seeded). Arguments as in `load_avmnist_arrays`, plus
    `batch_size` and `cache` (cache the small per-pair part in memory).

    Returns:
        `Splits(train, validation, test, inputs, task)`: datasets of
        `({"digit": (b, 28, 28, 1), "voice": float32 (b, samples)}, int64 (b,))`,
        inputs from `avmnist_inputs` and `Classification(10, class_names=...)`.

    Example:
        >>> splits = avmnist(variant="hard")  # doctest: +SKIP
        >>> [spec.name for spec in splits.inputs]  # doctest: +SKIP
        ['digit', 'voice']
    """
    arrays, _ = load_avmnist_arrays(
        data_dir, variant, seed, val_fraction, seconds, snr_db, pairs_per_recording, image_energy
    )
    datasets = [_dataset(arrays[name], batch_size, name == "train", seed, cache) for name in SPLITS]
    task = Classification(num_classes=10, class_names=list(CLASS_NAMES))
    return Splits(*datasets, avmnist_inputs(variant, seconds), task)


register_dataset(
    "avmnist_hard",
    options={"variant": "hard"},
    paper="AV-MNIST with degraded images and noisy audio, so neither modality suffices alone",
)(avmnist)
