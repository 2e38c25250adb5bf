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

from mmzoo.datasets.avmnist import SAMPLE_RATE, _assign_splits, _read_clips, _rng, fsdd_recordings
from mmzoo.datasets.avmnist_sample import CLASS_NAMES
from mmzoo.datasets.locate import locate

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
