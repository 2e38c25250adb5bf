"""Fusion layers: modality-keyed features -> one representation. Importing registers every module."""

import importlib
import pkgutil

from mmzoo.fusion.base import Fusion

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Fusion"]
