"""What `augment=` may say, in one canonical form, and the branch layers built from it."""

from mmzoo.augmentation.stage import Augmentation
from mmzoo.registry import AUGMENTATIONS

STAGES = ("raw", "features")  # before the spec's in-graph preprocessing, and on what the encoder receives


def normalize(augment, where, modality=None):
    """`augment=` as an ordered `{name: {option: value}}` dict; a `ValueError` starting with `where` otherwise.

    Accepted: None; a name; a list of names, `{name: options}` dicts or
    `[name, options]` pairs; or a dict `{name: options}`. Options are a dict
    of the augmentation's arguments, True or None for its defaults, or one
    value for its main argument (e.g. `{"flip": "horizontal", "rotation": 0.1}`).

    Example:
        >>> normalize({"flip": "horizontal", "rotation": 0.1}, "Image input 'photo'", "image")
        {'flip': {'mode': 'horizontal'}, 'rotation': {'factor': 0.1}}
        >>> normalize(["spec_augment"], "Audio input 'voice'", "audio")
        {'spec_augment': {}}
    """
    import mmzoo.augmentation  # noqa: F401  (registers the built-in augmentations)

    if augment is None or augment is False:
        return {}
    if isinstance(augment, str):
        augment = [augment]
    items = []
    if isinstance(augment, dict):
        items = list(augment.items())
    elif isinstance(augment, (list, tuple)):
        for entry in augment:
            if isinstance(entry, str):
                items.append((entry, None))
            elif isinstance(entry, dict) and len(entry) == 1:
                items.extend(entry.items())
            elif isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str):
                items.append(tuple(entry))
            else:
                raise ValueError(
                    f"{where}: augment= entries are names, {{name: options}} dicts or [name, options] pairs; "
                    f"received {entry!r}."
                )
    else:
        raise ValueError(
            f"{where}: augment= expects a list of augmentations or a dict {{name: options}}; "
            f"received {type(augment).__name__} {augment!r}."
        )
    known = AUGMENTATIONS.names(modalities=modality) if modality else AUGMENTATIONS.names()
    out = {}
    for name, options in items:
        if name not in known:
            raise ValueError(
                f"{where}: unknown augmentation {name!r}; augmentations for {modality or 'any'} inputs: "
                f"{', '.join(known) or 'none'}."
            )
        if name in out:
            raise ValueError(f"{where}: augmentation {name!r} is given twice; give it once with its options.")
        if options is None or options is True:
            options = {}
        elif not isinstance(options, dict):
            options = {AUGMENTATIONS.meta(name)["primary"]: list(options) if isinstance(options, tuple) else options}
        out[name] = dict(options)
    return out


def augmentation_layer(spec, augment, stage):
    """The `Augmentation` layer of `spec`'s augmentations at `stage` ("raw" or "features"), or None."""
    layers = []
    for name, options in augment.items():
        if AUGMENTATIONS.meta(name)["stage"] != stage:
            continue
        try:
            layers.append(AUGMENTATIONS.get(name)(spec, **options))
        except TypeError as error:
            raise ValueError(
                f"{spec.modality.capitalize()} input '{spec.name}': augmentation {name!r} options {options}: {error}"
            ) from None
    if not layers:
        return None
    suffix = "_augment" if stage == "features" else "_augment_raw"
    return Augmentation(layers, name=f"{spec.name}{suffix}")


def augment_branch(spec, x, augment=None, preprocess=None, encoder_features=False):
    """`spec.preprocess(x)` with `spec`'s training augmentations around it (`augment` overrides `spec.augment`).

    `preprocess` replaces `spec.preprocess` where the encoder brings its own (a pretrained tokenizer).
    `encoder_features`: the encoder computes its features itself (a Whisper preset's log-mel), so
    augmentations of the features stage have nothing to act on and are refused.

    Returns:
        The encoder's input: the preprocessed tensor, augmented in training.
    """
    where = f"{spec.modality.capitalize()} input '{spec.name}'"
    plan = normalize(augment, where, spec.modality) if augment is not None else (spec.augment or {})
    late = [name for name in plan if AUGMENTATIONS.meta(name)["stage"] == "features"]
    if encoder_features and late:
        early = [n for n in AUGMENTATIONS.names(modalities=spec.modality) if AUGMENTATIONS.meta(n)["stage"] == "raw"]
        raise ValueError(
            f"{where}: augmentation {', '.join(map(repr, late))} acts on the spec's features, but its encoder "
            f"computes its own features from the raw input. Use augmentations of the raw input: {', '.join(early)}."
        )
    raw = augmentation_layer(spec, plan, "raw")
    x = (preprocess or spec.preprocess)(raw(x) if raw is not None else x)
    features = augmentation_layer(spec, plan, "features")
    return features(x) if features is not None else x
