"""Emoji images captioned with their names: the image-to-text task on real artwork.

The images and the split of `mmzoo.datasets.emoji` (seeded, stratified by
Unicode category: 1,332 / 287 / 287 with the defaults), with the CLDR name
("grinning face", "flag: France") as the caption to generate instead of the
category to classify. Names are nearly unique (1,905 names for 1,906 emoji),
so a test caption is almost never seen in training: a model has to compose
it from words it learned ("face", "flag:", "with", colours, objects).
"""

import numpy as np

from mmzoo.data import from_arrays
from mmzoo.datasets.base import Splits
from mmzoo.datasets.emoji import FILE, SPLITS, stratified_split
from mmzoo.datasets.locate import locate
from mmzoo.registry import register_dataset
from mmzoo.specs import Image


def load_emoji_caption_arrays(data_dir=None, seed=0, val_fraction=0.15, test_fraction=0.15):
    """Loads the emoji images with their names as captions, in `mmzoo.datasets.emoji`'s split.

    Args:
        data_dir: folder holding emoji/emoji_twitter64.npz; default `$MMZOO_DATA`.
        seed, val_fraction, test_fraction: the split, as in `mmzoo.datasets.emoji`.

    Returns:
        `arrays[split] = {"image": uint8 (n, 64, 64, 3), "caption": object (n,),
        "category": int64 (n,)}` for "train", "validation" and "test".

    Raises:
        FileNotFoundError: the file is missing (the message says how to get it).
    """
    with np.load(locate(FILE, "Emoji captions", data_dir), allow_pickle=False) as data:
        images, names, labels = data["images"], data["name"].astype(object), data["label"].astype(np.int64)
    split = stratified_split(labels, val_fraction, test_fraction, seed)
    return {
        name: {"image": images[split == name], "caption": names[split == name], "category": labels[split == name]}
        for name in SPLITS
    }


@register_dataset("emoji_captions", paper="Twitter emoji images captioned with their names (image to text)")
def emoji_captions(data_dir=None, batch_size=32, seed=0, val_fraction=0.15, test_fraction=0.15, cache=True):
    """Loads the emoji images and their names as batched `tf.data` splits, with a `TextGeneration` task.

    Args:
        data_dir, seed, val_fraction, test_fraction: see `load_emoji_caption_arrays`.
        batch_size: examples per batch.
        cache: cache the elements in memory.

    Returns:
        `Splits(train, validation, test, inputs, task)`: datasets of
        `({"image": uint8 (b, 64, 64, 3)}, string (b,))`, inputs
        `[Image("image", shape=(64, 64, 3))]` and `TextGeneration(target=
        "caption", max_length=12, standardize=None)` (names kept as written,
        "flag: France" stays so) with its vocabulary adapted on the train
        names (change its decoder's size with `dataclasses.replace`, or
        `task.options` in a YAML config).

    Example:
        >>> splits = emoji_captions()  # doctest: +SKIP
        >>> splits.task.target, splits.task.max_length  # doctest: +SKIP
        ('caption', 12)
    """
    from mmzoo.tasks.generation import TextGeneration

    arrays = load_emoji_caption_arrays(data_dir, seed, val_fraction, test_fraction)
    inputs = [Image("image", shape=(64, 64, 3))]
    task = TextGeneration(target="caption", max_length=12, vocabulary_size=4000, standardize=None)
    task = task.adapt(arrays["train"]["caption"])
    datasets = [
        from_arrays(
            {"image": arrays[name]["image"]},
            arrays[name]["caption"],
            inputs=inputs,
            batch_size=batch_size,
            shuffle=name == "train",
            seed=seed,
            cache=cache,
        )
        for name in SPLITS
    ]
    return Splits(*datasets, inputs, task)
