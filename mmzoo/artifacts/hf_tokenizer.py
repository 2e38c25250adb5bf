"""A KerasHub tokenizer written as a Hugging Face `tokenizer.json`, for TFLite and ONNX clients.

TFLite and ONNX cores of a model with a pretrained text encoder take token
ids; the tokenizer goes beside the model file as `<file>.<input>.tokenizer.json`
in the Hugging Face `tokenizers` format, which the `tokenizers` libraries for
Python, Rust, Node.js and others read (`Tokenizer.from_file`). It states the
same steps as the in-graph `HubTokenizer`, then its start and end tokens,
truncation and padding to `sequence_length`. Tests check its ids against the
in-graph tokenizer's. Beside it goes the preset's own tokenizer file, for
clients with the original library:

| KerasHub tokenizer | presets | tokenizer.json model | original file(s) |
| --- | --- | --- | --- |
| `WordPieceTokenizer` | BERT, DistilBERT, ELECTRA | WordPiece | `<file>.<input>.vocab.txt` |
| `BytePairTokenizer` (byte-level) | RoBERTa, GPT-2 | BPE (`mmzoo.artifacts.hf_byte_pair`) | `.vocab.json`, `.merges.txt` |
| `SentencePieceTokenizer` (unigram) | DeBERTa-v3, ALBERT, XLM-R, T5 | Unigram (`mmzoo.artifacts.hf_sentencepiece`) | `.spm` |

WordPiece: normalization (lowercasing, accent stripping, CJK splitting as
the KerasHub tokenizer was configured), split on whitespace and punctuation,
WordPiece with the preset's vocabulary. One known difference: TF Text folds
case fully (NFKC_Casefold: "ß" becomes "ss"), the `tokenizers` normalizer
lowercases ("ß" stays).

Other tokenizers (CLIP's BPE, SentencePiece BPE models, byte and character
tokenizers) are refused with a message naming them: export
`format="savedmodel"` for those.
"""

import json
import os

import numpy as np

FORMAT = "huggingface-tokenizers"


def tokenizer_json(layer, input_name, format="tflite"):
    """The Hugging Face `tokenizer.json` text equivalent to the `HubTokenizer` `layer`."""
    return _family(layer, input_name, format)[1]().to_str(pretty=True)


def _family(layer, input_name, format):
    """`(name, build, write_originals)` of `layer`'s tokenizer; a `ValueError` for tokenizers mmzoo cannot write."""
    from keras_hub.tokenizers import BytePairTokenizer, SentencePieceTokenizer, WordPieceTokenizer

    hub = layer.tokenizer
    if layer.canonicalize or layer.packed_length:
        raise ValueError(
            f"Text input '{input_name}': its text is canonicalized and packed short of the padded context as "
            f"SigLIP reads it, which a tokenizer.json for {format} does not reproduce exactly (TensorFlow "
            f"lower-cases ASCII only). Export format='savedmodel' (the tokenizer stays in the graph)."
        )
    if isinstance(hub, WordPieceTokenizer) and hub.split:
        return "wordpiece", lambda: _finish(_wordpiece(hub), layer), lambda prefix: _write_vocab_txt(hub, prefix)
    if isinstance(hub, BytePairTokenizer):
        from mmzoo.artifacts import hf_byte_pair

        hf_byte_pair.check_byte_pair(hub, input_name, format)
        return (
            "byte_pair",
            lambda: _finish(hf_byte_pair.byte_pair_tokenizer(hub), layer),
            lambda prefix: hf_byte_pair.write_byte_pair_assets(hub, prefix),
        )
    if isinstance(hub, SentencePieceTokenizer):
        from mmzoo.artifacts import hf_sentencepiece

        proto = hf_sentencepiece.check_sentencepiece(hub, input_name, format)
        return (
            "sentencepiece_unigram",
            lambda: _finish(hf_sentencepiece.sentencepiece_tokenizer(hub, proto), layer),
            lambda prefix: hf_sentencepiece.write_sentencepiece_asset(hub, prefix),
        )
    raise ValueError(
        f"Text input '{input_name}': its {type(hub).__name__} cannot be written as a tokenizer.json for "
        f"{format} (mmzoo writes WordPiece, byte-level BPE and SentencePiece unigram tokenizers: BERT, RoBERTa, "
        f"GPT-2, DeBERTa-v3, ALBERT, XLM-R, T5, ...). Export format='savedmodel' (the tokenizer stays in the graph)."
    )


def _wordpiece(hub):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

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
    return tokenizer


def _finish(tokenizer, layer):
    """`HubTokenizer`'s packing: start and end tokens, truncation and padding to `sequence_length`."""
    from tokenizers import processors

    hub = layer.tokenizer
    start, end, pad = layer.special_ids()
    template, specials = "$A", []
    if start is not None:
        template = f"{hub.id_to_token(start)} {template}"
        specials.append((hub.id_to_token(start), int(start)))
    if end is not None:
        template = f"{template} {hub.id_to_token(end)}"
        if end != start:
            specials.append((hub.id_to_token(end), int(end)))
    tokenizer.post_processor = processors.TemplateProcessing(single=template, special_tokens=specials)
    tokenizer.enable_truncation(max_length=layer.sequence_length)
    tokenizer.enable_padding(length=layer.sequence_length, pad_id=pad, pad_token=hub.id_to_token(pad))
    return tokenizer


def _write_vocab_txt(hub, prefix):
    with open(f"{prefix}.vocab.txt", "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(f"{token}\n" for token in hub.get_vocabulary()))
    return [os.path.basename(f"{prefix}.vocab.txt")]


def write_hf_tokenizer(layer, input_name, base, format="tflite"):
    """Writes `<base>.<input>.tokenizer.json` and the original tokenizer file(s) beside it.

    Returns the sidecar entry `{"tokenizer", "format", "family", "original"}`.
    """
    family, build, write_originals = _family(layer, input_name, format)
    prefix = f"{base}.{input_name}"
    with open(f"{prefix}.tokenizer.json", "w", encoding="utf-8") as f:
        f.write(build().to_str(pretty=True))
    return {
        "tokenizer": os.path.basename(f"{prefix}.tokenizer.json"),
        "format": FORMAT,
        "family": family,
        "original": write_originals(prefix),
    }


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
