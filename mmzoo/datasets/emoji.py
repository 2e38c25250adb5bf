"""Twemoji images with their CLDR names, classified into 9 Unicode categories.

1,906 emoji from the `emoji-datasource-twitter` 16.0.0 package: a 64x64 RGB
Twemoji image (artwork CC BY 4.0, Twitter) and its name plus short names
(e.g. "grinning face ; grinning"), labelled with its Unicode emoji category
("Smileys & Emotion", "Flags", ...). The category can often be read from the
name alone: a real image+text set for smoke tests and demos, not a benchmark.
The split is a seeded stratified one: in every category, `round(test_fraction
* n)` emoji go to test and `round(val_fraction * n)` to validation, the rest
to train (with the defaults 1,332 / 287 / 287).
"""

import numpy as np

from mmzoo.data import from_arrays
from mmzoo.datasets.base import Splits
from mmzoo.datasets.locate import locate
from mmzoo.registry import register_dataset
from mmzoo.specs import Image, Text
from mmzoo.tasks.task import Classification

FILE = "emoji/emoji_twitter64.npz"
SPLITS = ("train", "validation", "test")
NAMES = {"all": "text", "first": "name"}  # the "name" input: name and short names, or the name alone


def stratified_split(labels, val_fraction, test_fraction, seed):
    """Split name per example: per class, seeded, `round(fraction * n)` to test and validation."""
    if not (0 < val_fraction and 0 < test_fraction and val_fraction + test_fraction < 1):
        raise ValueError(
            f"Emoji needs val_fraction > 0, test_fraction > 0 and their sum below 1; "
            f"received {val_fraction!r} and {test_fraction!r}."
        )
    rng = np.random.default_rng(seed)
    split = np.full(len(labels), "train", dtype="<U10")
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(test_fraction * len(members)))
        n_val = int(round(val_fraction * len(members)))
        split[members[:n_test]] = "test"
        split[members[n_test : n_test + n_val]] = "validation"
    return split


def load_emoji_arrays(data_dir=None, seed=0, val_fraction=0.15, test_fraction=0.15, names="all"):
    """Loads the emoji set as NumPy arrays, split stratified by category.

    Args:
        data_dir: folder holding emoji/emoji_twitter64.npz; default `$MMZOO_DATA`.
        seed: seeds the split.
        val_fraction, test_fraction: share of every category for validation and test.
        names: the "name" input: "all" (the name and short names, "grinning
            face ; grinning") or "first" (the name alone, "grinning face"; a
            caption to generate).

    Returns:
        `(arrays, categories)`: `arrays[split] = ({"image": uint8 (n, 64, 64, 3),
        "name": object (n,)}, int64 (n,))` and the 9 category names.

    Raises:
        FileNotFoundError: the file is missing (the message says how to get it).
    """
    if names not in NAMES:
        raise ValueError(f"Emoji names must be one of {sorted(NAMES)}; received {names!r}.")
    with np.load(locate(FILE, "Emoji", data_dir), allow_pickle=False) as data:
        images, text = data["images"], data[NAMES[names]].astype(object)
        labels, categories = data["label"].astype(np.int64), [str(c) for c in data["categories"]]
    split = stratified_split(labels, val_fraction, test_fraction, seed)
    arrays = {
        name: ({"image": images[split == name], "name": text[split == name]}, labels[split == name]) for name in SPLITS
    }
    return arrays, categories


@register_dataset("emoji", paper="Twitter emoji images with their names (image + text)")
def emoji(
    data_dir=None,
    batch_size=32,
    seed=0,
    val_fraction=0.15,
    test_fraction=0.15,
    vocabulary_size=4000,
    sequence_length=16,
    cache=True,
    names="all",
):
    """Loads the emoji image+name set as batched `tf.data` splits.

    Args:
        data_dir, seed, val_fraction, test_fraction, names: see `load_emoji_arrays`.
        batch_size: examples per batch.
        vocabulary_size: largest vocabulary of the "name" input (the train
            names hold 1,835 distinct words with the defaults).
        sequence_length: tokens per name (names have at most 23).
        cache: cache the elements in memory.

    Returns:
        `Splits(train, validation, test, inputs, task)`: datasets of
        `({"image": uint8 (b, 64, 64, 3), "name": string (b,)}, int64 (b,))`,
        inputs `[Image("image"), Text("name")]` (the vocabulary adapted on the
        train names only) and `Classification(9, class_names=categories)`.

    Example:
        >>> splits = emoji()  # doctest: +SKIP
        >>> splits.task.class_names[:2]  # doctest: +SKIP
        ['Activities', 'Animals & Nature']
    """
    arrays, categories = load_emoji_arrays(data_dir, seed, val_fraction, test_fraction, names)
    text = Text("name", vocabulary_size=vocabulary_size, sequence_length=sequence_length)
    text.adapt(arrays["train"][0]["name"])
    inputs = [Image("image", shape=(64, 64, 3)), text]
    datasets = [
        from_arrays(x, y, inputs=inputs, batch_size=batch_size, shuffle=(name == "train"), seed=seed, cache=cache)
        for name, (x, y) in ((n, arrays[n]) for n in SPLITS)
    ]
    task = Classification(num_classes=len(categories), class_names=categories)
    return Splits(*datasets, inputs, task)
