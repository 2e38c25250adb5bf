"""Encoders: one preprocessed input -> features. Importing registers every module here."""

import importlib
import pkgutil

from mmzoo.encoders.base import Encoder

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Encoder"]
