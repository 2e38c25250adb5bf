"""The allowlist of what a `.keras` config may name: modelling classes and functions, found without importing.

`mmzoo.artifacts.safety` refuses every config entry whose class or function is not
`allowed_object`: Keras's deserializer resolves any public Keras symbol
(e.g. `keras.datasets.mnist.load_data`, which downloads), so a denylist of
known gadgets always trails the next one.
"""

import functools
import inspect
import sys

import keras
from keras.src import api_export

# Entries that are data, not a class or function Keras looks up.
DATA_MARKERS = frozenset({"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__"})
# Public Keras namespaces whose functions a config may name (activations, loss and metric functions),
# less the helpers that deserialize or look up other objects.
FUNCTION_NAMESPACES = ("activations", "losses", "metrics")
NOT_MODELLING = frozenset({"get", "serialize", "deserialize"})
# Keras modules searched for a function saved with module "builtins" (how Keras saves its losses).
BUILTIN_NAMESPACES = ("activations", "constraints", "initializers", "losses", "metrics", "optimizers", "regularizers")


def resolve_entry(node):
    """Every object Keras's deserializer could resolve a config entry to, found without importing.

    Mirrors `keras.saving.deserialize_keras_object`: the registry of custom
    objects (by `registered_name`, and for functions by name), the public
    Keras API (`module.name`), the Keras built-in modules for
    `module="builtins"`, and for classes a Keras module that is already
    imported. A module Keras would have to import is not imported here:
    the entry then resolves to nothing and is refused.

    Args:
        node: a `{"module", "class_name", "config", "registered_name"}` dict.

    Returns:
        A list of the distinct objects found (empty if none).
    """
    class_name, module = node.get("class_name"), node.get("module")
    registered = node.get("registered_name")
    if class_name == "function":
        name = node.get("config")
        keys = [name, registered]
    else:
        name = class_name
        keys = [registered if "registered_name" in node else class_name]
    found = [keras.saving.get_registered_object(k) for k in keys if isinstance(k, str)]
    if isinstance(module, str) and isinstance(name, str):
        if module == "keras" or module.startswith("keras."):
            found.append(api_export.get_symbol_from_name(f"{module}.{name}"))
            if class_name != "function":
                loaded = sys.modules.get(module)  # Keras would import it; only look if already imported
                found.append(vars(loaded).get(name) if loaded is not None else None)
        elif module == "builtins" and class_name == "function":
            found += [api_export.get_symbol_from_name(f"keras.{namespace}.{name}") for namespace in BUILTIN_NAMESPACES]
    unique = []
    for obj in found:
        if obj is not None and all(obj is not seen for seen in unique):
            unique.append(obj)
    return unique


def allowed_object(obj):
    """Whether a config may name `obj`: a modelling class or function, nothing that loads or runs code.

    Allowed: subclasses of Keras's `Layer` (models included), `Initializer`,
    `Regularizer`, `Constraint`, `Loss`, `Metric`, `Optimizer`,
    `LearningRateSchedule`, `DTypePolicy`, and the quantization settings
    `keras.Model.quantize` records (`QuantizationConfig`, `Quantizer`), except code-carrying layers
    (`Lambda`, `TFSMLayer`); public functions of `keras.activations`,
    `keras.losses` and `keras.metrics`; functions mmzoo registered. Not
    allowed: everything else, e.g. `keras.datasets.mnist.load_data` or
    `keras.utils.get_file`.

    Example:
        >>> import keras
        >>> allowed_object(keras.activations.relu), allowed_object(keras.layers.Dense)
        (True, True)
        >>> allowed_object(keras.datasets.mnist.load_data), allowed_object(keras.layers.Lambda)
        (False, False)
    """
    if isinstance(obj, type):
        return issubclass(obj, _allowed_bases()) and not issubclass(obj, _code_classes())
    return obj in _allowed_functions() or (
        inspect.isfunction(obj)
        and obj.__module__.split(".")[0] == "mmzoo"
        and keras.saving.get_registered_name(obj).startswith("mmzoo>")
    )


@functools.cache
def _allowed_bases():
    return (
        keras.layers.Layer,
        keras.initializers.Initializer,
        keras.regularizers.Regularizer,
        keras.constraints.Constraint,
        keras.losses.Loss,
        keras.metrics.Metric,
        keras.optimizers.Optimizer,
        keras.optimizers.schedules.LearningRateSchedule,
        keras.dtype_policies.DTypePolicy,
        keras.quantizers.QuantizationConfig,
        keras.quantizers.Quantizer,
    )


@functools.cache
def _code_classes():
    return (keras.layers.Lambda, keras.layers.TFSMLayer)


@functools.cache
def _allowed_functions():
    namespaces = [getattr(keras, name) for name in FUNCTION_NAMESPACES]
    return frozenset(
        getattr(ns, name)
        for ns in namespaces
        for name in dir(ns)
        if not name.startswith("_") and name not in NOT_MODELLING and inspect.isfunction(getattr(ns, name))
    )
