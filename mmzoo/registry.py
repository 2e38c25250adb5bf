"""The extension points of mmzoo: one registry and one decorator each.

| extension point | decorator | registry |
|---|---|---|
| input spec (by modality) | `register_spec("text")` | `SPECS` |
| encoder | `register_encoder("cnn", modalities=(...))` | `ENCODERS` |
| fusion layer | `register_fusion("tfn", inputs="vectors")` | `FUSIONS` |
| architecture | `register_model("mfb", paper=...)` | `MODELS` |
| task | `register_task("classification")` | `TASKS` |
| dataset loader | `register_dataset("emoji")` | `DATASETS` |
| export format | `register_export_format("onnx")` | `EXPORT_FORMATS` |
| training augmentation | `register_augmentation("flip", modalities=("image",))` | `AUGMENTATIONS` |

The command line, the YAML config, the predict runtime and the generated
docs tables read these registries; adding an entry is one decorated class or
function in one file, imported before it is used. Keras layer classes are
also registered for safe deserialization under the `mmzoo` package.

Example:
    >>> import mmzoo
    >>> from mmzoo.registry import FUSIONS
    >>> "concat" in mmzoo.list_fusions()
    True
"""

import contextlib

import keras


class Registry:
    """A named collection of builders with metadata, erroring helpfully.

    Args:
        kind: what the registry holds ("encoder", "fusion", "model"); used in
            error messages.
        plural: the plural of `kind` (default `kind + "s"`).
    """

    def __init__(self, kind, plural=None):
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self._entries = {}

    def register(self, name, **meta):
        """Decorator registering `obj` under `name` with metadata `meta`.

        Keras layer classes are also registered for safe deserialization
        under the `mmzoo` package, so one decorator is all an entry needs.
        """

        def decorator(obj):
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is already registered.")
            if isinstance(obj, type) and issubclass(obj, keras.layers.Layer):
                obj = keras.saving.register_keras_serializable(package="mmzoo")(obj)
            self._entries[name] = (obj, dict(meta))
            return obj

        return decorator

    def unregister(self, name):
        """Removes the entry `name` (so a plugin can replace it); unknown names list the known."""
        self.get(name)
        del self._entries[name]

    def get(self, name):
        """Returns the builder registered as `name`; unknown names list the known."""
        if name not in self._entries:
            raise ValueError(f"Unknown {self.kind} '{name}'. Known {self.plural}: {', '.join(self.names())}.")
        return self._entries[name][0]

    def meta(self, name):
        self.get(name)
        return dict(self._entries[name][1])

    def names(self, **filters):
        """Sorted names, optionally filtered by metadata (`modality="text"`)."""
        out = []
        for name, (_, meta) in self._entries.items():
            ok = True
            for key, value in filters.items():
                have = meta.get(key)
                if isinstance(have, (tuple, list, set)):
                    ok = ok and value in have
                else:
                    ok = ok and have == value
            if ok:
                out.append(name)
        return sorted(out)

    def __contains__(self, name):
        return name in self._entries


SPECS = Registry("input modality", "input modalities")
ENCODERS = Registry("encoder")
FUSIONS = Registry("fusion")
MODELS = Registry("model")
TASKS = Registry("task")
DATASETS = Registry("dataset")
EXPORT_FORMATS = Registry("export format")
AUGMENTATIONS = Registry("augmentation")

register_spec = SPECS.register
register_encoder = ENCODERS.register
register_fusion = FUSIONS.register
register_model = MODELS.register
register_task = TASKS.register
register_dataset = DATASETS.register
register_export_format = EXPORT_FORMATS.register
register_augmentation = AUGMENTATIONS.register


def list_encoders(modality=None):
    """Names of registered encoders, optionally only those for `modality`."""
    if modality is None:
        return ENCODERS.names()
    return ENCODERS.names(modalities=modality)


def list_fusions():
    """Names of registered fusion layers."""
    return FUSIONS.names()


def list_models():
    """Names of registered architectures, usable with `mmzoo.build_model`."""
    return MODELS.names()


def list_datasets():
    """Names of registered dataset loaders, usable as `dataset.name` in configs and `--dataset`."""
    return DATASETS.names()


def list_export_formats():
    """Names of registered export formats, usable with `mmzoo.export(..., format=NAME)`."""
    return EXPORT_FORMATS.names()


def list_augmentations(modality=None):
    """Names of registered training augmentations, optionally only those for `modality` (`augment=` of a spec)."""
    import mmzoo.augmentation  # noqa: F401  (registers the built-in augmentations)

    return AUGMENTATIONS.names() if modality is None else AUGMENTATIONS.names(modalities=modality)


@contextlib.contextmanager
def restored_registries():
    """Every registry as it was on entry, again on exit: entries registered inside are forgotten.

    For tests and notebooks that register toy entries.

    Example:
        >>> with restored_registries():
        ...     _ = register_dataset("toy")(lambda batch_size, seed: None)
        ...     "toy" in list_datasets()
        True
        >>> "toy" in list_datasets()
        False
    """
    registries = [value for value in globals().values() if isinstance(value, Registry)]
    saved = [dict(registry._entries) for registry in registries]
    try:
        yield
    finally:
        for registry, entries in zip(registries, saved):
            registry._entries.clear()
            registry._entries.update(entries)
