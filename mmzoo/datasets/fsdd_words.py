"""Spoken digits to words: Free Spoken Digit Dataset recordings captioned "zero" ... "nine".

The speech-to-text sanity task of text generation: every FSDD recording (8 kHz
mono, 6 speakers x 50 takes of each digit) paired with its digit's English
word. FSDD's official split: takes 0-4 are the test set (300 recordings);
takes 5-49 are train, of which `val_fraction` of each digit's recordings
(seeded) are held out for validation (with the defaults 2,430 / 270 / 300).
Clips are cropped to their first `seconds` or zero-padded at the end, as in
AV-MNIST (which shares the reading code).
"""

import numpy as np

from mmzoo.data import from_arrays
from mmzoo.datasets.avmnist import SAMPLE_RATE, _assign_splits, _read_clips, _rng, fsdd_recordings
from mmzoo.datasets.avmnist_sample import CLASS_NAMES
from mmzoo.datasets.base import Splits
from mmzoo.datasets.locate import locate
from mmzoo.registry import register_dataset
from mmzoo.specs import Audio

SPLITS = ("train", "validation", "test")
WORDS = tuple(CLASS_NAMES)  # "zero" ... "nine"


def load_fsdd_word_arrays(data_dir=None, seed=0, val_fraction=0.1, seconds=1.0):
    """Loads FSDD as NumPy arrays of waveforms and their digit words, in the official split.

    Args:
        data_dir: folder holding fsdd/recordings/; default `$MMZOO_DATA`.
        seed: seeds the choice of validation recordings.
        val_fraction: share of each digit's train recordings held out for validation.
        seconds: clip length; longer recordings are cropped, shorter ones zero-padded.

    Returns:
        `arrays[split] = {"voice": float32 (n, samples), "word": object (n,),
        "digit": int64 (n,), "file": (n,)}` for "train", "validation" and "test".

    Raises:
        FileNotFoundError: the recordings are missing (the message says how to get them).
        ValueError: `val_fraction` is not in (0, 1).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"FSDD words: val_fraction must be in (0, 1), e.g. 0.1; received {val_fraction!r}.")
    folder = locate("fsdd/recordings", "FSDD words", data_dir)
    rows = fsdd_recordings(folder)
    split, digits = _assign_splits(rows, val_fraction, _rng(seed, "split"))
    num_samples = int(round(SAMPLE_RATE * seconds))
    arrays = {}
    for name in SPLITS:
        index = np.flatnonzero(split == name)
        files = np.array([rows[i][0] for i in index])
        waves, _, _ = _read_clips(folder, files, num_samples)
        arrays[name] = {
            "voice": waves,
            "word": np.array([WORDS[d] for d in digits[index]], dtype=object),
            "digit": digits[index].astype(np.int64),
            "file": files,
        }
    return arrays


@register_dataset("fsdd_words", paper="Free Spoken Digit Dataset: spoken digits to their words (speech to text)")
def fsdd_words(data_dir=None, batch_size=32, seed=0, val_fraction=0.1, seconds=1.0, cache=True):
    """Loads FSDD as batched `tf.data` splits of waveforms and their words, with a `TextGeneration` task.

    Args:
        data_dir, seed, val_fraction, seconds: see `load_fsdd_word_arrays`.
        batch_size: examples per batch.
        cache: cache the elements in memory.

    Returns:
        `Splits(train, validation, test, inputs, task)`: datasets of
        `({"voice": float32 (b, samples)}, string (b,))`, inputs
        `[Audio("voice", sample_rate=8000, seconds=seconds)]` and
        `TextGeneration(target="word", max_length=1)` with its vocabulary
        adapted on the train words (change its decoder's size with
        `dataclasses.replace`, or `task.options` in a YAML config).

    Example:
        >>> splits = fsdd_words()  # doctest: +SKIP
        >>> splits.task.vocabulary  # doctest: +SKIP
        ['eight', 'five', 'four', 'nine', 'one', 'seven', 'six', 'three', 'two', 'zero']
    """
    from mmzoo.tasks.generation import TextGeneration

    arrays = load_fsdd_word_arrays(data_dir, seed, val_fraction, seconds)
    inputs = [Audio("voice", sample_rate=SAMPLE_RATE, seconds=seconds)]
    task = TextGeneration(target="word", max_length=1, vocabulary_size=16).adapt(arrays["train"]["word"])
    datasets = [
        from_arrays(
            {"voice": arrays[name]["voice"]},
            arrays[name]["word"],
            inputs=inputs,
            batch_size=batch_size,
            shuffle=name == "train",
            seed=seed,
            cache=cache,
        )
        for name in SPLITS
    ]
    return Splits(*datasets, inputs, task)
