"""A KerasHub WordPiece tokenizer written as a Hugging Face `tokenizer.json`, for TFLite and ONNX clients.

TFLite and ONNX cores of a model with a pretrained text encoder take token
ids; the tokenizer goes beside the model file as `<file>.<input>.tokenizer.json`
in the Hugging Face `tokenizers` format, which the `tokenizers` libraries for
Python, Rust, Node.js and others read (`Tokenizer.from_file`). It states the
same steps as the in-graph `HubTokenizer`: normalization (lowercasing,
accent stripping, CJK splitting as the KerasHub tokenizer was configured),
split on whitespace and punctuation, WordPiece with the preset's vocabulary,
the start and end tokens, truncation and padding to `sequence_length`.
Tests check its ids against the in-graph tokenizer's. One known difference:
TF Text folds case fully (NFKC_Casefold: "ß" becomes "ss"), the `tokenizers`
normalizer lowercases ("ß" stays).

WordPiece tokenizers (BERT, DistilBERT, ELECTRA and any `WordPieceTokenizer`)
are written; others (byte-pair, SentencePiece) are refused with a message
naming them: export `format="savedmodel"` for those.
"""

import json
import os

import numpy as np

FORMAT = "huggingface-tokenizers"


def tokenizer_json(layer, input_name, format="tflite"):
    """The Hugging Face `tokenizer.json` text equivalent to the `HubTokenizer` `layer`."""
    from keras_hub.tokenizers import WordPieceTokenizer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    hub = layer.tokenizer
    if not isinstance(hub, WordPieceTokenizer) or not hub.split:
        raise ValueError(
            f"Text input '{input_name}': its {type(hub).__name__} cannot be written as a tokenizer.json for "
            f"{format} (mmzoo writes WordPiece tokenizers: BERT, DistilBERT, ELECTRA). Export "
            f"format='savedmodel' (the tokenizer stays in the graph)."
        )
    vocabulary = {str(token): i for i, token in enumerate(hub.get_vocabulary())}
    tokenizer = Tokenizer(
        models.WordPiece(vocabulary, unk_token=hub.oov_token, continuing_subword_prefix=hub.suffix_indicator)
    )
    steps = [
        normalizers.BertNormalizer(
            clean_text=False,
            handle_chinese_chars=bool(hub.split_on_cjk),
            strip_accents=bool(hub.strip_accents),
            lowercase=False,
        )
    ]
    if hub.lowercase:  # KerasHub lowercases with TF Text's case_fold_utf8: NFKC, then case folding
        steps += [normalizers.NFKC(), normalizers.Lowercase()]
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    start, end, pad = layer.special_ids()
    template, specials = "$A", []
    if start is not None:
        template = f"{hub.id_to_token(start)} {template}"
        specials.append((hub.id_to_token(start), int(start)))
    if end is not None:
        template = f"{template} {hub.id_to_token(end)}"
        specials.append((hub.id_to_token(end), int(end)))
    tokenizer.post_processor = processors.TemplateProcessing(single=template, special_tokens=specials)
    tokenizer.enable_truncation(max_length=layer.sequence_length)
    tokenizer.enable_padding(length=layer.sequence_length, pad_id=pad, pad_token=hub.id_to_token(pad))
    return tokenizer.to_str(pretty=True)


def write_hf_tokenizer(layer, input_name, base, format="tflite"):
    """Writes `<base>.<input>.tokenizer.json`; returns the sidecar entry `{"tokenizer", "format"}`."""
    path = f"{base}.{input_name}.tokenizer.json"
    with open(path, "w", encoding="utf-8") as f:
        f.write(tokenizer_json(layer, input_name, format))
    return {"tokenizer": os.path.basename(path), "format": FORMAT}


def read_hf_tokenizer(path):
    """A contract dict `{"format", "tokenizer"}` for `hf_tokenize`, from a `tokenizer.json` file."""
    from tokenizers import Tokenizer

    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "model" not in json.loads(text):
        raise ValueError(f"'{path}' is not a Hugging Face tokenizer.json (no 'model').")
    return {"format": FORMAT, "tokenizer": Tokenizer.from_str(text)}


def hf_tokenize(texts, contract):
    """Token ids `(len(texts), sequence_length)` int32 of `texts` with a `read_hf_tokenizer` contract."""
    texts = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in texts]
    encodings = contract["tokenizer"].encode_batch(texts)
    return np.array([e.ids for e in encodings], dtype="int32")
