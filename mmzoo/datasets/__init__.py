"""Loaders for real datasets, each returning `Splits` (train, validation, test, inputs, task)."""

from mmzoo.datasets.avmnist import avmnist, load_avmnist_arrays
from mmzoo.datasets.avmnist_sample import load_avmnist_sample, load_avmnist_sample_arrays
from mmzoo.datasets.base import Splits
from mmzoo.datasets.emoji import emoji, load_emoji_arrays
from mmzoo.datasets.locate import resolve_data_dir
from mmzoo.datasets.mosi import MOSIRegression, load_mosi_arrays, mosi
from mmzoo.datasets.tfds import from_tfds

__all__ = ["MOSIRegression", "Splits", "avmnist", "emoji", "from_tfds", "load_avmnist_arrays",
           "load_avmnist_sample", "load_avmnist_sample_arrays", "load_emoji_arrays", "load_mosi_arrays",
           "mosi", "resolve_data_dir"]
