"""Post-training weight quantization of a trained model with Keras (`Layer.quantize`), and file sizes.

Keras 3 quantizes the weights of `Dense`, `EinsumDense` and `Embedding`
layers: "int8" (per-output-channel abs-max int8 kernels with float32 scales;
the inputs of each quantized matmul are quantized on the fly, so the matmul
runs in int8), "int4" (4-bit kernels packed two per byte) and "float8"
(`Dense` and `EinsumDense` only: float8 matmuls with scales, mainly a
training format; it makes the file larger). `quantize` reaches every such
layer, top-level or nested in mmzoo's encoders and fusions (the `proj` Dense
of an encoder, the projections of attention), and reports, per layer, which
were quantized and why the others stayed float (convolutions, recurrent and
normalization layers, custom layers holding their own weights, or a mode
Keras lacks for a layer type). A `MultimodalModel` records its nested
quantized layers in its config (`mmzoo.models.quantized_layers`), so the
copy saves with `model.save` and reloads quantized with `mmzoo.load`;
`keras.Model.quantize` on a `MultimodalModel` round-trips the same way.

For TFLite quantization (dynamic range, float16, full int8) use
`mmzoo.export(model, "m.tflite", format="tflite", quantize=...)`.
`benchmarks/compression.py` compares both on real data.

Magnitude pruning (`prune`, `sparsity`, `gzip_size`) lives in
`mmzoo.analysis.pruning` and is re-exported here.
"""

import dataclasses
import os
import tempfile
import warnings

import keras

from mmzoo.analysis.pruning import gzip_size, prune, sparsity
from mmzoo.models.quantized_layers import is_leaf, walk

MODES = ("int8", "int4", "float8")
__all__ = ["MODES", "QuantizationReport", "gzip_size", "model_size_bytes", "prune", "quantize", "sparsity"]


@dataclasses.dataclass
class QuantizationReport:
    """Which layers `quantize` quantized and which it left float, with the reason.

    Attributes:
        mode: the quantization mode ("int8", "int4" or "float8").
        quantized: `[{"layer": path, "type": class name, "parameters": n}]`.
        float: `[{"layer", "type", "parameters", "reason"}]`, layers with
            weights that stayed float.
    """

    mode: str
    quantized: list
    float: list

    @property
    def quantized_parameters(self):
        """Parameters (kernels and their biases) held by quantized layers."""
        return sum(entry["parameters"] for entry in self.quantized)

    @property
    def float_parameters(self):
        """Parameters of layers left in float."""
        return sum(entry["parameters"] for entry in self.float)

    def to_dict(self):
        """A JSON-serializable dict of the report."""
        return {
            "mode": self.mode,
            "quantized": list(self.quantized),
            "float": list(self.float),
            "quantized_parameters": self.quantized_parameters,
            "float_parameters": self.float_parameters,
        }

    def summary(self):
        """A few lines: counts, then one line per layer left float and why."""
        total = self.quantized_parameters + self.float_parameters
        share = self.quantized_parameters / total if total else 0.0
        lines = [
            f"{self.mode}: {len(self.quantized)} layers quantized ({self.quantized_parameters:,} of "
            f"{total:,} parameters, {share:.0%}); {len(self.float)} layers with weights left float."
        ]
        lines += [f"  float {e['layer']} ({e['type']}, {e['parameters']:,}): {e['reason']}" for e in self.float]
        return "\n".join(lines)


def _leaves(model):
    """`{path: (layer, parent)}` of layers without sublayers that own weights, at any depth."""
    return {path: (layer, parent) for path, _, layer, parent in walk(model) if is_leaf(layer) and layer.weights}


