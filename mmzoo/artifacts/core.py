"""The model core: the trained model from preprocessed inputs, for formats without string or FFT ops."""

import dataclasses
import warnings

import keras

from mmzoo.artifacts.frontend import DFTLogMel

# Layers no builtin TFLite op set or ONNX converter can express, with the reason.
UNSUPPORTED = {
    "TextVectorization": "string ops (lowercasing, regex, split, vocabulary lookup)",
    "StringLookup": "string vocabulary lookup",
    "Hashing": "string hashing",
    "MelSpectrogram": "an FFT (RFFT) lowering",
    "STFTSpectrogram": "an FFT (RFFT) lowering",
    "WhisperAudioConverter": "an FFT (RFFT) lowering and ragged padding (KerasHub's Whisper log-mel)",
    "TFSMLayer": "an opaque SavedModel call",
    "Lambda": "arbitrary Python code",
}


@dataclasses.dataclass
class Core:
    """A model core and how its inputs relate to the raw-input model.

    Attributes:
        model: Keras model whose inputs are `{name: tensor}`: token ids
            (int32, `(sequence_length,)`) for text, the raw tensor otherwise;
            audio log-mels are computed by `DFTLogMel` layers inside it.
        text: `{input_name: TextVectorization layer}` cut off the front; the
            client tokenizes with the contract of each (`mmzoo.artifacts.tokenizer`).
        audio: `{input_name: DFTLogMel layer}` that replaced a `MelSpectrogram`.
    """

    model: keras.Model
    text: dict
    audio: dict


def _input_names(model):
    return [t.name.split(":")[0] for t in model.inputs]


def _consumers(model, tensor):
    """Layers of `model` that take the Keras tensor `tensor` as an input."""
    found = []
    for layer in model.layers:
        for node in getattr(layer, "_inbound_nodes", []):
            if any(t is tensor for t in node.input_tensors):
                found.append(layer)
    return found


def layer_paths(model, prefix=""):
    """Yields `(path, layer)` for every layer nested in `model`, paths like `text_encoder/bidirectional0`."""
    for layer in model._flatten_layers(include_self=False, recursive=False):
        path = f"{prefix}{layer.name}"
        yield path, layer
        yield from layer_paths(layer, f"{path}/")


def check_exportable(model, format):
    """Raises `ValueError` naming the first layer `format` cannot express (searching nested models)."""
    for path, layer in layer_paths(model):
        reason = UNSUPPORTED.get(type(layer).__name__)
        if reason:
            raise ValueError(
                f"Layer '{path}' ({type(layer).__name__}) cannot be exported to {format}: it needs "
                f"{reason}, which {format} cannot run. mmzoo cuts TextVectorization and MelSpectrogram off "
                f"only where they read a model input directly; rebuild the model with them there (mmzoo "
                f"specs do this), or export format='savedmodel'."
            )
    for tensor in model.inputs:
        if str(tensor.dtype) == "string":
            raise ValueError(
                f"Input '{tensor.name}' takes strings, which {format} cannot express; "
                f"give it a TextVectorization right after the input, or export format='savedmodel'."
            )


