"""The tokenizer contract: what a client must do to turn text into a model core's token ids.

TFLite and ONNX exports take token ids (the interpreters that ship for
mobile and for onnxruntime cannot run TensorFlow's string ops). Beside the
model, `write_contract` writes `<model file>.<input>.vocabulary.txt` (UTF-8, one
token per line, line `i` is token id `i`; line 0 is the empty padding token,
line 1 the out-of-vocabulary token `[UNK]`) and `<model file>.<input>.tokenizer.json`,
which states the steps below. `tokenize` is the pure-Python reference
implementation (no TensorFlow); its output equals the in-graph
`keras.layers.TextVectorization` it was written from.

The steps, in order (each switched on by the contract):
1. `lowercase: "ascii"`: A-Z become a-z; every other character stays
   (TensorFlow's `tf.strings.lower` is ASCII-only: "École" stays "École").
2. `strip_characters`: delete every character of this ASCII set (Keras's
   `lower_and_strip_punctuation` set, apostrophe included).
3. `split: "ascii_whitespace"`: split on runs of space, \\t, \\n, \\v, \\f, \\r;
   leading/trailing whitespace gives no token (no-break and other Unicode
   spaces are not separators). `split: "character"`: one token per code point.
4. `ngrams`: optional list of widths; for each width in order, the
   space-joined windows of that many tokens.
5. Look each token up in the vocabulary (exact, case-sensitive match);
   unknown tokens get `oov_id` (1).
6. Keep the first `sequence_length` ids; pad at the end with `padding_id` (0).
"""

import json
import os
import re

import numpy as np

FORMAT = "mmzoo-tokenizer/1"
STRIP_CHARACTERS = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'"
ASCII_WHITESPACE = " \t\n\x0b\x0c\r"
_UPPER = {ord(c): ord(c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_SPLIT = re.compile(f"[{re.escape(ASCII_WHITESPACE)}]+")


def contract_from_layer(layer, input_name, format="tflite"):
    """The tokenizer contract (a dict, with `vocabulary`) of a `keras.layers.TextVectorization`.

    Raises:
        ValueError: naming the layer and `format`, for settings the contract
            cannot express (callable standardize/split, non-int output).
    """
    config = layer.get_config()
    standardize, split = config.get("standardize"), config.get("split")
    problems = []
    if standardize not in (None, "lower", "strip_punctuation", "lower_and_strip_punctuation"):
        problems.append(f"standardize={standardize!r}")
    if split not in (None, "whitespace", "character"):
        problems.append(f"split={split!r}")
    if config.get("output_mode") != "int":
        problems.append(f"output_mode={config.get('output_mode')!r}")
    if config.get("output_sequence_length") is None:
        problems.append("output_sequence_length=None")
    if problems:
        raise ValueError(
            f"Layer '{layer.name}' (TextVectorization) cannot be exported to {format}: the "
            f"tokenizer contract covers built-in standardize/split, output_mode='int' and a fixed "
            f"output_sequence_length; received {', '.join(problems)}. Export format='savedmodel'."
        )
    ngrams = config.get("ngrams")
    if isinstance(ngrams, int):
        ngrams = list(range(1, ngrams + 1))
    vocabulary = [str(t) for t in layer.get_vocabulary()]
    return {
        "format": FORMAT,
        "input": input_name,
        "lowercase": "ascii" if standardize in ("lower", "lower_and_strip_punctuation") else None,
        "strip_characters": STRIP_CHARACTERS
        if standardize in ("strip_punctuation", "lower_and_strip_punctuation")
        else None,
        "split": {"whitespace": "ascii_whitespace", "character": "character", None: None}[split],
        "ngrams": list(ngrams) if ngrams else None,
        "sequence_length": int(config["output_sequence_length"]),
        "padding_id": 0,
        "oov_id": 1,
        "oov_token": vocabulary[1] if len(vocabulary) > 1 else "[UNK]",
        "vocabulary_size": len(vocabulary),
        "dtype": "int32",
        "truncate": "keep the first sequence_length ids",
        "pad": "append padding_id up to sequence_length",
        "vocabulary": vocabulary,
    }


def write_contract(contract, base):
    """Writes `<base>.<input>.vocabulary.txt` and `<base>.<input>.tokenizer.json`; returns their names."""
    prefix = f"{base}.{contract['input']}"
    for token in contract["vocabulary"]:
        if any(c in token for c in "\n\r"):
            raise ValueError(
                f"Text input '{contract['input']}': vocabulary token {token!r} contains a line "
                f"break and cannot be written one per line."
            )
    with open(f"{prefix}.vocabulary.txt", "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(contract["vocabulary"]) + "\n")
    meta = {k: v for k, v in contract.items() if k != "vocabulary"}
    meta["vocabulary_file"] = os.path.basename(f"{prefix}.vocabulary.txt")
    with open(f"{prefix}.tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, ensure_ascii=False)
    return {"tokenizer": os.path.basename(f"{prefix}.tokenizer.json"), "vocabulary": meta["vocabulary_file"]}


def read_contract(path):
    """Reads a `tokenizer.json` and its vocabulary file into a contract dict for `tokenize`."""
    with open(path, encoding="utf-8") as f:
        contract = json.load(f)
    if contract.get("format") != FORMAT:
        raise ValueError(
            f"'{path}' is not a tokenizer contract: expected format '{FORMAT}'; received {contract.get('format')!r}."
        )
    vocab_path = os.path.join(os.path.dirname(path), contract["vocabulary_file"])
    with open(vocab_path, encoding="utf-8", newline="\n") as f:
        contract["vocabulary"] = f.read().split("\n")[: contract["vocabulary_size"]]
    return contract


def _tokens(text, contract):
    if contract["lowercase"] == "ascii":
        text = text.translate(_UPPER)
    if contract["strip_characters"]:
        text = text.translate({ord(c): None for c in contract["strip_characters"]})
    if contract["split"] == "ascii_whitespace":
        tokens = [t for t in _SPLIT.split(text) if t]
    elif contract["split"] == "character":
        tokens = list(text)
    else:
        tokens = [text]
    if contract.get("ngrams"):
        tokens = [" ".join(tokens[i : i + n]) for n in contract["ngrams"] for i in range(len(tokens) - n + 1)]
    return tokens


def tokenize(texts, contract):
    """Token ids `(len(texts), sequence_length)` int32 for `texts`, following `contract`.

    Args:
        texts: iterable of `str` (or UTF-8 `bytes`).
        contract: a dict from `contract_from_layer` or `read_contract`.

    Returns:
        An int32 NumPy array.

    Example:
        >>> contract = {"lowercase": "ascii", "strip_characters": STRIP_CHARACTERS,
        ...             "split": "ascii_whitespace", "ngrams": None, "sequence_length": 4,
        ...             "padding_id": 0, "oov_id": 1, "vocabulary": ["", "[UNK]", "good", "film"]}
        >>> tokenize(["A GOOD film!", "bad"], contract).tolist()
        [[1, 2, 3, 0], [1, 0, 0, 0]]
    """
    index = {token: i for i, token in enumerate(contract["vocabulary"]) if i >= 2}
    length, oov, pad = contract["sequence_length"], contract["oov_id"], contract["padding_id"]
    out = np.full((len(texts), length), pad, dtype="int32")
    for row, text in enumerate(texts):
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        ids = [index.get(t, oov) for t in _tokens(str(text), contract)][:length]
        out[row, : len(ids)] = ids
    return out
