"""Builds the AV-MNIST sample shipped in `mmzoo/datasets/_data/avmnist_sample.npz`.

AV-MNIST (Vielzeuf et al. 2018, "CentralNet: a Multilayer Approach for
Multimodal Fusion") pairs an MNIST digit image with a spoken recording of the
same digit. This script builds a small, real version from local copies of
MNIST (`mnist/mnist.npz`) and the Free Spoken Digit Dataset
(`fsdd/recordings/{digit}_{speaker}_{take}.wav`), pairing within each split:

- test: all 300 FSDD test recordings (takes 0-4, the official FSDD split),
  each paired with `--test-images-per-recording` (2) different MNIST test images;
- train + validation: FSDD train takes 5, 6, ... (`--train-takes` of them, so
  every digit and speaker is equally represented), each recording paired with
  `--images-per-recording` (3) different MNIST train images. Validation is
  carved by recording: in every (digit, speaker) cell `--validation-per-cell`
  of the takes, drawn at random, go to validation, so no recording is shared
  by train and validation. No MNIST image is used twice.

Audio is stored once per recording as int16, cropped to the first
`--max-samples` (8000 = 1 s) samples, in one flat array with offsets and
lengths; pairs refer to recordings by index. Everything random comes from
`numpy.random.default_rng(seed)`, so a rebuild gives identical arrays.

Usage:
    python scripts/build_avmnist_sample.py [--data-dir DIR] [--out PATH] [--seed 0]

DIR defaults to the `MMZOO_DATA` environment variable.

npz keys (P pairs, R recordings):
    images (P, 28, 28) uint8          the MNIST image of each pair
    image_mnist_index (P,) int32      index into MNIST x_train (train and
                                      validation pairs) or x_test (test pairs)
    labels (P,) uint8                 the digit of the pair
    split (P,) int8                   code into split_names
    split_names (3,) str              "train", "validation", "test"
    pair_recording (P,) int32         index of the pair's recording
    recording_files (R,) str          FSDD file name, e.g. "7_jackson_32.wav"
    recording_split (R,) int8         code into split_names
    audio (sum of lengths,) int16     all recordings, concatenated
    audio_offsets (R,) int64          start of each recording in `audio`
    audio_lengths (R,) int32          stored samples (<= max_samples)
    original_lengths (R,) int32       samples before cropping
    num_cropped () int64              recordings longer than max_samples
    max_samples, sample_rate, seed () int64
"""

import argparse
import os
import sys
import wave
from pathlib import Path

import numpy as np

SPLIT_NAMES = ("train", "validation", "test")
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
DIGITS = tuple(range(10))
TEST_TAKES = tuple(range(0, 5))
FIRST_TRAIN_TAKE = 5
LAST_TRAIN_TAKE = 49
MAX_BYTES = 8_000_000
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "mmzoo" / "datasets" / "_data" / "avmnist_sample.npz"


