"""mmzoo: a Keras 3 model zoo for multimodal learning (text, images, audio, features).

Importing mmzoo registers every layer a saved mmzoo model can hold, so
`keras.saving.load_model` opens mmzoo's `.keras` files with no `custom_objects`.
It sets no environment variable, matplotlib backend or global Keras setting.
When the package is imported to run `python -m mmzoo`, nothing is imported
until a command needs it, so `python -m mmzoo --help` answers without loading
TensorFlow; any public name read from the package then loads the whole API.

Example:
    >>> import mmzoo
    >>> "early_fusion" in mmzoo.list_models()
    True
"""

import importlib as _importlib
import sys as _sys

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None means the module itself
_PUBLIC = {
    "Audio": ("mmzoo.specs", "Audio"),
    "Features": ("mmzoo.specs", "Features"),
    "Image": ("mmzoo.specs", "Image"),
    "Text": ("mmzoo.specs", "Text"),
    "Video": ("mmzoo.specs", "Video"),
    "adapt": ("mmzoo.specs.adapt", "adapt"),
    "infer_inputs": ("mmzoo.data.infer", "infer_inputs"),
    "Classification": ("mmzoo.tasks", "Classification"),
    "MultiLabel": ("mmzoo.tasks", "MultiLabel"),
    "Regression": ("mmzoo.tasks", "Regression"),
    "Retrieval": ("mmzoo.tasks", "Retrieval"),
    "MultimodalModel": ("mmzoo.models", "MultimodalModel"),
    "build_model": ("mmzoo.models", "build_model"),
    "build_fusion_model": ("mmzoo.models", "build_fusion_model"),
    "encoder_model": ("mmzoo.models", "encoder_model"),
    "list_encoders": ("mmzoo.registry", "list_encoders"),
    "list_fusions": ("mmzoo.registry", "list_fusions"),
    "list_models": ("mmzoo.registry", "list_models"),
    "train": ("mmzoo.training", "train"),
    "fit": ("mmzoo.experiments.own_data", "fit"),
    "save_artifacts": ("mmzoo.experiments.artifacts", "save_artifacts"),
    "SplitOptimizer": ("mmzoo.training.split_optimizer", "SplitOptimizer"),
    "distill": ("mmzoo.training.distillation", "distill"),
    "fine_tune": ("mmzoo.training.transfer", "fine_tune"),
    "pretrain_contrastive": ("mmzoo.training.transfer", "pretrain_contrastive"),
    "pretrained_encoders": ("mmzoo.training.transfer", "pretrained_encoders"),
    "export": ("mmzoo.artifacts.export", "export"),
    "load": ("mmzoo.artifacts.export", "load"),
    "evaluate": ("mmzoo.analysis.evaluation", "evaluate"),
    "ablation": ("mmzoo.analysis.attribution", "ablation"),
    "fusion_weights": ("mmzoo.analysis.attribution", "fusion_weights"),
    "integrated_gradients": ("mmzoo.analysis.attribution", "integrated_gradients"),
    "modality_importance": ("mmzoo.analysis.attribution", "modality_importance"),
    "load_config": ("mmzoo.experiments.config", "load_config"),
    "tune": ("mmzoo.experiments.tuning", "tune"),
    "data": ("mmzoo.data", None),
    "datasets": ("mmzoo.datasets", None),
    "plots": ("mmzoo.plots", None),
    "attribution": ("mmzoo.analysis.attribution", None),
    "compression": ("mmzoo.analysis.compression", None),
    "attribution_plots": ("mmzoo.plots.attribution", None),
    "comparison_plots": ("mmzoo.plots.comparison", None),
}
# modules whose import registers layers a saved model can hold, beyond those the public names import
_REGISTERING = ("mmzoo.artifacts.frontend",)

__all__ = sorted(_PUBLIC)


def _load_api():
    for module in _REGISTERING:
        _importlib.import_module(module)
    for name, (module, attribute) in _PUBLIC.items():
        value = _importlib.import_module(module)
        globals()[name] = value if attribute is None else getattr(value, attribute)


def __getattr__(name):
    if name in _PUBLIC:
        _load_api()
        return globals()[name]
    raise AttributeError(f"module 'mmzoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))


# `python -m mmzoo` imports this package with sys.argv[0] == "-m" before running __main__.
if _sys.argv[:1] != ["-m"]:
    _load_api()
