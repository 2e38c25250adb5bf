"""The towers of KerasHub dual-encoder presets (CLIP, SigLIP): which layers a tower keeps and how it pools.

A dual-encoder backbone has a `text_encoder` and a `vision_encoder`; mmzoo
gives the text tower to a `Text` input and the vision tower to an `Image`
input and keeps only that tower's layers. The two families differ in where
the pooling lives:

- CLIP (Radford et al. 2021): the tower is `[encoder, projection]`; the
  encoder returns the token/patch sequence and the poolers (the end token of
  the text, the class token of the image) sit in `CLIPBackbone`. KerasHub
  does not register those poolers for deserialization, so a saved model
  naming them would not load in safe mode: mmzoo pools here.
- SigLIP (Zhai et al. 2023): the tower is `[encoder]`, a registered KerasHub
  backbone whose output is already pooled and projected (the vision tower's
  multi-head attention pooling head (MAP), the text tower's last token
  through its `head` Dense). mmzoo runs the encoder's own layers so it can
  also return the sequence before the head; the pooled output is the
  encoder's own.

`similarity_head(backbone)` reads the preset's learned logit scale (and
SigLIP's logit bias), the initial values of the clip architecture's
similarity layer and the scale of `mmzoo.zero_shot_classifier`.
"""

from keras import ops

TOWER_PREFIX = {"text": "text", "image": "vision"}
# CLIP: per tower, the encoder and its projection (poolers done here, see above).
TOWER_PARTS = ("encoder", "projection")


def tower_family(layer):
    """ "siglip" for a SigLIP text/vision encoder, "clip" for a CLIP one, else None (a whole backbone)."""
    import keras_hub

    if isinstance(layer, (keras_hub.models.SigLIPTextEncoder, keras_hub.models.SigLIPVisionEncoder)):
        return "siglip"
    if isinstance(layer, (keras_hub.models.CLIPTextEncoder, keras_hub.models.CLIPVisionEncoder)):
        return "clip"
    return None


def is_dual_encoder(backbone):
    return hasattr(backbone, "text_encoder") and hasattr(backbone, "vision_encoder")


def load_tower(backbone, modality):
    """The layers the encoder keeps: `[backbone]`, or one tower of a CLIP (`[encoder, projection]`) or SigLIP
    (`[encoder]`) preset.

    The other tower is dropped: a `Text` input's encoder holds no vision weights.
    """
    if not is_dual_encoder(backbone):
        return [backbone]
    prefix = TOWER_PREFIX[modality]
    encoder = getattr(backbone, f"{prefix}_encoder")
    family = tower_family(encoder)
    if family == "siglip":
        return [encoder]
    parts = [getattr(backbone, f"{prefix}_{part}", None) for part in TOWER_PARTS]
    if family != "clip" or any(part is None for part in parts) or not hasattr(backbone, f"{prefix}_pooler"):
        raise ValueError(
            f"{type(backbone).__name__} is a dual encoder whose {prefix} tower is neither CLIP's (encoder, pooler, "
            f"projection) nor SigLIP's (an encoder with its own pooling head); mmzoo takes the towers of CLIP "
            f"and SigLIP presets only."
        )
    return parts


def similarity_head(backbone):
    """`{"loss", "log_scale", "bias"}` of a dual-encoder preset's head, or None for other backbones.

    CLIP: `loss="softmax"`, `exp(log_scale)` scales the cosine similarities,
    no bias. SigLIP: `loss="sigmoid"`, plus the learned `bias` added to the
    scaled similarities (probabilities are `sigmoid(scale * cos + bias)`).
    """
    if not is_dual_encoder(backbone):
        return None
    head = getattr(backbone, "siglip_head", None) or getattr(backbone, "clip_head", None)
    if head is None:
        return None
    bias = getattr(head, "logit_bias", None)
    return {
        "loss": "softmax" if bias is None else "sigmoid",
        "log_scale": float(ops.convert_to_numpy(head.logit_scale)),
        "bias": None if bias is None else float(ops.convert_to_numpy(bias)),
    }


def tower_outputs(tower, modality, feed, ids, training=None):
    """`(sequence, pooled)` of a CLIP or SigLIP tower on its input `feed` (a dict, as the encoder takes).

    `ids` are the text's token ids (None for images): CLIP pools at its end
    token, the highest id of its vocabulary.
    """
    encoder = tower[0]
    if tower_family(encoder) == "siglip":
        x = encoder.embedding(feed["token_ids"] if modality == "text" else feed["images"])
        for block in encoder.encoder_layers:
            x = block(x, training=training)
        sequence = encoder.post_layer_norm(x)
        # SigLIP's text reads its padded context and pools the last position ("sticky" end token);
        # its vision tower pools with the attention-pooling head.
        pooled = encoder.head(sequence[:, -1, :] if modality == "text" else sequence, training=training)
        return sequence, pooled
    sequence = encoder(feed, training=training)
    if modality == "text":
        end = ops.expand_dims(ops.expand_dims(ops.argmax(ids, axis=-1), -1), -1)
        pooled = ops.squeeze(ops.take_along_axis(sequence, end, axis=1), 1)
    else:
        pooled = sequence[:, 0, :]
    return sequence, tower[1](pooled)