def _rebuild(model):
    """`model` deserialized from its config (same structure and dtype policies, fresh weights)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))


def _quantize_layer(layer, path, mode):
    """Quantizes one layer; True if done, False if Keras has no `mode` for its type (raises otherwise)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy 2 `__array__(copy=...)` deprecation inside Keras's quantizer
        try:
            layer.quantize(mode)
        except NotImplementedError:
            return False
        except ValueError as error:
            raise ValueError(
                f"Layer '{path}' ({type(layer).__name__}, dtype policy "
                f"'{layer.dtype_policy.name}') cannot be quantized with mode={mode!r}: {error}"
            ) from error
    return True


def _clone(model):
    """A copy of `model` through a temporary `.keras` file (weights, vocabularies and statistics included)."""
    import mmzoo.models  # noqa: F401  (registers every layer a saved model can hold)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(path)
            try:
                return keras.saving.load_model(path, compile=False, safe_mode=True)
            except Exception as error:
                raise ValueError(
                    f"quantize copies model '{model.name}' through a .keras file, and the copy did not "
                    f"reload in safe mode: {error}"
                ) from error


def quantize(model, mode="int8", reloadable=True):
    """Post-training weight quantization of a copy of `model` with Keras (`Layer.quantize`).

    Every `Dense`, `EinsumDense` and `Embedding` layer is quantized, at any
    depth (inside encoders and fusions too); the report names each layer
    with weights that stayed float, and why. The model itself is left
    unchanged: it is copied through a `.keras` file, and the copy is
    quantized and compiled like the original (a fresh optimizer of the same
    configuration; int8 kernels are not trainable). The copy of a
    `MultimodalModel` saves with `model.save` and reloads with `mmzoo.load`
    in safe mode, predicting exactly what it predicted before saving.

    Args:
        model: a built Keras model (e.g. a trained `mmzoo.MultimodalModel`), float32 or
            `mixed_bfloat16` (Keras refuses int8 with float16 compute).
        mode: "int8" (8-bit kernels, int8 matmuls), "int4" (4-bit kernels
            packed two per byte) or "float8" (`Dense`/`EinsumDense` only;
            `Embedding` layers are then reported float).
        reloadable: for a plain `keras.Model` (not a `MultimodalModel`),
            quantize only layers whose quantization survives a `.keras`
            reload: a layer nested in a custom layer comes back float32 from
            its parent's constructor arguments. False quantizes those too;
            that model works in memory but its `.keras` file does not reload.

    Returns:
        `(quantized_model, report)`, `report` a `QuantizationReport`.

    Raises:
        ValueError: naming the mode for an unknown mode, or the layer and mode
            for a layer Keras refuses (already quantized, float16 compute).

    Example:
        >>> import numpy as np, mmzoo
        >>> spec = mmzoo.Features("x", shape=(8,), normalize=False)
        >>> model = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(3), head_units=(16,))
        >>> quantized, report = quantize(model)
        >>> [entry["layer"] for entry in report.quantized]
        ['x_encoder/dense0', 'x_encoder/dense1', 'head_dense0', 'head_logits']
        >>> str(quantized.get_layer("head_logits").kernel.dtype)
        'int8'
    """
    if mode not in MODES:
        hint = " gptq/awq need calibration data and a block structure." if mode in ("gptq", "awq") else ""
        raise ValueError(f"Quantization mode must be one of {', '.join(MODES)}; received mode={mode!r}.{hint}")
    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError(
            f"quantize needs a built Keras model; received {type(model).__name__} "
            f"'{getattr(model, 'name', '?')}'" + ("" if isinstance(model, keras.Model) else ".")
        )
    for path, (layer, _) in _leaves(model).items():
        if layer.dtype_policy.quantization_mode:
            raise ValueError(
                f"Layer '{path}' ({type(layer).__name__}) is already quantized (dtype policy "
                f"'{layer.dtype_policy.name}'); quantize the float model instead."
            )

    # Which layers Keras can quantize: try them all on a copy built from the config (no weights needed).
    # Copies are matched by position: auto-named sublayers may be named differently in each copy.
    probe = _rebuild(model)
    supported = [_quantize_layer(layer, path, mode) for path, (layer, _) in _leaves(probe).items()]
    # Which of them a `.keras` reload rebuilds quantized: rebuild the quantized probe from its config.
    survives = [layer.dtype_policy.quantization_mode == mode for layer, _ in _leaves(_rebuild(probe)).values()]

    quantized = _clone(model)
    leaves = _leaves(quantized)
    if not len(leaves) == len(supported) == len(survives):
        raise ValueError(
            f"quantize: model '{model.name}' rebuilt from its config has a different set of layers "
            f"({len(supported)} with weights) than the model itself ({len(leaves)}); its layers' "
            f"get_config must return their constructor arguments."
        )
    report = QuantizationReport(mode, [], [])
    for (path, (layer, parent)), can, kept in zip(leaves.items(), supported, survives):
        entry = {"layer": path, "type": type(layer).__name__, "parameters": layer.count_params()}
        if can and (kept or not reloadable):
            _quantize_layer(layer, path, mode)
            report.quantized.append(entry)
        elif can:
            report.float.append(
                {
                    **entry,
                    "reason": (
                        f"inside '{path.rsplit('/', 1)[0]}' ({type(parent).__name__}), whose config does not record its "
                        f"sublayers' dtype policies: a .keras reload would rebuild it float32 (reloadable=False "
                        f"quantizes it in memory)"
                    ),
                }
            )
        else:
            report.float.append({**entry, "reason": _unsupported(layer, mode)})
    # As Model.quantize does: the compiled train/predict functions traced the float layers.
    quantized.train_function = quantized.test_function = quantized.predict_function = None
    if getattr(model, "compiled", False):
        quantized.compile_from_config(model.get_compile_config())  # fresh optimizer over the remaining trainables
    return quantized, report


