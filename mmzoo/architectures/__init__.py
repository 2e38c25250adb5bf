"""The zoo's architectures. Importing registers every module here."""

import importlib
import pkgutil

from mmzoo.architectures.core import build_fusion_model

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["build_fusion_model"]