def build_core(model, format):
    """The model from token ids, pixels, waveforms and features, reusing the trained layers.

    Each `TextVectorization` that reads a model input directly is cut off (the
    core takes int32 token ids of its `output_sequence_length` instead), and
    each `MelSpectrogram` that reads a model input is replaced by the
    equivalent `DFTLogMel`. Everything after them is the trained model itself
    (shared layers and weights). Whatever `format` still cannot express raises
    a `ValueError` naming the layer and the format.

    Args:
        model: a functional Keras model (a `mmzoo.MultimodalModel`).
        format: the export format, for error messages ("tflite", "onnx").

    Returns:
        A `Core`.

    Example:
        >>> import numpy as np, mmzoo
        >>> spec = mmzoo.Text("t", vocabulary_size=10, sequence_length=3)
        >>> spec.adapt(["a b", "b c"])
        >>> model = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(2))
        >>> core = build_core(model, "tflite")
        >>> tuple(core.model.inputs[0].shape), str(core.model.inputs[0].dtype)
        ((None, 3), 'int32')
    """
    if not isinstance(model, keras.Model) or not hasattr(model, "_nodes_by_depth") or not model.inputs:
        raise ValueError(
            f"Exporting to {format} needs a functional Keras model (mmzoo.build_model builds "
            f"one); received {type(model).__name__} '{getattr(model, 'name', '?')}'."
        )
    names = _input_names(model)
    text, audio, substitute = {}, {}, {}
    for name, tensor in zip(names, model.inputs):
        for layer in _consumers(model, tensor):
            kind = type(layer).__name__
            if kind == "TextVectorization":
                if layer.get_config().get("output_mode") != "int":
                    raise ValueError(
                        f"Layer '{layer.name}' (TextVectorization, output_mode="
                        f"{layer.get_config().get('output_mode')!r}) cannot be exported to {format}: the "
                        f"tokenizer contract covers output_mode='int' token ids only. Export "
                        f"format='savedmodel', or use an int text encoder."
                    )
                text[name] = layer
            elif kind == "HubTokenizer":  # a pretrained encoder's tokenizer (mmzoo.encoders.hub_preprocessing)
                text[name] = layer
            elif kind == "MelSpectrogram":
                audio[name] = substitute[id(layer)] = DFTLogMel.from_mel_spectrogram(layer)
    outer, feed = {}, []
    for name, tensor in zip(names, model.inputs):
        if name in text:
            length = getattr(text[name], "sequence_length", None) or text[name].get_config()["output_sequence_length"]
            outer[name] = keras.Input((length,), dtype="int32", name=name)
            substitute[id(text[name])] = lambda *args, _ids=outer[name], **kwargs: _ids
            feed.append(keras.Input(tuple(tensor.shape[1:]), dtype=tensor.dtype))  # never read
        else:
            outer[name] = keras.Input(tuple(tensor.shape[1:]), dtype=tensor.dtype, name=name)
            feed.append(outer[name])
    # Replay the model's graph on the new inputs, as calling it would, swapping the cut layers: the
    # trained layers are shared (new nodes only), so `model` itself is left as it was.
    outputs = model._run_through_graph(feed, operation_fn=lambda op: substitute.get(id(op), op))
    core = keras.Model(outer, outputs, name=f"{model.name}_core")
    check_exportable(core, format)
    return Core(core, text, audio)


def layer_in_error(model, message):
    """The name of the layer of `model` a converter error message points at (its op path), or None."""
    found = None
    for layer in model._flatten_layers(include_self=False):
        for candidate in (f"/{layer.name}_1/", f"/{layer.name}/"):
            position = message.find(candidate)
            if position >= 0 and (found is None or position > found[0]):
                found = (position, layer.name)
    return found[1] if found else None


def conversion_error(model, format, error):
    """A `ValueError` for a converter failure, naming the layer its op belongs to where it can be found."""
    message = str(error)
    layer = layer_in_error(model, message)
    where = f"Layer '{layer}'" if layer else f"Model '{model.name}'"
    first = next((line for line in message.splitlines() if "error" in line.lower()), message[:500])
    return ValueError(f"{where} cannot be exported to {format}: the converter failed with: {first[:800]}")


def core_inputs(core, inputs):
    """Raw model inputs (`{name: array}`, strings for text) -> the core's inputs (token ids for text)."""
    import numpy as np

    out = {}
    for tensor in core.model.inputs:
        name = tensor.name.split(":")[0]
        if name not in inputs:
            raise ValueError(f"Input '{name}' is missing; received keys {sorted(inputs)}.")
        value = inputs[name]
        if name in core.text and np.asarray(value).dtype.kind in "OUS":
            value = keras.ops.convert_to_numpy(core.text[name](np.asarray(value, dtype=object)))
        out[name] = np.asarray(value).astype(str(tensor.dtype))
    return out


def float32_core(core):
    """`core` rebuilt with every layer computing in float32 (ONNX export takes the float32 policy)."""
    mixed = [
        layer
        for layer in core.model._flatten_layers(include_self=False)
        if getattr(layer, "compute_dtype", "float32") not in ("float32", "int32", "int64", "bool", "string")
    ]
    if not mixed:
        return core

    def force(node):
        if isinstance(node, dict):
            if node.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(node.get("config"), dict):
                return {**node, "config": {**node["config"], "name": "float32"}}
            return {k: force(v) for k, v in node.items()}
        if isinstance(node, list):
            return [force(v) for v in node]
        return node

    config = force(keras.saving.serialize_keras_object(core.model))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")
        rebuilt = keras.saving.deserialize_keras_object(config)
    rebuilt.set_weights(core.model.get_weights())
    for layer in rebuilt._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Normalization):
            layer.finalize_state()  # adapted statistics live in weights; finalize_state publishes them
    return Core(rebuilt, core.text, core.audio)
