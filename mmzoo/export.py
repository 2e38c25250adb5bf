"""SavedModel export with a raw-input serving signature, and loading of mmzoo artifacts."""

import json
import os

import keras
import tensorflow as tf

METADATA = os.path.join("assets.extra", "mmzoo.json")


def serving_signature(model):
    """`tf.TensorSpec`s of the model's raw inputs, named after the inputs, in a fixed order."""
    specs = []
    for tensor in sorted(model.inputs, key=lambda t: t.name):
        specs.append(tf.TensorSpec(tuple(tensor.shape), tensor.dtype, name=tensor.name.split(":")[0]))
    return specs


def export(model, path):
    """Writes `model` as a SavedModel whose `serve` signature takes the raw inputs.

    The signature takes one tensor per input, by input name (strings for
    Text, pixels for Image, waveforms for Audio, floats for Features), and
    returns `{output_name: tensor}` (`probabilities` for classification,
    `prediction` for regression). The text vocabulary lives in the graph, so
    clients need neither mmzoo nor Keras:

        loaded = tf.saved_model.load(path)
        loaded.signatures["serve"](review=tf.constant(["great film"]), ...)

    Metadata (input specs, task, class names) is written to
    `assets.extra/mmzoo.json`; `mmzoo.load` uses it to recognise artifacts
    mmzoo wrote.

    Args:
        model: a Keras model with named inputs (a `mmzoo.MultimodalModel`).
        path: output directory.

    Returns:
        `path`.
    """
    signature = serving_signature(model)
    names = [s.name for s in signature]
    output_name = getattr(model.task, "output_name", "output") if hasattr(model, "task") else "output"

    def serve(*args):
        return {output_name: model(dict(zip(names, args)), training=False)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=signature)
    archive.write_out(path, verbose=False)
    metadata = {
        "format": "mmzoo-savedmodel",
        "mmzoo_version": _version(),
        "inputs": getattr(model, "spec_configs", None),
        "task": getattr(model, "task_config", None),
        "signature": {"serve": {"inputs": names, "outputs": [output_name]}},
    }
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    with open(os.path.join(path, METADATA), "w") as f:
        json.dump(metadata, f, indent=2)
    return path


def _version():
    from mmzoo import __version__

    return __version__


def read_metadata(path):
    """The `mmzoo.json` metadata of a SavedModel written by `mmzoo.export`, or None."""
    meta = os.path.join(path, METADATA)
    if not os.path.isfile(meta):
        return None
    with open(meta) as f:
        return json.load(f)


def load(path, trust=False):
    """Loads a `.keras` file (inspected, then safe mode) or a SavedModel directory mmzoo wrote.

    Before Keras reads a `.keras` file, `mmzoo.safety.check_artifact` inspects
    it and refuses archives whose member names escape their folder and configs
    that would run code or read files (Lambda, TFSMLayer, modules outside
    keras/mmzoo, loading/downloading helpers, vocabulary paths); Keras then
    loads it with `safe_mode=True`. Legacy `.h5` models are refused (mmzoo does
    not inspect them). A SavedModel is a program: one without mmzoo's metadata
    loads only with `trust=True`. `trust=True` skips the inspector and turns
    Keras's safe mode off.

    Args:
        path: a `.keras` file or SavedModel directory (`.h5` only with `trust=True`).
        trust: load artifacts that can run code; only for files from a trusted source.

    Returns:
        A Keras model, or the object `tf.saved_model.load` returns.

    Raises:
        FileNotFoundError: if nothing is at `path`.
        mmzoo.safety.UnsafeArtifactError: (a `ValueError`) naming the rule and the
            offending entry, for an artifact refused without `trust=True`.

    Example:
        >>> import os, tempfile, keras, mmzoo
        >>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
        >>> inputs = keras.Input((2,))
        >>> keras.Model(inputs, keras.layers.Dense(1)(inputs)).save(path)
        >>> mmzoo.load(path).output_shape
        (None, 1)
    """
    from mmzoo.safety import UnsafeArtifactError, check_artifact

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model at '{path}'.")
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise ValueError(f"'{path}' is a directory but not a SavedModel (no saved_model.pb).")
        if read_metadata(path) is None and not trust:
            raise UnsafeArtifactError(
                f"Refusing to load '{path}': a SavedModel that mmzoo did not write (no {METADATA}). "
                f"A SavedModel is a program: load it only if you trust its source, with "
                f"mmzoo.load(path, trust=True)."
            )
        return tf.saved_model.load(path)
    if not trust:
        check_artifact(path)
    if path.endswith(".keras") or path.lower().endswith((".h5", ".hdf5")):
        import mmzoo  # noqa: F401  (registers mmzoo layers)

        return keras.saving.load_model(path, safe_mode=not trust)
    raise ValueError(f"Cannot load '{path}': expected a .keras file or a SavedModel directory.")
