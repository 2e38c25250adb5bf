"""Fusion layers: modality-keyed features -> one representation. Importing registers them."""

from mmzoo.fusion.base import Fusion
from mmzoo.fusion.concat import ConcatFusion

__all__ = ["ConcatFusion", "Fusion"]
