"""The default optimizer of models with pretrained (KerasHub) encoders: warm-up, clipping, two learning rates.

Fine-tuning a pretrained transformer with Adam at a fresh head's learning
rate wrecks its weights in the first steps (Devlin et al. 2019 fine-tune BERT
at 2e-5..5e-5 with linear warm-up; Mosbach et al. 2021, "On the Stability of
Fine-tuning BERT", add gradient clipping). So a model holding a trainable
KerasHub encoder compiles by default with a `SplitOptimizer`: the head at the
model's `learning_rate`, the backbones at their own (the encoder's
`learning_rate`, 5e-5 by default), both AdamW with `WarmUp` and
`clipnorm=1.0` when a backbone is a transformer. A frozen or LoRA encoder
trains nothing of the backbone but its adapters, which take the head's rate.
"""

import keras

from mmzoo.training.split_optimizer import SplitOptimizer

WARMUP_STEPS = 100
CLIPNORM = 1.0
WEIGHT_DECAY = 0.01


@keras.saving.register_keras_serializable(package="mmzoo")
class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from `learning_rate / warmup_steps` to `learning_rate`, then constant.

    Args:
        learning_rate: the rate reached after `warmup_steps` steps.
        warmup_steps: steps of the linear ramp.

    Example:
        >>> schedule = WarmUp(1e-3, warmup_steps=4)
        >>> [round(float(schedule(step)), 5) for step in (0, 1, 3, 10)]
        [0.00025, 0.0005, 0.001, 0.001]
    """

    def __init__(self, learning_rate, warmup_steps=WARMUP_STEPS):
        self.learning_rate = float(learning_rate)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32") + 1.0
        ramp = keras.ops.minimum(step / float(max(self.warmup_steps, 1)), 1.0)
        return self.learning_rate * ramp

    def get_config(self):
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps}


def pretrained_encoders(model):
    """The layers of `model` that are pretrained KerasHub encoders with weights that train."""
    from mmzoo.encoders.keras_hub import KerasHubEncoder

    return [layer for layer in model.layers if isinstance(layer, KerasHubEncoder) and layer.trainable_weights]


def default_optimizer(model, learning_rate, warmup_steps=WARMUP_STEPS, clipnorm=CLIPNORM):
    """The optimizer `mmzoo.build_model` compiles `model` with; None (plain Adam) without pretrained encoders.

    Args:
        model: a built Keras model.
        learning_rate: the head's learning rate (the model's `learning_rate`).
        warmup_steps: steps of the linear warm-up, for transformer backbones.
        clipnorm: gradient clipping by norm, for transformer backbones.

    Returns:
        A `SplitOptimizer` (backbones at their encoder's `learning_rate`), an
        AdamW (LoRA or partly frozen backbones training at the head's rate),
        or None.
    """
    encoders = pretrained_encoders(model)
    if not encoders or callable(learning_rate):
        return None
    transformer = any(layer.transformer for layer in encoders)

    def adamw(rate):
        rate = WarmUp(rate, warmup_steps) if transformer else rate
        return keras.optimizers.AdamW(rate, weight_decay=WEIGHT_DECAY, clipnorm=clipnorm if transformer else None)

    split = [layer for layer in encoders if layer.backbone_learning_rate is not None]
    if not split:
        return adamw(learning_rate)
    rate = min(layer.backbone_learning_rate for layer in split)
    return SplitOptimizer.for_model(model, split, adamw(learning_rate), adamw(rate))
