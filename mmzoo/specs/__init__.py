"""Input specs: one named model input each, owning its in-graph preprocessing."""

from mmzoo.specs.audio import Audio
from mmzoo.specs.base import Spec, spec_from_config
from mmzoo.specs.features import Features
from mmzoo.specs.image import Image
from mmzoo.specs.text import Text
from mmzoo.specs.video import Video

__all__ = ["Audio", "Features", "Image", "Spec", "Text", "Video", "spec_from_config"]
