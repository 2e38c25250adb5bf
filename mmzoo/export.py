"""`mmzoo.export` (SavedModel, TFLite, ONNX; the work is in `mmzoo.exporters`) and loading of mmzoo artifacts."""

import json
import os

import keras
import tensorflow as tf

from mmzoo.exporters import frontend as _frontend  # noqa: F401  (registers DFTLogMel)
from mmzoo.savedmodel_scan import savedmodel_problems

METADATA = os.path.join("assets.extra", "mmzoo.json")


FORMATS = ("savedmodel", "tflite", "onnx")


def export(model, path, format="savedmodel", quantize=None, representative_data=None, opset=17,
           batch_size="auto"):
    """Exports `model` for serving: a SavedModel, a TFLite/LiteRT file, or an ONNX file.

    - `"savedmodel"` (a directory): the whole model, preprocessing included.
      Signature `serve` takes the raw tensors by input name (strings for
      Text, pixels for Image, waveforms for Audio, floats for Features);
      `serve_bytes` takes encoded PNG/JPEG (GIF, BMP) bytes for Image inputs
      and WAV bytes for Audio inputs (checked against the declared size and
      sample rate), the rest as in `serve`. Both return
      `{output_name: tensor}` (`probabilities` for classification,
      `prediction` for regression), load with `tf.saved_model.load` without
      mmzoo or Keras, and run with `saved_model_cli`. Metadata goes to
      `assets.extra/mmzoo.json`, which `mmzoo.load` uses to recognise it.
    - `"tflite"` / `"onnx"` (a file): the *model core*: text inputs take int32
      token ids (tokenize with the contract written beside the file,
      `mmzoo.exporters.tokenizer`), audio inputs take the waveform (the
      log-mel is computed by `DFTLogMel`, a convolution with a fixed DFT
      basis), images and features as in `serve`. TFLite uses builtin ops
      only (runs on the LiteRT interpreter without the Flex delegate); ONNX
      is float32 at `opset`. Beside `<file>` go `<file>.mmzoo.json` and, per
      text input, `<file>.<input>.tokenizer.json` and `.vocabulary.txt`.

    Whatever a format cannot express raises a `ValueError` naming the layer
    and the format. `mmzoo.exporters.runtime.predict_from_artifact` runs any
    of these files (and `.keras`) on raw inputs.

    Args:
        model: a Keras model with named inputs (a `mmzoo.MultimodalModel`).
        path: output directory (savedmodel) or file (tflite, onnx).
        format: "savedmodel", "tflite" or "onnx".
        quantize: TFLite only: None, "dynamic", "float16" or "int8".
        representative_data: raw inputs `{name: array}` to calibrate `quantize="int8"`.
        opset: ONNX opset.
        batch_size: TFLite: "auto" (1 for recurrent cores, whose TFLite
            kernels need a static batch; else dynamic), None or an int.

    Returns:
        `path`.

    Example:
        >>> import os, tempfile, numpy as np, mmzoo
        >>> spec = mmzoo.Features("x", shape=(3,), normalize=False)
        >>> model = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(2))
        >>> folder = tempfile.mkdtemp()
        >>> sorted(os.listdir(mmzoo.export(model, os.path.join(folder, "m"))))
        ['assets', 'assets.extra', 'fingerprint.pb', 'saved_model.pb', 'variables']
    """
    from mmzoo.exporters.savedmodel import output_name

    format = str(format).lower()
    if format not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}; received {format!r}.")
    if quantize is not None and format != "tflite":
        raise ValueError(f"quantize={quantize!r} applies to format='tflite' only; received format={format!r}.")
    path = os.fspath(path)
    if format != "savedmodel" and not path.lower().endswith(f".{format}"):
        raise ValueError(f"export format='{format}' writes one file: path must end with '.{format}' (files "
                         f"beside it take its name); received path='{path}'.")
    out = output_name(model)
    if format == "savedmodel":
        return _export_savedmodel(model, path)
    from mmzoo.exporters.artifacts import write_sidecars

    if format == "tflite":
        from mmzoo.exporters.tflite import export_tflite

        core, extra = export_tflite(model, path, out, quantize, representative_data, batch_size)
    else:
        from mmzoo.exporters.onnx import export_onnx

        core, extra = export_onnx(model, path, out, opset=opset)
    write_sidecars(model, core, path, format, out, extra)
    return path


