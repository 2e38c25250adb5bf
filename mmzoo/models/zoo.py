"""build_model: the front door to the zoo's registered architectures."""

from mmzoo.models import clip as _clip  # noqa: F401  (register the architectures)
from mmzoo.models.clip import encoder_model
from mmzoo.models.core import build_fusion_model
from mmzoo.registry import MODELS

__all__ = ["build_fusion_model", "build_model", "encoder_model"]


def build_model(name, inputs, task, encoders=None, fusion=None, precision=None, **options):
    """Builds the registered architecture `name` (see `mmzoo.list_models()`).

    Args:
        name: architecture name, e.g. "early_fusion", "tfn", "mult", "clip".
        inputs: list of input specs (2 to 4 for the fusion architectures).
        task: `mmzoo.Classification`, `Regression`, `MultiLabel`, or `Retrieval` (clip).
        encoders: optional `{input_name: encoder name | (name, options) | layer}`.
        fusion: optional fusion override (name, `(name, options)` or layer)
            for architectures built on the generic fusion builder.
        precision: build under this dtype policy: "float32", "mixed_bfloat16",
            "mixed_float16", or "auto" (mixed_float16 on a GPU of compute
            capability 7.0+, mixed_bfloat16 on a TPU, float32 on a CPU); None
            (default): Keras's global policy. Variables stay float32, heads
            and outputs too; each layer's policy is in the saved config
            (`mmzoo.training.precision`).
        **options: architecture options (`head_units`, `dropout`, `name`,
            `missing_modalities`, `modality_dropout`, `fusion_options`, ...).

    Returns:
        A compiled `mmzoo.MultimodalModel`.

    Example:
        >>> import mmzoo
        >>> model = mmzoo.build_model(
        ...     "early_fusion",
        ...     [mmzoo.Image("digit", shape=(28, 28, 1)), mmzoo.Audio("voice", sample_rate=8000)],
        ...     task=mmzoo.Classification(num_classes=10),
        ... )
        >>> sorted(model.input)
        ['digit', 'voice']
    """
    from mmzoo.training.precision import precision_scope  # training imports the models: not at the top

    builder = MODELS.get(name)
    if encoders is not None:
        options["encoders"] = encoders
    if fusion is not None:
        options["fusion"] = fusion
    with precision_scope(precision):
        return builder(inputs, task, **options)
