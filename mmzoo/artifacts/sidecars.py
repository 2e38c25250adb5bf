"""Files written beside a TFLite or ONNX model: metadata and one tokenizer contract per text input.

Every sidecar starts with the model file's full name, so a `.tflite` and an
`.onnx` export of different models can share a folder:

    out/reviews.tflite                          the model core (token ids, pixels, waveforms, features)
    out/reviews.tflite.mmzoo.json               inputs (name, dtype, shape, kind), output, specs, task, options
    out/reviews.tflite.<text>.tokenizer.json    the tokenizer contract of text input <text>
    out/reviews.tflite.<text>.vocabulary.txt    its vocabulary, line i = token id i
    out/reviews.tflite.<text>.vocab.txt|.vocab.json+.merges.txt|.spm
                                                a pretrained encoder's own tokenizer file(s), beside its
                                                Hugging Face tokenizer.json (`mmzoo.artifacts.hf_tokenizer`)
"""

import json
import os

from mmzoo.artifacts.safety import read_json_file
from mmzoo.artifacts.tokenizer import contract_from_layer, read_contract, write_contract


def base_of(path):
    """The prefix of the sidecar files: the model file's path itself."""
    return os.fspath(path)


def metadata_path(path):
    return f"{base_of(path)}.mmzoo.json"


def input_kinds(core):
    """`{name: {"dtype", "shape", "kind"}}` of a core's inputs (shape without the batch dimension)."""
    kinds = {}
    for tensor in core.model.inputs:
        name = tensor.name.split(":")[0]
        kind = "token_ids" if name in core.text else "waveform" if name in core.audio else "tensor"
        kinds[name] = {"dtype": str(tensor.dtype), "shape": [int(d) for d in tensor.shape[1:]], "kind": kind}
    return kinds


def write_sidecars(model, core, path, format, output_name, extra=None):
    """Writes the metadata and tokenizer contracts beside `path`; returns the metadata dict."""
    base = base_of(path)
    tokenizers = {name: _write_tokenizer(layer, name, base, format) for name, layer in core.text.items()}
    from mmzoo.artifacts.export import _version

    metadata = {
        "format": f"mmzoo-{format}",
        "mmzoo_version": _version(),
        "model_file": os.path.basename(os.fspath(path)),
        "inputs": input_kinds(core),
        "output": output_name,
        "tokenizers": tokenizers,
        "audio_frontend": {
            name: {"layer": "mmzoo.artifacts.frontend.DFTLogMel", **layer.get_config()}
            for name, layer in core.audio.items()
        },
        "specs": getattr(model, "spec_configs", None),
        "task": getattr(model, "task_config", None),
        **(extra or {}),
    }
    with open(metadata_path(path), "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2, ensure_ascii=False)
    return metadata


def _write_tokenizer(layer, name, base, format):
    """The mmzoo contract of a TextVectorization, or a Hugging Face tokenizer.json of a pretrained encoder's."""
    if type(layer).__name__ == "HubTokenizer":
        from mmzoo.artifacts.hf_tokenizer import write_hf_tokenizer

        return write_hf_tokenizer(layer, name, base, format)
    return write_contract(contract_from_layer(layer, name, format), base)


def _read_tokenizer(path, files):
    if files.get("format") == "huggingface-tokenizers":
        from mmzoo.artifacts.hf_tokenizer import read_hf_tokenizer

        return read_hf_tokenizer(path)
    return read_contract(path)


def read_sidecars(path):
    """The metadata of a TFLite/ONNX model mmzoo wrote, with loaded contracts under `contracts`; or None."""
    meta = metadata_path(path)
    if not os.path.isfile(meta):
        return None
    metadata = read_json_file(meta)  # bounded: a metadata file is never read whole if oversized
    folder = os.path.dirname(meta)
    metadata["contracts"] = {
        name: _read_tokenizer(os.path.join(folder, files["tokenizer"]), files)
        for name, files in metadata.get("tokenizers", {}).items()
    }
    return metadata
