"""Move a built model into a strategy's scope and/or a mixed-precision policy: rebuild, copy state.

Variables belong to the strategy whose scope created them, and a layer's
dtype policy is fixed when it is built. So a model built outside a strategy,
or under float32, is *rebuilt* from its config inside the scope, under the
policy, and its state is copied over: every variable (weights, normalisation
statistics, dropout RNG states), lookup vocabularies, the compile
configuration and, when the optimizer is the same kind, its state.

Precision: every layer whose dtype policy is the model's own (e.g. float32)
follows the new policy, as if the model had been built under it; output
layers and the weight-free layers feeding only them (softmax heads, CLIP's
L2 normalisation) stay float32, input normalisation and lookups keep their
dtype (raw feature scales can overflow float16), and zoo layers compute their softmaxes,
outer products and normalisations in float32 themselves. With
"mixed_float16", Keras compiles a loss-scaling optimizer.

Example:
    >>> import keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> mixed = place(model, precision="mixed_bfloat16")
    >>> [layer.dtype_policy.name for layer in mixed.layers]
    ['mixed_bfloat16', 'float32']
    >>> place(model) is model   # nothing to change: the model itself
    True
"""

import os
import tempfile

import keras
import tensorflow as tf

from mmzoo.training.distribute import is_default
from mmzoo.training.precision import resolve_precision

# Input normalisation and lookups keep their dtype: raw feature scales can overflow float16; audio
# converters (log-mel features of a pretrained encoder) too: their FFT takes float32 only.
KEEP_DTYPE_CLASSES = (
    "Normalization",
    "TextVectorization",
    "StringLookup",
    "IntegerLookup",
    "Discretization",
    "AudioConverter",
    "WhisperAudioConverter",
)


def model_precision(model):
    """The dtype policy name the model was built under (e.g. "float32")."""
    return model.dtype_policy.name


def needs_rebuild(model, strategy=None, precision=None):
    """True if `model` must be rebuilt to train under `strategy` / `precision`."""
    precision = resolve_precision(precision)
    moves = strategy is not None and not is_default(strategy) and model.distribute_strategy is not strategy
    return moves or (precision is not None and precision != model_precision(model))


def place(model, strategy=None, precision=None):
    """`model` rebuilt inside `strategy.scope()` under `precision`, its state copied; `model` if nothing changes.

    Args:
        model: a compiled model that can be rebuilt from its config
            (functional, `Sequential`, or a subclass with `get_config`).
        strategy: a `tf.distribute.Strategy` (None: the current one).
        precision: "float32", "mixed_float16", "mixed_bfloat16", "auto"
            (`mmzoo.training.precision.resolve_precision`) or None (keep).

    Returns:
        The model to train: a new, compiled model, or `model` itself.

    Raises:
        ValueError: `model` is not compiled, or its config cannot be rebuilt.
    """
    strategy = strategy or tf.distribute.get_strategy()
    precision = resolve_precision(precision)
    if not needs_rebuild(model, strategy, precision):
        return model
    if not getattr(model, "compiled", False):
        raise ValueError(
            f"Model '{model.name}' must be compiled before training under a strategy or precision "
            f"(it is rebuilt with its compile configuration)."
        )
    target = precision or model_precision(model)
    serialized = _config_under(model, target)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(target)
    try:
        with strategy.scope():
            try:
                placed = keras.saving.deserialize_keras_object(serialized)
            except (TypeError, ValueError, NotImplementedError) as error:
                raise ValueError(
                    f"Model '{model.name}' cannot be rebuilt from its config to train under "
                    f"{strategy.__class__.__name__} / {target} ({error}). Build it inside "
                    f"strategy.scope() under the dtype policy yourself."
                ) from None
            copy_state(model, placed)
            placed.compile_from_config(model.get_compile_config())  # also builds the optimizer, in scope
            if placed.optimizer is not None and not placed.optimizer.built:
                placed.optimizer.build(placed.trainable_variables)
            copy_optimizer_state(model, placed)
    finally:
        keras.config.set_dtype_policy(previous)
    return placed


def float32_copy(model):
    """`model` rebuilt under float32 with its state (uncompiled); `model` itself if it is float32.

    For exports that compute in float32 (TFLite has no bfloat16 matmul
    kernel): layers that followed the mixed policy follow float32.
    """
    if model_precision(model) == "float32":
        return model
    serialized = _config_under(model, "float32")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        copy = keras.saving.deserialize_keras_object(serialized)
    finally:
        keras.config.set_dtype_policy(previous)
    copy_state(model, copy)
    return copy


def _config_under(model, target):
    """`model`'s serialized config (no compile config) with the layers that follow its policy following `target`."""
    source = model_precision(model)
    serialized = keras.saving.serialize_keras_object(model)
    serialized.pop("compile_config", None)
    serialized["config"].pop("dtype", None)  # a MultimodalModel's own policy: the target's, from the global policy
    if target != source:
        keep = float32_layers(model, serialized["config"])
        serialized["config"] = retype_config(serialized["config"], source, target, keep=keep)
    return serialized


