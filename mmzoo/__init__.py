"""mmzoo: a Keras 3 model zoo for multimodal learning (text, images, audio, features).

Example:
    >>> import mmzoo
    >>> "early_fusion" in mmzoo.list_models()
    True
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mmzoo import data, datasets, plots  # noqa: E402,F401
from mmzoo import encoders as _encoders  # noqa: E402,F401  (registers encoders)
from mmzoo import fusion as _fusion  # noqa: E402,F401  (registers fusions)
from mmzoo import attribution, attribution_plots, comparison_plots  # noqa: E402,F401
from mmzoo.adapt import adapt  # noqa: E402
from mmzoo.attribution import ablation, fusion_weights, integrated_gradients, modality_importance  # noqa: E402
from mmzoo.evaluation import evaluate  # noqa: E402
from mmzoo.export import export, load  # noqa: E402
from mmzoo.model import MultimodalModel  # noqa: E402
from mmzoo.registry import list_encoders, list_fusions, list_models  # noqa: E402
from mmzoo.split_optimizer import SplitOptimizer  # noqa: E402
from mmzoo.transfer import fine_tune, pretrain_contrastive, pretrained_encoders  # noqa: E402
from mmzoo.specs import Audio, Features, Image, Text  # noqa: E402
from mmzoo.tasks import Classification, MultiLabel, Regression, Retrieval  # noqa: E402
from mmzoo.zoo import build_fusion_model, build_model, encoder_model  # noqa: E402
from mmzoo.config import load_config  # noqa: E402
from mmzoo.tuning import tune  # noqa: E402  (imports KerasTuner only when called)
from mmzoo.training import save_artifacts, train  # noqa: E402
from mmzoo import compression  # noqa: E402,F401

__version__ = "0.1.0"

__all__ = [
    "Audio", "Classification", "data", "datasets", "plots", "Features", "Image", "MultimodalModel", "Regression", "Text",
    "MultiLabel", "Retrieval", "adapt", "evaluate", "build_fusion_model", "build_model", "encoder_model", "export", "list_encoders", "list_fusions",
    "list_models", "load", "attribution", "attribution_plots", "comparison_plots", "ablation", "fusion_weights",
    "integrated_gradients", "modality_importance", "SplitOptimizer", "fine_tune", "pretrain_contrastive",
    "pretrained_encoders", "load_config", "tune", "train", "save_artifacts", "compression",
]