def serving_signature(model):
    """`tf.TensorSpec`s of the model's raw inputs, named after the inputs, in a fixed order."""
    from mmzoo.exporters.savedmodel import serving_signature as signature

    return signature(model)


def _export_savedmodel(model, path):
    from mmzoo.exporters.savedmodel import export_savedmodel

    signatures = export_savedmodel(model, path)
    metadata = {
        "format": "mmzoo-savedmodel",
        "mmzoo_version": _version(),
        "inputs": getattr(model, "spec_configs", None),
        "task": getattr(model, "task_config", None),
        "signature": signatures,
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
    not inspect them). A SavedModel is a program, and `tf.saved_model.load`
    runs its initializers while loading: one loads without `trust=True` only
    if it has mmzoo's metadata and every op of its graph is one mmzoo's own
    exports use (`mmzoo.savedmodel_scan`). What is inspected is what is
    loaded: the `.keras` bytes are read once, and a SavedModel is copied into
    a private folder first (`mmzoo.private_copy`), so swapping the file after
    the inspection changes nothing. `trust=True` skips every inspection and
    turns Keras's safe mode off.

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
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model at '{path}'.")
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise ValueError(f"'{path}' is a directory but not a SavedModel (no saved_model.pb).")
        return tf.saved_model.load(path) if trust else _load_savedmodel_checked(path)
    if trust:
        if path.endswith(".keras") or path.lower().endswith((".h5", ".hdf5")):
            import mmzoo  # noqa: F401  (registers mmzoo layers)

            return keras.saving.load_model(path, safe_mode=False)
        raise ValueError(f"Cannot load '{path}': expected a .keras file or a SavedModel directory.")
    return _load_keras_checked(path)


def _load_keras_checked(path):
    """Reads the `.keras` file once, inspects those bytes and loads them (safe mode) from a private copy."""
    from mmzoo import private_copy
    from mmzoo.safety import check_artifact

    data = private_copy.read_keras_file(path) if path.endswith(".keras") else None
    check_artifact(path, data)  # refuses .h5 and other names; inspects the bytes just read
    import mmzoo  # noqa: F401  (registers mmzoo layers)

    folder = private_copy.private_folder()
    try:
        return keras.saving.load_model(private_copy.write_private_file(folder, "model.keras", data),
                                       safe_mode=True)
    finally:
        private_copy.remove(folder)


def _load_savedmodel_checked(path):
    """Copies the SavedModel into a private folder, checks its metadata and graph, and loads the copy.

    The copy is deleted when the loaded object is garbage-collected (or at exit).
    """
    import weakref

    from mmzoo import private_copy
    from mmzoo.safety import UnsafeArtifactError

    if read_metadata(path) is None:  # before copying a foreign SavedModel only to refuse it
        raise _not_written_by_mmzoo(path)
    folder = private_copy.private_folder()
    try:
        copy = private_copy.copy_savedmodel(path, folder)
        if read_metadata(copy) is None:
            raise _not_written_by_mmzoo(path)
        problems = savedmodel_problems(copy, label=path)
        if problems:
            shown = [f"  - {p}" for p in problems[:10]]
            shown += [f"  ... and {len(problems) - 10} more."] if len(problems) > 10 else []
            raise UnsafeArtifactError("\n".join([
                (f"Refusing to load '{path}': its graph holds ops mmzoo's own exports never use, and "
                 f"tf.saved_model.load runs initializers and restore functions while loading:"),
                *shown,
                ("A SavedModel is a program: load it only if you trust its source, with "
                 "mmzoo.load(path, trust=True).")]))
        loaded = tf.saved_model.load(copy)
    except BaseException:
        private_copy.remove(folder)
        raise
    weakref.finalize(loaded, private_copy.remove, folder)
    return loaded


def _not_written_by_mmzoo(path):
    from mmzoo.safety import UnsafeArtifactError

    return UnsafeArtifactError(
        f"Refusing to load '{path}': a SavedModel that mmzoo did not write (no {METADATA}). "
        f"A SavedModel is a program: load it only if you trust its source, with "
        f"mmzoo.load(path, trust=True).")
