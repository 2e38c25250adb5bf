"""A small, real AV-MNIST sample that ships with mmzoo (about 7 MB).

AV-MNIST (Vielzeuf et al. 2018, "CentralNet: a Multilayer Approach for
Multimodal Fusion"; also in MultiBench, Liang et al. 2021) pairs an MNIST
digit image with a spoken recording of the same digit. This sample pairs real
MNIST images with real Free Spoken Digit Dataset (FSDD) recordings, within
each split: the test split uses all 300 FSDD test recordings (takes 0-4), and
validation recordings never appear in train. Unlike the published AV-MNIST,
images and audio are not degraded, so accuracies are higher than published
numbers. Built by `scripts/build_avmnist_sample.py`; licences and attribution
in `_data/LICENSE-avmnist-sample.md` (CC BY-SA 4.0).
"""

from pathlib import Path

import numpy as np

from mmzoo.data import from_arrays
from mmzoo.datasets.base import Splits
from mmzoo.registry import register_dataset
from mmzoo.specs import Audio, Image
from mmzoo.tasks.task import Classification

DEFAULT_PATH = Path(__file__).resolve().parent / "_data" / "avmnist_sample.npz"
CLASS_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SPLITS = ("train", "validation", "test")
SAMPLE_RATE = 8000
NUM_SAMPLES = 8000


def _open(path):
    path = Path(path) if path is not None else DEFAULT_PATH
    if not path.is_file():
        raise FileNotFoundError(
            f"AV-MNIST sample not found at {path}. Rebuild it from MNIST and FSDD with "
            f"`python scripts/build_avmnist_sample.py --data-dir DIR --out {path}`, where DIR "
            f"(or $MMZOO_DATA) holds mnist/mnist.npz and fsdd/recordings/."
        )
    return np.load(path, allow_pickle=False)


def _waveforms(data):
    """Every stored recording as float32 in [-1, 1], zero-padded to NUM_SAMPLES."""
    offsets, lengths, audio = data["audio_offsets"], data["audio_lengths"], data["audio"]
    waves = np.zeros((len(lengths), NUM_SAMPLES), np.float32)
    for i, (start, length) in enumerate(zip(offsets, lengths)):
        waves[i, :length] = audio[start : start + length] / np.float32(32768.0)
    return waves


def load_avmnist_sample_arrays(path=None):
    """Loads the AV-MNIST sample as NumPy arrays, one entry per split.

    Args:
        path: the `.npz` file; default the copy shipped in `mmzoo/datasets/_data/`.

    Returns:
        `{split: (features, labels)}` for "train", "validation" and "test",
        where `features` is `{"digit": uint8 (n, 28, 28, 1), "voice": float32
        (n, 8000)}` (waveforms at 8 kHz in [-1, 1], zero-padded at the end to
        1 s) and `labels` is int64 (n,) with digits 0-9.

    Raises:
        FileNotFoundError: the file is missing (the message says how to rebuild it).

    Example:
        >>> arrays = load_avmnist_sample_arrays()
        >>> features, labels = arrays["test"]
        >>> features["digit"].shape, features["voice"].shape, labels.shape
        ((600, 28, 28, 1), (600, 8000), (600,))
    """
    with _open(path) as data:
        names = [str(n) for n in data["split_names"]]
        waves = _waveforms(data)
        images, labels = data["images"], data["labels"]
        split, pair_recording = data["split"], data["pair_recording"]
    arrays = {}
    for name in SPLITS:
        mask = split == names.index(name)
        features = {"digit": images[mask][..., None], "voice": waves[pair_recording[mask]]}
        arrays[name] = (features, labels[mask].astype(np.int64))
    return arrays


def avmnist_inputs():
    """The specs of the sample: a 28x28 grey `Image` "digit" and a 1 s 8 kHz `Audio` "voice".

    The voice's log-mel has 40 bands and a 20 ms hop (50 x 40 per clip), the
    classic keyword-spotting front end, instead of the `Audio` defaults (64
    bands, 10 ms hop: 101 x 64): a quarter of the frames, so the default
    `early_fusion` model trains several times faster on a CPU, and no less
    accurately on spoken digits.
    """
    return [
        Image("digit", shape=(28, 28, 1)),
        Audio(
            "voice",
            sample_rate=SAMPLE_RATE,
            seconds=NUM_SAMPLES / SAMPLE_RATE,
            num_mel_bins=40,
            frame_step=SAMPLE_RATE // 50,
        ),
    ]


@register_dataset("avmnist_sample", paper="AV-MNIST sample shipped with mmzoo (no data directory needed)")
def load_avmnist_sample(batch_size=64, seed=0, cache=True, path=None):
    """Loads the AV-MNIST sample as batched `tf.data` splits, ready for `model.fit`.

    About 2,700 train, 360 validation and 600 test pairs of an MNIST image
    ("digit") and an FSDD recording ("voice") of the same digit; AV-MNIST after
    Vielzeuf et al. (2018). The train split is reshuffled every epoch.

    Args:
        batch_size: examples per batch.
        seed: shuffle seed of the train split.
        cache: cache the elements in memory.
        path: the `.npz` file; default the copy shipped with mmzoo.

    Returns:
        `Splits(train, validation, test, inputs, task)`, datasets yielding
        `({"digit": uint8 (b, 28, 28, 1), "voice": float32 (b, 8000)}, int64 (b,))`,
        inputs `[Image("digit"), Audio("voice", sample_rate=8000)]` and task
        `Classification(num_classes=10)`.

    Example:
        >>> splits = load_avmnist_sample(batch_size=8)
        >>> features, labels = next(iter(splits.test))
        >>> sorted(features), tuple(features["voice"].shape), tuple(labels.shape)
        (['digit', 'voice'], (8, 8000), (8,))
        >>> [spec.name for spec in splits.inputs], splits.task.num_classes
        (['digit', 'voice'], 10)
    """
    inputs = avmnist_inputs()
    datasets = {
        split: from_arrays(
            features, labels, inputs=inputs, batch_size=batch_size, shuffle=(split == "train"), seed=seed, cache=cache
        )
        for split, (features, labels) in load_avmnist_sample_arrays(path).items()
    }
    task = Classification(num_classes=10, class_names=list(CLASS_NAMES))
    return Splits(datasets["train"], datasets["validation"], datasets["test"], inputs, task)
