"""`mmzoo.export` (SavedModel, TFLite, ONNX; the work is in `mmzoo.artifacts`) and loading of mmzoo artifacts."""

import json
import os

import keras
import tensorflow as tf

from mmzoo.artifacts import frontend as _frontend  # noqa: F401  (registers DFTLogMel)
from mmzoo.artifacts.formats import export_format
from mmzoo.artifacts.savedmodel_scan import savedmodel_problems

METADATA = os.path.join("assets.extra", "mmzoo.json")


def export(model, path, format="savedmodel", **options):
    """Exports `model` for serving: a SavedModel, a TFLite/LiteRT file, or an ONNX file.

    - `"savedmodel"` (a directory): the whole model, preprocessing included.
      Signature `serve` takes the raw tensors by input name (strings for
      Text, pixels for Image, waveforms for Audio, floats for Features);
      `serve_bytes` takes encoded PNG/JPEG (GIF, BMP) bytes for Image inputs,
      WAV bytes for Audio inputs (checked against the declared size and
      sample rate) and animated GIF bytes for Video inputs (decoded in the
      graph, frames sampled uniformly to the declared count), the rest as in `serve`. Both return
      `{output_name: tensor}` (`probabilities` for classification,
      `prediction` for regression; a classification with `class_names`
      adds `top_class`, `top_k_classes` and `top_k_probabilities`), load with `tf.saved_model.load` without
      mmzoo or Keras, and run with `saved_model_cli`. Metadata goes to
      `assets.extra/mmzoo.json`, which `mmzoo.load` uses to recognise it.
      A `TextGeneration` model gets one signature instead, `generate` (raw
      inputs in, `{"text": strings}` out, greedy decoding inside the graph).
    - `"tflite"` / `"onnx"` (a file): the *model core*: text inputs take int32
      token ids (tokenize with the contract written beside the file,
      `mmzoo.artifacts.tokenizer`), audio inputs take the waveform (the
      log-mel is computed by `DFTLogMel`, a convolution with a fixed DFT
      basis), images and features as in `serve`. TFLite uses builtin ops
      only (runs on the LiteRT interpreter without the Flex delegate); ONNX
      is float32 at `opset`. Beside `<file>` go `<file>.mmzoo.json` and, per
      text input, `<file>.<input>.tokenizer.json` and `.vocabulary.txt` (a
      pretrained encoder's input: a Hugging Face `tokenizer.json` and the
      preset's own tokenizer files, `mmzoo.artifacts.hf_tokenizer`).

    Every format gets the inference model: training augmentations
    (`augment=` of the specs) are stripped first (`mmzoo.strip_augmentation`).

    Whatever a format cannot express raises a `ValueError` naming the layer
    and the format. `mmzoo.artifacts.runtime.predict_from_artifact` runs any
    of these files (and `.keras`) on raw inputs.

    Args:
        model: a Keras model with named inputs (a `mmzoo.MultimodalModel`).
        path: output directory (savedmodel) or file (tflite, onnx, keras).
        format: a registered export format (`mmzoo.registry.list_export_formats()`):
            "savedmodel", "tflite", "onnx", "keras", or one registered with
            `register_export_format`.
        **options: the format's own options. TFLite: `quantize` (None,
            "dynamic", "float16" or "int8"), `representative_data` (raw inputs
            `{name: array}` to calibrate int8), `batch_size` ("auto": 1 for
            recurrent cores, whose TFLite kernels need a static batch; else
            dynamic; None or an int). ONNX: `opset` (default 17).

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
    import inspect

    from mmzoo.registry import EXPORT_FORMATS

    name = str(format).lower()
    if name not in EXPORT_FORMATS:
        raise ValueError(f"export format must be one of {', '.join(EXPORT_FORMATS.names())}; received {format!r}.")
    target = export_format(name)
    accepted = list(inspect.signature(target.export).parameters)[2:]
    for key, value in options.items():
        if key not in accepted:
            takes = [
                n
                for n in EXPORT_FORMATS.names()
                if key in list(inspect.signature(EXPORT_FORMATS.get(n).export).parameters)[2:]
            ]
            where = " or ".join(f"format='{n}'" for n in takes) or "no export format"
            raise ValueError(f"{key}={value!r} applies to {where} only; received format={name!r}.")
    path = os.fspath(path)
    if target.extension and not path.lower().endswith(target.extension):
        raise ValueError(
            f"export format='{name}' writes one file: path must end with '{target.extension}' (files "
            f"beside it take its name); received path='{path}'."
        )
    from mmzoo.augmentation.strip import strip_augmentation

    return target.export(strip_augmentation(model), path, **options)


def serving_signature(model):
    """`tf.TensorSpec`s of the model's raw inputs, named after the inputs, in a fixed order."""
    from mmzoo.artifacts.savedmodel import serving_signature as signature

    return signature(model)


