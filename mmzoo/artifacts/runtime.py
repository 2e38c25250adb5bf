"""Predict from any mmzoo artifact (.keras, SavedModel, .tflite, .onnx, or a registered format) on raw inputs."""

import os

from mmzoo.artifacts.formats import artifact_format, as_array, export_format
from mmzoo.artifacts.tokenizer import tokenize
from mmzoo.models.input_checks import check_keys

__all__ = ["artifact_format", "core_feed", "predict_from_artifact"]


def core_feed(path, inputs):
    """Raw inputs -> the inputs of a TFLite/ONNX core: text tokenized with the contract beside `path`."""
    from mmzoo.artifacts.sidecars import read_sidecars

    metadata = read_sidecars(path)
    inputs = {k: as_array(v) for k, v in inputs.items()}
    if metadata is None:
        return inputs, None
    check_keys(f"The model at '{path}'", metadata["inputs"], inputs)
    feed = {}
    for name, info in metadata["inputs"].items():
        value = inputs[name]
        if info["kind"] == "token_ids" and value.dtype == object:
            contract = metadata["contracts"][name]
            if contract.get("format") == "huggingface-tokenizers":  # a pretrained encoder's tokenizer
                from mmzoo.artifacts.hf_tokenizer import hf_tokenize

                value = hf_tokenize(list(value.reshape(-1)), contract)
            else:
                value = tokenize(list(value.reshape(-1)), contract)
        expected = tuple(info["shape"])
        if tuple(value.shape[1:]) != expected:
            described = "strings of shape (batch,) or " if info["kind"] == "token_ids" else ""
            raise ValueError(
                f"Input '{name}' expects {described}{info['dtype']} values of shape "
                f"(batch, {', '.join(str(d) for d in expected)}); received shape {value.shape}."
            )
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
    path = os.fspath(path)
    return export_format(artifact_format(path)).predict(path, inputs, trust=trust)