def float32_layers(model, config=None):
    """Names of the top-level layers that stay float32: outputs, and weight-free layers feeding only them.

    Read from the model's config: a functional model's `inbound_nodes` and
    `output_layers`, or a `Sequential` model's layer order.
    """
    config = config if config is not None else model.get_config()
    entries = [entry for entry in config.get("layers", []) if isinstance(entry, dict) and "config" in entry]
    names = [entry["config"].get("name") for entry in entries]
    consumers = {name: set() for name in names}
    if "output_layers" in config:  # functional
        for entry in entries:
            for producer in _producers(entry.get("inbound_nodes", [])):
                consumers.setdefault(producer, set()).add(entry["config"].get("name"))
        keep = set(_producers(config["output_layers"], top=True))
    else:  # Sequential: a chain
        for first, second in zip(names, names[1:]):
            consumers[first].add(second)
        keep = {names[-1]} if names else set()
    weightless = {name for name in names if not _weights(model, name)}
    changed = True
    while changed:
        changed = False
        for name in names:
            if name not in keep and name in weightless and consumers[name] and consumers[name] <= keep:
                keep.add(name)
                changed = True
    return keep


def _producers(node, top=False):
    """Layer names referenced by keras-tensor histories (or, `top`, `[name, node, index]` triples) in `node`."""
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            yield node["config"]["keras_history"][0]
            return
        for value in node.values():
            yield from _producers(value, top)
    elif isinstance(node, (list, tuple)):
        if top and len(node) == 3 and isinstance(node[0], str) and all(isinstance(i, int) for i in node[1:]):
            yield node[0]
            return
        for value in node:
            yield from _producers(value, top)


def _weights(model, name):
    try:
        return model.get_layer(name).weights
    except ValueError:
        return [None]


def retype_config(config, source, target, keep=()):
    """A copy of a model config with every `source` dtype policy following `target`.

    A layer config whose policy is `source` loses its "dtype" entry, so the
    layer (nested ones included) takes the global policy when it is rebuilt
    under `target`, just as a fresh build would; the top-level layers named
    in `keep` are pinned to float32, and input normalisation and lookup
    layers (`KEEP_DTYPE_CLASSES`) keep their dtype.

    Example:
        >>> dense = {"class_name": "Dense", "config": {"name": "d", "dtype": {"class_name": "DTypePolicy",
        ...          "config": {"name": "float32"}}}}
        >>> retype_config({"layers": [dense]}, "float32", "mixed_float16")["layers"][0]["config"]
        {'name': 'd'}
    """

    def convert(node, top_level=False):
        if isinstance(node, list):
            return [convert(item, top_level) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: convert(v, top_level=(k == "layers" and top_level)) for k, v in node.items()}
        layer = out.get("config") if isinstance(out.get("config"), dict) else None
        if (
            layer is not None
            and out.get("class_name") not in KEEP_DTYPE_CLASSES
            and _policy_name(layer.get("dtype")) == source
        ):
            if top_level and layer.get("name") in keep:
                layer["dtype"] = "float32"
            else:
                del layer["dtype"]
        return out

    return {k: convert(v, top_level=(k == "layers")) for k, v in config.items()}


def _policy_name(dtype):
    if isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy":
        return dtype.get("config", {}).get("name")
    return None


def copy_state(source, target):
    """Copies every variable and the lookup vocabularies (assets) of `source` into the same-config `target`."""
    if len(source.variables) != len(target.variables):
        raise ValueError(
            f"Cannot copy the state of '{source.name}': it has {len(source.variables)} variables, "
            f"the rebuilt model {len(target.variables)}."
        )
    for src, dst in zip(source.variables, target.variables):
        if tuple(src.shape) != tuple(dst.shape):
            raise ValueError(f"Cannot copy variable '{src.path}': shape {tuple(src.shape)} vs {tuple(dst.shape)}.")
        dst.assign(src.value)
    for src, dst in zip(_layers(source), _layers(target)):
        if hasattr(src, "save_assets") and hasattr(dst, "load_assets"):
            with tempfile.TemporaryDirectory() as folder:  # vocabularies are assets, not variables
                src.save_assets(folder)
                if os.listdir(folder):
                    dst.load_assets(folder)
        if hasattr(dst, "finalize_state"):
            dst.finalize_state()  # e.g. Normalization's mean/variance from its adapted statistics


def copy_optimizer_state(source, target):
    """Copies optimizer variables (step count, moments) when both optimizers are the same kind; True if copied.

    A loss-scaling wrapper is looked through (its inner optimizer holds the
    state), and an unbuilt `target` optimizer is built first.
    """
    src, dst = _inner(getattr(source, "optimizer", None)), _inner(getattr(target, "optimizer", None))
    if src is None or dst is None or not src.built or type(src) is not type(dst):
        return False
    if not dst.built:
        dst.build(target.trainable_variables)
    if [tuple(v.shape) for v in src.variables] != [tuple(v.shape) for v in dst.variables]:
        return False
    for a, b in zip(src.variables, dst.variables):
        b.assign(a.value)
    return True


def _inner(optimizer):
    return optimizer.inner_optimizer if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else optimizer


def _layers(model):
    """Every layer of `model`, nested layers included (a KerasHub tokenizer inside an mmzoo layer), in a stable order."""
    return model._flatten_layers(include_self=False)
