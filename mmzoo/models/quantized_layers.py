"""Quantized layers a `.keras` file would otherwise lose: recorded in the model config, re-quantized on load.

Keras records a layer's dtype policy (e.g. "int8_from_float32") in the layer's
own config, so the layers of a functional model reload quantized. A layer
built inside a custom layer's `__init__` (the `proj` Dense of a zoo encoder,
the projections of a fusion) is rebuilt from its parent's constructor
arguments instead, float32, and the saved int8 weights would not load into
it. `MultimodalModel` therefore lists every quantized layer in its config
(`quantized_entries`) and quantizes them again when the model is rebuilt,
before Keras loads the weights (`restore_quantization`).
"""


def walk(model, prefix="", position=()):
    """Yields `(path, position, layer, parent)` for every layer nested in `model`, depth first.

    `path` joins layer names with "/"; `position` is the tuple of child
    indices, which identifies auto-named sublayers whose names differ from
    one construction to the next.
    """
    for index, layer in enumerate(model._flatten_layers(include_self=False, recursive=False)):
        path, where = f"{prefix}{layer.name}", (*position, index)
        yield path, where, layer, model
        yield from walk(layer, f"{path}/", where)


def is_leaf(layer):
    """True for a layer without sublayers."""
    return len(list(layer._flatten_layers())) == 1


def quantized_entries(model):
    """`[{"layer": path, "position": [...], "type": class name, "mode": mode}]` of the quantized layers in `model`.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
        >>> model.get_layer("d").quantize("int8")
        >>> quantized_entries(model)
        [{'layer': 'd', 'position': [1], 'type': 'Dense', 'mode': 'int8'}]
    """
    return [
        {"layer": path, "position": list(position), "type": type(layer).__name__, "mode": layer.quantization_mode}
        for path, position, layer, _ in walk(model)
        if is_leaf(layer) and layer.quantization_mode
    ]


def _find(model, entry):
    """The layer an entry names: by name at each level, by position where the name is not found."""
    layer = model
    names = entry["layer"].split("/")
    for depth, index in enumerate(entry["position"]):
        children = list(layer._flatten_layers(include_self=False, recursive=False))
        by_name = [c for c in children if c.name == names[depth]] if depth < len(names) else []
        if by_name:
            layer = by_name[0]
        elif index < len(children):
            layer = children[index]
        else:
            return None
    return layer


def restore_quantization(model, entries):
    """Quantizes the layers `entries` lists (from `quantized_entries`) that are not quantized yet.

    Args:
        model: the rebuilt model (built, weights not loaded yet).
        entries: the list stored in the model config.

    Returns:
        The entries (a list), for the rebuilt model's config.

    Raises:
        ValueError: an entry names no layer of `model`, or a layer of another type.
    """
    for entry in entries:
        layer = _find(model, entry)
        if layer is None or type(layer).__name__ != entry["type"]:
            found = "no layer" if layer is None else f"a {type(layer).__name__}"
            raise ValueError(
                f"Model '{model.name}' records the quantized {entry['type']} '{entry['layer']}' "
                f"(position {entry['position']}), but its rebuilt structure has {found} there; "
                f"the file was written by a different version of the layers."
            )
        if layer.quantization_mode != entry["mode"]:
            layer.quantize(entry["mode"])
    return [dict(e) for e in entries]
