"""Export formats: how a model is written as each kind of artifact, and how that artifact is run.

Each format is one class registered with `register_export_format`; `mmzoo.export`,
the predict runtime (`mmzoo.artifacts.runtime`), the YAML key `export.formats`
and the command line find formats only here. A new format is one file with
one decorated subclass of `ExportFormat`, imported before use.
"""

import os

import numpy as np

from mmzoo.registry import register_export_format


class ExportFormat:
    """One artifact format: `export` writes it, `predict` runs it on raw inputs.

    Attributes:
        extension: the file suffix (".tflite"), or None for a directory format.
    """

    extension = None

    def export(self, model, path):
        """Writes `model` to `path`; keyword arguments of a subclass are the format's options."""
        raise NotImplementedError

    def predict(self, path, inputs, trust=False):
        """Runs the artifact at `path` on raw `{input name: array}`; returns `{output name: array}`."""
        raise NotImplementedError

    def detect(self, path):
        """Whether `path` holds an artifact of this format."""
        return self.extension is not None and os.path.isfile(path) and path.lower().endswith(self.extension)

    def filename(self, stem="model"):
        """The name of an artifact of this format in a run folder."""
        return stem + (self.extension or "")


def as_array(value):
    """A NumPy array of `value`, with unicode/bytes strings as `object` (what Keras and TF take)."""
    array = np.asarray(value)
    if array.dtype.kind in "US":
        array = array.astype(object)
    return array


@register_export_format("keras", paper="Keras 3 .keras archive (config, weights, assets)")
class KerasFormat(ExportFormat):
    extension = ".keras"

    def export(self, model, path):
        model.save(path)
        return path

    def predict(self, path, inputs, trust=False):
        from mmzoo.artifacts.export import load
        from mmzoo.artifacts.savedmodel import output_name

        model = load(path, trust=trust)
        inputs = {k: as_array(v) for k, v in inputs.items()}
        if (getattr(model, "task_config", None) or {}).get("kind") == "text_generation":
            return {"text": np.asarray(model.generate(inputs), dtype=object)}
        return {output_name(model): np.asarray(model.predict(inputs, verbose=0))}


@register_export_format("savedmodel", paper="TensorFlow SavedModel with raw-input serve and serve_bytes signatures")
class SavedModelFormat(ExportFormat):
    def detect(self, path):
        return os.path.isdir(path) and os.path.isfile(os.path.join(path, "saved_model.pb"))

    def filename(self, stem="model"):
        return "savedmodel"

    def export(self, model, path):
        from mmzoo.artifacts.export import export_savedmodel_with_metadata

        return export_savedmodel_with_metadata(model, path)

    def predict(self, path, inputs, trust=False):
        import tensorflow as tf

        from mmzoo.artifacts.export import load
        from mmzoo.models.input_checks import check_keys

        signatures = load(path, trust=trust).signatures
        serve = signatures["generate"] if "generate" in signatures else signatures["serve"]  # text generation
        inputs = {k: as_array(v) for k, v in inputs.items()}
        signature = serve.structured_input_signature[1]
        expected = sorted(signature)
        # the signature is called by keyword: an extra key would be dropped silently
        check_keys(f"The SavedModel at '{path}'", expected, inputs)
        outputs = serve(**{k: tf.constant(inputs[k], dtype=signature[k].dtype) for k in expected})
        return {k: v.numpy() for k, v in outputs.items()}


class CoreFormat(ExportFormat):
    """A format of the model core (token ids, pixels, waveforms), with sidecar files beside it."""

    def _write(self, model, path, convert):
        from mmzoo.artifacts.savedmodel import output_name
        from mmzoo.artifacts.sidecars import write_sidecars

        if (getattr(model, "task_config", None) or {}).get("kind") == "text_generation":
            raise ValueError(
                f"format='{self.name}' cannot hold a TextGeneration model (its decoding loop runs on string and "
                f"ragged ops); export it with format='savedmodel' (a `generate` signature) or 'keras'."
            )
        out = output_name(model)
        core, extra = convert(out)
        write_sidecars(model, core, path, self.name, out, extra)
        return path

    def predict(self, path, inputs, trust=False):
        from mmzoo.artifacts.runtime import core_feed

        feed, _ = core_feed(path, inputs)
        return self.run(path, feed)


@register_export_format("tflite", paper="TFLite/LiteRT flatbuffer of the model core, builtin ops only")
class TFLiteFormat(CoreFormat):
    name = "tflite"
    extension = ".tflite"

    def export(self, model, path, quantize=None, representative_data=None, batch_size="auto"):
        from mmzoo.artifacts.tflite import export_tflite
        from mmzoo.training.placement import float32_copy

        model = float32_copy(model)  # a mixed-precision model: TFLite has no bfloat16 matmul kernels

        return self._write(
            model, path, lambda out: export_tflite(model, path, out, quantize, representative_data, batch_size)
        )

    def run(self, path, feed):
        from mmzoo.artifacts.tflite import run

        return run(path, feed)


@register_export_format("onnx", paper="ONNX graph of the model core (float32), checked with onnxruntime")
class ONNXFormat(CoreFormat):
    name = "onnx"
    extension = ".onnx"

    def export(self, model, path, opset=17):
        from mmzoo.artifacts.onnx import export_onnx
        from mmzoo.training.placement import float32_copy

        model = float32_copy(model)  # a mixed-precision model: ONNX files are float32

        return self._write(model, path, lambda out: export_onnx(model, path, out, opset=opset))

    def run(self, path, feed):
        from mmzoo.artifacts.onnx import run

        return run(path, feed)


def export_format(name):
    """An instance of the registered export format `name`."""
    from mmzoo.registry import EXPORT_FORMATS

    return EXPORT_FORMATS.get(name)()


def artifact_format(path):
    """The name of the registered format whose artifact is at `path`; an error naming `path` otherwise."""
    from mmzoo.registry import EXPORT_FORMATS

    path = os.fspath(path)
    for name in EXPORT_FORMATS.names():
        if export_format(name).detect(path):
            return name
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model at '{path}'.")
    raise ValueError(
        f"Cannot predict from '{path}': expected a .keras file, a SavedModel directory, a .tflite or "
        f"an .onnx file, or an artifact of another registered export format "
        f"({', '.join(EXPORT_FORMATS.names())})."
    )
