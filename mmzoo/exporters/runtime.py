"""Predict from any mmzoo artifact (.keras, SavedModel, .tflite, .onnx) on raw inputs."""

import os

import numpy as np

from mmzoo.exporters.tokenizer import tokenize
from mmzoo.input_checks import check_keys


def artifact_format(path):
    """"keras", "savedmodel", "tflite" or "onnx" for `path`; a `ValueError` naming it otherwise."""
    path = os.fspath(path)
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "saved_model.pb")):
        return "savedmodel"
    extension = os.path.splitext(path)[1].lower()
    formats = {".keras": "keras", ".tflite": "tflite", ".onnx": "onnx"}
    if extension in formats and os.path.isfile(path):
        return formats[extension]
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model at '{path}'.")
    raise ValueError(f"Cannot predict from '{path}': expected a .keras file, a SavedModel directory, "
                     f"a .tflite or an .onnx file.")


def _as_array(value):
    array = np.asarray(value)
    if array.dtype.kind in "US":
        array = array.astype(object)
    return array


def core_feed(path, inputs):
    """Raw inputs -> the inputs of a TFLite/ONNX core: text tokenized with the contract beside `path`."""
    from mmzoo.exporters.artifacts import read_sidecars

    metadata = read_sidecars(path)
    inputs = {k: _as_array(v) for k, v in inputs.items()}
    if metadata is None:
        return inputs, None
    check_keys(f"The model at '{path}'", metadata["inputs"], inputs)
    feed = {}
    for name, info in metadata["inputs"].items():
        value = inputs[name]
        if info["kind"] == "token_ids" and value.dtype == object:
            value = tokenize(list(value.reshape(-1)), metadata["contracts"][name])
        expected = tuple(info["shape"])
        if tuple(value.shape[1:]) != expected:
            described = "strings of shape (batch,) or " if info["kind"] == "token_ids" else ""
            raise ValueError(f"Input '{name}' expects {described}{info['dtype']} values of shape "
                             f"(batch, {', '.join(str(d) for d in expected)}); received shape {value.shape}.")
        feed[name] = value
    return feed, metadata


def predict_from_artifact(path, inputs, trust=False):
    """Runs the model at `path` on raw inputs and returns `{output_name: array}`.

    Works alike for a `.keras` file (loaded with `mmzoo.load`, safe mode), a
    SavedModel directory (`serve` signature; refused unless mmzoo wrote it or
    `trust=True`), a `.tflite` file (LiteRT interpreter) and an `.onnx` file
    (onnxruntime). For TFLite/ONNX, text given as strings is tokenized with
    the contract written beside the file; token ids pass through.

    Args:
        path: the artifact.
        inputs: `{input_name: array or list}` (strings for text, pixels,
            waveforms, features), batch first.
        trust: passed to `mmzoo.load` for `.keras`/SavedModel artifacts.

    Returns:
        `{output_name: np.ndarray}` (e.g. `{"probabilities": ...}`).

    Example:
        >>> import os, tempfile, numpy as np, mmzoo
        >>> spec = mmzoo.Features("x", shape=(3,), normalize=False)
        >>> model = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(2))
        >>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
        >>> model.save(path)
        >>> predict_from_artifact(path, {"x": np.zeros((4, 3), "float32")})["probabilities"].shape
        (4, 2)
    """
    kind = artifact_format(path)
    path = os.fspath(path)
    if kind in ("keras", "savedmodel"):
        import tensorflow as tf

        from mmzoo.export import load
        from mmzoo.exporters.savedmodel import output_name

        model = load(path, trust=trust)
        inputs = {k: _as_array(v) for k, v in inputs.items()}
        if kind == "keras":
            return {output_name(model): np.asarray(model.predict(inputs, verbose=0))}
        serve = model.signatures["serve"]
        expected = sorted(serve.structured_input_signature[1])
        check_keys(f"The SavedModel at '{path}'", expected, inputs)  # the signature is called by keyword: extras would be dropped silently
        signature = serve.structured_input_signature[1]
        outputs = serve(**{k: tf.constant(inputs[k], dtype=signature[k].dtype) for k in expected})
        return {k: v.numpy() for k, v in outputs.items()}
    feed, _ = core_feed(path, inputs)
    if kind == "tflite":
        from mmzoo.exporters.tflite import run

        return run(path, feed)
    from mmzoo.exporters.onnx import run

    return run(path, feed)