def export_savedmodel_with_metadata(model, path):
    """The SavedModel with its signatures and `assets.extra/mmzoo.json`, which `mmzoo.load` recognises."""
    from mmzoo.artifacts.savedmodel import export_savedmodel

    signatures = export_savedmodel(model, path)
    metadata = {
        "format": "mmzoo-savedmodel",
        "mmzoo_version": _version(),
        "inputs": getattr(model, "spec_configs", None),
        "task": getattr(model, "task_config", None),
        "signature": signatures,
    }
    imports = serving_imports(model)
    if imports:  # e.g. KerasHub tokenizers: their kernels are registered by `import tensorflow_text`
        metadata["serving_imports"] = imports
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    with open(os.path.join(path, METADATA), "w") as f:
        json.dump(metadata, f, indent=2)
    return path


# Modules a SavedModel's graph may need imported before `tf.saved_model.load` (they register op
# kernels), and how to install them. `mmzoo.load` imports only names from this table, never a name read
# from a file it did not check.
SERVING_IMPORTS = {"tensorflow_text": 'pip install "mmzoo[hub]" (or tensorflow-text)'}


def serving_imports(model):
    """Modules a server must import before loading `model`'s SavedModel: `["tensorflow_text"]` for in-graph
    KerasHub tokenizers (without it: "Op type not registered 'RegexSplitWithOffsets'"), else `[]`."""
    from mmzoo.encoders.hub_preprocessing import HubTokenizer

    found = any(isinstance(layer, HubTokenizer) for layer in model._flatten_layers(include_self=False))
    return ["tensorflow_text"] if found else []


def import_serving_modules(metadata, path, strict=True):
    """Imports the `serving_imports` of a SavedModel's metadata that `SERVING_IMPORTS` knows.

    Others are an error (`strict`) or left to the caller (`trust=True`: the user imports them).
    """
    import importlib

    for name in (metadata or {}).get("serving_imports", []):
        if name not in SERVING_IMPORTS:
            if not strict:
                continue
            raise ValueError(
                f"The SavedModel at '{path}' asks for module {name!r} before loading; mmzoo imports only "
                f"{', '.join(SERVING_IMPORTS)}. Import it yourself and load with trust=True if you trust it."
            )
        try:
            importlib.import_module(name)
        except ImportError:
            raise ImportError(
                f"The SavedModel at '{path}' needs {name} to load (its graph has text tokenizer ops): "
                f"{SERVING_IMPORTS[name]}."
            ) from None


def _version():
    from importlib import metadata

    try:
        return metadata.version("mmzoo")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def read_metadata(path):
    """The `mmzoo.json` metadata of a SavedModel written by `mmzoo.export`, or None."""
    from mmzoo.artifacts.safety import read_json_file

    meta = os.path.join(path, METADATA)
    if not os.path.isfile(meta):
        return None
    return read_json_file(meta)  # bounded: a metadata file is never read whole if oversized