def read_wav(path):
    """Reads a mono 16-bit PCM wav file; returns `(int16 samples, sample_rate)`."""
    with wave.open(str(path), "rb") as f:
        if f.getnchannels() != 1 or f.getsampwidth() != 2:
            raise ValueError(
                f"{path}: expected mono 16-bit PCM; received {f.getnchannels()} channels, "
                f"{8 * f.getsampwidth()}-bit samples."
            )
        frames = f.readframes(f.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(np.int16), f.getframerate()


def choose_recordings(train_takes, validation_per_cell, rng):
    """Returns `[(file_name, digit, split_code)]`: test takes, then train/validation takes."""
    takes = list(range(FIRST_TRAIN_TAKE, FIRST_TRAIN_TAKE + train_takes))
    if takes[-1] > LAST_TRAIN_TAKE:
        raise ValueError(f"--train-takes must be at most {LAST_TRAIN_TAKE - FIRST_TRAIN_TAKE + 1}.")
    if not 0 < validation_per_cell < train_takes:
        raise ValueError("--validation-per-cell must be at least 1 and below --train-takes.")
    chosen = []
    for digit in DIGITS:
        for speaker in SPEAKERS:
            validation = set(rng.choice(takes, size=validation_per_cell, replace=False).tolist())
            for take in takes:
                split = SPLIT_NAMES.index("validation" if take in validation else "train")
                chosen.append((f"{digit}_{speaker}_{take}.wav", digit, split))
    test = [(f"{d}_{s}_{t}.wav", d, SPLIT_NAMES.index("test")) for d in DIGITS for s in SPEAKERS for t in TEST_TAKES]
    # Stored order: split (train, validation, test), then file name.
    return sorted(test + chosen, key=lambda r: (r[2], r[0]))


def pair_images(recordings, mnist_labels, images_per_recording, rng):
    """Draws distinct MNIST indices of the right digit for each recording, in order."""
    pools = {d: list(rng.permutation(np.flatnonzero(mnist_labels == d))) for d in DIGITS}
    pairs = []
    for index, (_, digit, _) in enumerate(recordings):
        if len(pools[digit]) < images_per_recording:
            raise ValueError(f"Not enough MNIST images of digit {digit} to pair.")
        for _ in range(images_per_recording):
            pairs.append((index, int(pools[digit].pop())))
    return pairs


def build(
    data_dir,
    seed=0,
    train_takes=17,
    validation_per_cell=2,
    images_per_recording=3,
    test_images_per_recording=2,
    max_samples=8000,
):
    """Builds the sample; returns a dict of arrays ready for `np.savez_compressed`."""
    data_dir = Path(data_dir)
    rng = np.random.default_rng(seed)
    mnist = np.load(data_dir / "mnist" / "mnist.npz")
    recordings = choose_recordings(train_takes, validation_per_cell, rng)

    test_code = SPLIT_NAMES.index("test")
    sources = {
        False: (mnist["x_train"], mnist["y_train"], images_per_recording),
        True: (mnist["x_test"], mnist["y_test"], test_images_per_recording),
    }
    pair_recording, mnist_index = [], []
    for is_test in (False, True):
        x, y, per_recording = sources[is_test]
        subset = [i for i, r in enumerate(recordings) if (r[2] == test_code) == is_test]
        for local, image in pair_images([recordings[i] for i in subset], y, per_recording, rng):
            pair_recording.append(subset[local])
            mnist_index.append(image)
    pair_recording = np.asarray(pair_recording, np.int32)
    mnist_index = np.asarray(mnist_index, np.int32)
    pair_is_test = np.array([recordings[r][2] == test_code for r in pair_recording])
    images = np.empty((len(mnist_index), 28, 28), np.uint8)
    mnist_labels = np.empty(len(mnist_index), np.uint8)
    for is_test, (x, y, _) in sources.items():
        mask = pair_is_test == is_test
        images[mask] = x[mnist_index[mask]]
        mnist_labels[mask] = y[mnist_index[mask]]

    clips, original_lengths = [], []
    for name, _, _ in recordings:
        samples, rate = read_wav(data_dir / "fsdd" / "recordings" / name)
        if rate != 8000:
            raise ValueError(f"{name}: expected 8000 Hz; received {rate} Hz.")
        original_lengths.append(len(samples))
        clips.append(samples[:max_samples])
    lengths = np.array([len(c) for c in clips], np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)[:-1]]).astype(np.int64)
    original_lengths = np.asarray(original_lengths, np.int32)

    labels = np.array([recordings[r][1] for r in pair_recording], np.uint8)
    if not np.array_equal(labels, mnist_labels):
        raise AssertionError("An MNIST image was paired with a recording of another digit.")
    return {
        "images": images,
        "image_mnist_index": mnist_index,
        "labels": labels,
        "split": np.array([recordings[r][2] for r in pair_recording], np.int8),
        "split_names": np.array(SPLIT_NAMES),
        "pair_recording": pair_recording,
        "recording_files": np.array([r[0] for r in recordings]),
        "recording_split": np.array([r[2] for r in recordings], np.int8),
        "audio": np.concatenate(clips).astype(np.int16),
        "audio_offsets": offsets,
        "audio_lengths": lengths,
        "original_lengths": original_lengths,
        "num_cropped": np.int64((original_lengths > max_samples).sum()),
        "max_samples": np.int64(max_samples),
        "sample_rate": np.int64(8000),
        "seed": np.int64(seed),
    }


def summary(arrays, path):
    """A few printable lines: pairs and recordings per split, crops, file size."""
    lines = []
    for code, name in enumerate(SPLIT_NAMES):
        pairs = int((arrays["split"] == code).sum())
        recordings = int((arrays["recording_split"] == code).sum())
        lines.append(f"{name:>10}: {pairs:5d} pairs from {recordings:4d} recordings")
    cropped, limit = int(arrays["num_cropped"]), int(arrays["max_samples"])
    lines.append(f"cropped to {limit} samples: {cropped} clips")
    lines.append(f"audio samples: {arrays['audio'].size:,}; images: {len(arrays['images']):,}")
    lines.append(f"wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("MMZOO_DATA"),
        help="folder holding mnist/ and fsdd/ (default: $MMZOO_DATA)",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output .npz path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--train-takes", type=int, default=17, help="FSDD train takes used for train+validation, from take 5 on"
    )
    parser.add_argument(
        "--validation-per-cell", type=int, default=2, help="takes per (digit, speaker) held out for validation"
    )
    parser.add_argument(
        "--images-per-recording", type=int, default=3, help="MNIST images paired with each train/validation recording"
    )
    parser.add_argument("--test-images-per-recording", type=int, default=2)
    parser.add_argument("--max-samples", type=int, default=8000, help="crop clips to this length")
    parser.add_argument("--max-bytes", type=int, default=MAX_BYTES, help="fail above this size")
    args = parser.parse_args(argv)
    if not args.data_dir or not Path(args.data_dir).is_dir():
        parser.error(f"--data-dir (or $MMZOO_DATA) must be a folder with mnist/ and fsdd/; received {args.data_dir!r}.")

    arrays = build(
        args.data_dir,
        seed=args.seed,
        train_takes=args.train_takes,
        validation_per_cell=args.validation_per_cell,
        images_per_recording=args.images_per_recording,
        test_images_per_recording=args.test_images_per_recording,
        max_samples=args.max_samples,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    print(summary(arrays, out))
    if os.path.getsize(out) > args.max_bytes:
        print(f"error: {out} is larger than {args.max_bytes:,} bytes; use fewer --train-takes.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
