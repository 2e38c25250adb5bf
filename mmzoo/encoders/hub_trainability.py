"""Which weights of a pretrained KerasHub encoder train: all, none, the top N blocks, or LoRA factors only.

`mmzoo.encoders.keras_hub.KerasHubEncoder` keeps its choice in its config
(`freeze`, `trainable_blocks`, `lora_rank`) and applies it here when it is
built, when a saved model is reloaded, and when `mmzoo.fine_tune` unfreezes
it. Keras's `layer.trainable = True` alone would train every weight again:
the base kernels under LoRA, the blocks below the top N, and weights a
backbone keeps fixed (Whisper's sinusoidal positions, a tower's
`fixed_layers`).
"""

import keras

# Attribute names under which KerasHub backbones keep their stack of blocks (BERT-like text backbones:
# transformer_layers; ViT's encoder, CLIP's towers and mmzoo's Whisper encoder: encoder_layers).
BLOCK_ATTRIBUTES = ("transformer_layers", "encoder_layers")


def set_trainable(layer, value):
    """Keras's `trainable` setter, called even when the value is unchanged.

    On TensorFlow `layer.trainable = v` is skipped when `layer.trainable` is
    already `v` (`mmzoo.encoders.base.propagate_frozen`), and so is the setter's
    walk through the sublayers, whose own flags and variables may differ.
    """
    keras.layers.Layer.trainable.fset(layer, bool(value))


def find_blocks(layer):
    """The stack of transformer blocks of a KerasHub backbone (searched breadth-first), or []."""
    queue = [layer]
    while queue:
        current = queue.pop(0)
        for attribute in BLOCK_ATTRIBUTES:
            blocks = getattr(current, attribute, None)
            if isinstance(blocks, (list, tuple)) and blocks and isinstance(blocks[0], keras.layers.Layer):
                return list(blocks)
        queue.extend(current._flatten_layers(include_self=False, recursive=False))
    return []


def apply_trainability(encoder):
    """Applies `encoder`'s `trainable_blocks`, `lora_rank` or `freeze` to its tower (a `KerasHubEncoder`)."""
    tower = encoder.tower
    blocks = find_blocks(tower[0])
    if encoder.trainable_blocks is not None:
        n = int(encoder.trainable_blocks)
        if not blocks or not 0 <= n <= len(blocks):
            raise ValueError(
                f"Encoder '{encoder.name}': trainable_blocks={n}, but the {type(tower[0]).__name__} backbone "
                f"has {len(blocks)} transformer blocks; pass 0..{len(blocks)}, or freeze=True."
            )
        for layer in tower:
            layer.trainable = False
        for block in blocks[len(blocks) - n :]:
            block.trainable = True
    elif encoder.lora_rank:
        for layer in tower[1:]:
            layer.trainable = False
        if not encoder._lora_enabled:
            tower[0].enable_lora(int(encoder.lora_rank))
            encoder._lora_enabled = True
        else:  # enabled already (unfreezing again): the layers enable_lora left trainable
            for layer in tower[0]._flatten_layers(include_self=False):
                set_trainable(layer, getattr(layer, "lora_enabled", False))
        for variable in tower[0].trainable_weights:  # Keras leaves the adapted layers' biases trainable
            if "lora_kernel" not in variable.path:
                variable.trainable = False
    elif encoder.freeze:
        for layer in tower:
            layer.trainable = False
    fix_fixed_layers(tower)


def fix_fixed_layers(tower):
    """Keeps the layers a backbone never trains (a tower part's `fixed_layers`) untrainable."""
    for part in tower:
        for layer in getattr(part, "fixed_layers", ()):
            set_trainable(layer, False)


def unfreeze(encoder, everything=False):
    """Makes `encoder` trainable again: as its own settings say, or (`everything`) all of it.

    `everything=True` trains every weight but the fixed ones and clears
    `freeze` and `trainable_blocks` from the config; LoRA factors stay in the
    model, and a reloaded LoRA encoder trains them only (its config still
    names `lora_rank`).
    """
    if everything:
        encoder.freeze, encoder.trainable_blocks = False, None
        for layer in encoder._flatten_layers(include_self=True):
            set_trainable(layer, True)
        fix_fixed_layers(encoder.tower)
    else:
        set_trainable(encoder, True)
        apply_trainability(encoder)
