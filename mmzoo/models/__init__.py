"""The zoo's architectures and the model class they build.

- `multimodal`: `MultimodalModel`, a functional Keras model that knows its input specs and task.
- `core`: the generic fusion builder; `fusion_models`: the named fusion architectures as presets of it.
- `late_fusion`, `clip`: architectures with a shape of their own.
- `zoo`: `build_model`, the front door; `reference`: the reference input set the zoo is compared on.

Importing this package registers every architecture, and with them every
encoder, fusion, spec and task layer a saved model can hold.
"""

from mmzoo.models import clip, fusion_models, late_fusion  # noqa: F401  (register the architectures)
from mmzoo.models.core import build_fusion_model
from mmzoo.models.multimodal import MultimodalModel
from mmzoo.models.zoo import build_model, encoder_model

__all__ = ["MultimodalModel", "build_fusion_model", "build_model", "encoder_model"]
