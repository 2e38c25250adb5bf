"""Loaders for real datasets, each returning `Splits` (train, validation, test, inputs, task).

Every loader is registered with `mmzoo.registry.register_dataset`; `load(name)`
runs one by name, as the YAML key `dataset.name` and `--dataset` do.
"""

import inspect

from mmzoo.datasets.avmnist import avmnist, load_avmnist_arrays
from mmzoo.datasets.avmnist_sample import load_avmnist_sample, load_avmnist_sample_arrays
from mmzoo.datasets.base import Splits
from mmzoo.datasets.emoji import emoji, load_emoji_arrays
from mmzoo.datasets.locate import resolve_data_dir
from mmzoo.datasets.mosi import MOSIRegression, load_mosi_arrays, mosi
from mmzoo.datasets.moving_mnist_fsdd import load_moving_mnist_fsdd_arrays, moving_mnist_fsdd
from mmzoo.datasets.tfds import from_tfds


def load(name, batch_size=32, seed=0, data_dir=None, **options):
    """The `Splits` of the registered dataset `name` (see `mmzoo.registry.list_datasets()`).

    Args:
        name: a registered dataset, e.g. "avmnist_sample", "emoji", "mosi".
        batch_size, seed: batching and the seed of shuffles and splits.
        data_dir: the real data folder, for loaders that read one (default `$MMZOO_DATA`).
        **options: the loader's own options.

    Example:
        >>> import mmzoo
        >>> splits = mmzoo.datasets.load("avmnist_sample", batch_size=8)
        >>> sorted(spec.name for spec in splits.inputs)
        ['digit', 'voice']
    """
    function, fixed = loader(name)
    kwargs = {"batch_size": batch_size, "seed": seed, **fixed, **options}
    if "data_dir" in inspect.signature(function).parameters:
        kwargs["data_dir"] = data_dir
    return function(**kwargs)


def loader(name):
    """The registered loader `name` and the keyword arguments its registration fixes (e.g. a variant)."""
    from mmzoo.registry import DATASETS

    return DATASETS.get(name), DATASETS.meta(name).get("options", {})


__all__ = [
    "MOSIRegression",
    "load",
    "loader",
    "Splits",
    "avmnist",
    "emoji",
    "from_tfds",
    "load_avmnist_arrays",
    "load_avmnist_sample",
    "load_avmnist_sample_arrays",
    "load_emoji_arrays",
    "load_mosi_arrays",
    "load_moving_mnist_fsdd_arrays",
    "mosi",
    "moving_mnist_fsdd",
    "resolve_data_dir",
]