def _unsupported(layer, mode):
    """Why Keras left `layer` float."""
    kind = type(layer).__name__
    if not type(layer).__module__.startswith("keras."):
        return (
            f"{kind} holds its weights itself; Keras {keras.__version__} quantizes only Dense, EinsumDense "
            f"and Embedding layers"
        )
    return f"Keras {keras.__version__} has no {mode} quantization for {kind}"


def model_size_bytes(path_or_model, include_optimizer=False):
    """Size in bytes of a model file: a `.keras`/`.tflite`/`.onnx` file, a SavedModel folder, or a model.

    Args:
        path_or_model: a file (its size on disk), a folder (the sum of the
            files in it), or a Keras model (the size of the `.keras` file it
            saves to).
        include_optimizer: for a model, keep the optimizer's state (e.g. Adam's
            two moments per trainable weight) in the measured file. False
            measures the file of the model without its training state, so a
            trained model and its quantized copy compare like for like.

    Returns:
        The size in bytes (int).

    Raises:
        FileNotFoundError: nothing at the path.
        ValueError: `include_optimizer=False` for a model whose `.keras` file does not reload.

    Example:
        >>> import mmzoo
        >>> spec = mmzoo.Features("x", shape=(8,), normalize=False)
        >>> model = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(3))
        >>> model_size_bytes(model) > 4 * model.count_params()
        True
    """
    if isinstance(path_or_model, keras.Model):
        return _saved_size(path_or_model, include_optimizer)
    path = os.fspath(path_or_model)
    if os.path.isfile(path):
        return os.path.getsize(path)
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)
    raise FileNotFoundError(f"model_size_bytes: no file or folder at '{path}'.")


def _saved_size(model, include_optimizer):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.save(path)
            optimizer = getattr(model, "optimizer", None)
            if include_optimizer or optimizer is None or not optimizer.variables:
                return os.path.getsize(path)
            try:
                bare = keras.saving.load_model(path, compile=False, safe_mode=True)
            except Exception as error:
                raise ValueError(
                    f"model_size_bytes(include_optimizer=False) reloads model '{model.name}' to drop "
                    f"its optimizer, and it did not reload: {error}. Pass include_optimizer=True."
                ) from error
            path = os.path.join(folder, "bare.keras")
            bare.save(path)
            return os.path.getsize(path)
