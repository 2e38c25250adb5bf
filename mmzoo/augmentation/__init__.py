"""Training-only augmentation per modality, declared on a spec (`augment=`) and stripped from every export.

Importing the package registers the built-in augmentations
(`mmzoo.list_augmentations()`) and their layers.
"""

from mmzoo.augmentation import audio, batch, image, text, video  # noqa: F401  (register the built-in augmentations)
from mmzoo.augmentation.audio import BackgroundNoise, RandomGain, SpecAugment, TimeShift
from mmzoo.augmentation.plan import augment_branch, normalize
from mmzoo.augmentation.stage import Augmentation
from mmzoo.augmentation.strip import has_augmentation, strip_augmentation
from mmzoo.augmentation.text import RandomDeletion, TokenDropout
from mmzoo.augmentation.video import PerClip, TemporalJitter

__all__ = [
    "Augmentation",
    "BackgroundNoise",
    "PerClip",
    "RandomDeletion",
    "RandomGain",
    "SpecAugment",
    "TemporalJitter",
    "TimeShift",
    "TokenDropout",
    "augment_branch",
    "has_augmentation",
    "normalize",
    "strip_augmentation",
]
