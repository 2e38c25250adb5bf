"""Loaders for real datasets, each returning `Splits` (train, validation, test, inputs, task)."""

from mmzoo.datasets.avmnist_sample import load_avmnist_sample, load_avmnist_sample_arrays
from mmzoo.datasets.base import Splits

__all__ = ["Splits", "load_avmnist_sample", "load_avmnist_sample_arrays"]