def load(path, trust=False):
    """Loads a `.keras` file (inspected, then safe mode) or a SavedModel directory mmzoo wrote.

    Before Keras reads a `.keras` file, `mmzoo.artifacts.safety.check_artifact` inspects
    it and refuses archives whose member names escape their folder and configs
    that would run code or read files (Lambda, TFSMLayer, modules outside
    keras/mmzoo, loading/downloading helpers, vocabulary paths); Keras then
    loads it with `safe_mode=True`. Legacy `.h5` models are refused (mmzoo does
    not inspect them). A SavedModel is a program, and `tf.saved_model.load`
    runs its initializers while loading: one loads without `trust=True` only
    if it has mmzoo's metadata and every op of its graph is one mmzoo's own
    exports use (`mmzoo.artifacts.savedmodel_scan`). What is inspected is what is
    loaded: the `.keras` bytes are read once, and a SavedModel is copied into
    a private folder first (`mmzoo.artifacts.private_copy`), so swapping the file after
    the inspection changes nothing. `trust=True` skips every inspection and
    turns Keras's safe mode off.

    Args:
        path: a `.keras` file or SavedModel directory (`.h5` only with `trust=True`).
        trust: load artifacts that can run code; only for files from a trusted source.

    Returns:
        A Keras model, or the object `tf.saved_model.load` returns.

    Raises:
        FileNotFoundError: if nothing is at `path`.
        mmzoo.artifacts.safety.UnsafeArtifactError: (a `ValueError`) naming the rule and the
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
        if trust:
            import_serving_modules(read_metadata(path), path, strict=False)
            return tf.saved_model.load(path)
        return _load_savedmodel_checked(path)
    if trust:
        if path.endswith(".keras") or path.lower().endswith((".h5", ".hdf5")):
            import mmzoo.models  # noqa: F401  (registers every layer a saved model can hold)

            if path.endswith(".keras"):  # KerasHub classes resolve once keras_hub is imported
                from mmzoo.artifacts.safety import import_optional_packages, read_keras_config

                import_optional_packages(read_keras_config(path), path)

            return keras.saving.load_model(path, safe_mode=False)
        raise ValueError(f"Cannot load '{path}': expected a .keras file or a SavedModel directory.")
    return _load_keras_checked(path)


def _load_keras_checked(path):
    """Reads the `.keras` file once, inspects those bytes and loads them (safe mode) from a private copy."""
    from mmzoo.artifacts import private_copy
    from mmzoo.artifacts.safety import check_artifact

    data = private_copy.read_keras_file(path) if path.endswith(".keras") else None
    check_artifact(path, data)  # refuses .h5 and other names; inspects the bytes just read
    import mmzoo.models  # noqa: F401  (registers every layer a saved model can hold)

    folder = private_copy.private_folder()
    try:
        return keras.saving.load_model(private_copy.write_private_file(folder, "model.keras", data), safe_mode=True)
    finally:
        private_copy.remove(folder)


def _load_savedmodel_checked(path):
    """Copies the SavedModel into a private folder, checks its metadata and graph, and loads the copy.

    The copy is deleted when the loaded object is garbage-collected (or at exit).
    """
    import weakref

    from mmzoo.artifacts import private_copy
    from mmzoo.artifacts.safety import UnsafeArtifactError

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
            raise UnsafeArtifactError(
                "\n".join(
                    [
                        (
                            f"Refusing to load '{path}': its graph holds ops mmzoo's own exports never use, and "
                            f"tf.saved_model.load runs initializers and restore functions while loading:"
                        ),
                        *shown,
                        (
                            "A SavedModel is a program: load it only if you trust its source, with "
                            "mmzoo.load(path, trust=True)."
                        ),
                    ]
                )
            )
        import_serving_modules(read_metadata(copy), path)
        loaded = tf.saved_model.load(copy)
    except BaseException:
        private_copy.remove(folder)
        raise
    weakref.finalize(loaded, private_copy.remove, folder)
    return loaded


def _not_written_by_mmzoo(path):
    from mmzoo.artifacts.safety import UnsafeArtifactError

    return UnsafeArtifactError(
        f"Refusing to load '{path}': a SavedModel that mmzoo did not write (no {METADATA}). "
        f"A SavedModel is a program: load it only if you trust its source, with "
        f"mmzoo.load(path, trust=True)."
    )
