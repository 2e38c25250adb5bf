"""Late (decision-level) fusion: a head per modality, decisions combined."""

from mmzoo.models.core import build_branches, check_inputs, finish_model
from mmzoo.registry import FUSIONS, register_model


@register_model(
    "late_fusion",
    paper="late (decision-level) fusion; Baltrusaitis et al. 2019 survey",
    fusion="late_fusion",
    fuses="per-modality decisions, averaged or weighted",
)
def build_late_fusion(
    inputs,
    task,
    encoders=None,
    mode="learned",
    head_units=(64,),
    dropout=0.2,
    name="late_fusion",
    compile=True,
    learning_rate=1e-3,
    missing_modalities=False,
    modality_dropout=0.0,
    augment=None,
):
    """Each modality predicts on its own; the `late_fusion` layer combines the decisions.

    Every input gets its own encoder, MLP and output logits; the logits are
    combined by their mean (`mode="mean"`) or learned softmax weights
    (`mode="learned"`), then the task's activation applies.

    Example:
        >>> import mmzoo
        >>> model = mmzoo.build_model("late_fusion", [mmzoo.Image("a", shape=(16, 16, 1)),
        ...     mmzoo.Audio("b", sample_rate=4000, seconds=0.25)], mmzoo.Classification(3))
        >>> model.get_layer("a_logits").output.shape
        (None, 3)
    """
    import keras

    inputs = check_inputs(inputs, encoders)
    keras_inputs, features, presence = build_branches(
        inputs,
        encoders,
        missing_modalities=missing_modalities,
        modality_dropout=modality_dropout,
        name=name,
        augment=augment,
    )
    decisions = {}
    for key, x in features.items():
        for i, units in enumerate(head_units):
            x = keras.layers.Dropout(dropout, name=f"{key}_head_dropout{i}")(x)
            x = keras.layers.Dense(units, activation="relu", name=f"{key}_head_dense{i}")(x)
        decisions[key] = task.logits(x, name=f"{key}_logits")
    fusion = FUSIONS.get("late_fusion")(mode=mode, name=f"{name}_fusion")
    combined = fusion(decisions, presence=presence) if presence is not None else fusion(decisions)
    return finish_model(keras_inputs, task.activate(combined), inputs, task, name, compile, learning_rate, augment)
