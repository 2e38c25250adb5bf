"""TFLite/LiteRT export of the model core, builtin ops only, with optional post-training quantization."""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from mmzoo.artifacts.core import build_core, conversion_error, core_inputs, layer_paths

QUANTIZE = (None, "dynamic", "float16", "int8")


def convert(core, output_name, quantize=None, representative_data=None, batch_size="auto"):
    """Converts a `Core` to TFLite flatbuffer bytes with a `serve` signature.

    Args:
        core: a `mmzoo.artifacts.core.Core`.
        output_name: the key of the output in the signature.
        quantize: None (float32), "dynamic" (int8 weights, float activations),
            "float16" (float16 weights) or "int8" (int8 weights and activations,
            calibrated on `representative_data`; float inputs and outputs).
        representative_data: raw inputs `{name: array}` (strings for text) for "int8".
        batch_size: "auto" (1 when the core has recurrent layers, whose TFLite
            kernels need a static batch; otherwise dynamic), None, or an int.

    Returns:
        `(flatbuffer_bytes, batch_size)`.
    """
    if quantize not in QUANTIZE:
        raise ValueError(f"quantize must be one of {QUANTIZE}; received {quantize!r}.")
    if quantize == "int8" and representative_data is None:
        raise ValueError(
            "quantize='int8' needs representative_data={input_name: array} (a few hundred "
            "training examples, raw inputs) to calibrate activation ranges."
        )
    recurrent = [
        (path, layer)
        for path, layer in layer_paths(core.model)
        if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))
    ]
    if quantize == "int8" and recurrent:
        path, layer = recurrent[0]
        raise ValueError(
            f"Layer '{path}' ({type(layer).__name__}) cannot be exported to "
            f"tflite with quantize='int8': TensorFlow 2.21's int8 calibrator crashes on recurrent "
            f"layers. Use quantize='dynamic' or 'float16', or a non-recurrent encoder."
        )
    if batch_size == "auto":
        batch_size = 1 if recurrent else None
    signature = [
        tf.TensorSpec((batch_size,) + tuple(t.shape[1:]), t.dtype, name=t.name.split(":")[0]) for t in core.model.inputs
    ]
    names = [s.name for s in signature]

    def serve(*args):
        return {output_name: core.model(dict(zip(names, args)), training=False)}

    with tempfile.TemporaryDirectory() as tmp:
        archive = keras.export.ExportArchive()
        archive.track(core.model)
        archive.add_endpoint("serve", serve, input_signature=signature)
        archive.write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serve"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            samples = core_inputs(core, representative_data)
            count = len(next(iter(samples.values())))

            def representative():
                for i in range(count):
                    yield {k: v[i : i + 1] for k, v in samples.items()}

            converter.representative_dataset = representative
        try:
            return converter.convert(), batch_size
        except Exception as error:  # the converter raises ConverterError and others with op paths
            raise conversion_error(core.model, "tflite", error) from error


def export_tflite(model, path, output_name, quantize=None, representative_data=None, batch_size="auto"):
    """Writes the model core as a `.tflite` file; returns `(core, extra metadata)`.

    See `mmzoo.export` for the files written beside it.
    """
    core = build_core(model, "tflite")
    blob, batch = convert(core, output_name, quantize, representative_data, batch_size)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "wb") as f:
        f.write(blob)
    return core, {"signature": "serve", "quantize": quantize, "batch_size": batch, "ops": "TFLITE_BUILTINS"}


def interpreter(path):
    """A LiteRT interpreter for `path` (`ai_edge_litert`, else TensorFlow's `tf.lite.Interpreter`)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - the export extra installs it
        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=os.fspath(path))


def run(path, inputs, signature="serve"):
    """Runs a `.tflite` file's signature on `{name: array}`; a static batch of 1 runs example by example."""
    runner = interpreter(path).get_signature_runner(signature)
    details = runner.get_input_details()
    batch = {int(d["shape_signature"][0]) if len(d["shape_signature"]) else -1 for d in details.values()}
    inputs = {k: np.asarray(v).astype(details[k]["dtype"]) for k, v in inputs.items() if k in details}
    if batch == {1}:
        n = len(next(iter(inputs.values())))
        rows = [runner(**{k: v[i : i + 1] for k, v in inputs.items()}) for i in range(n)]
        return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    return {k: np.asarray(v) for k, v in runner(**inputs).items()}
