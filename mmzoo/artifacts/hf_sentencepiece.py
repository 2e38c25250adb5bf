"""A KerasHub `SentencePieceTokenizer` (unigram model) as a Hugging Face `tokenizers` Unigram model.

KerasHub runs SentencePiece itself in the graph (TF Text's op on the preset's
serialized model proto). The proto is read with the `sentencepiece` package's
`sentencepiece_model_pb2` (keras-hub depends on it), and the Hugging Face file
states SentencePiece's steps: the proto's precompiled normalization map
(`nmt_nfkc` and friends), removal of leading, trailing and repeated spaces,
spaces written as "▁", the dummy "▁" prefix (`Metaspace`), user-defined pieces
kept whole, then `Unigram` (Viterbi over the pieces' log-probabilities) with
the unknown piece and byte fallback as in the proto.

Ids follow KerasHub's vocabulary order (`get_vocabulary()`), so tokenizers that
renumber SentencePiece's ids (XLM-RoBERTa's fairseq offset, DeBERTa-v3's
appended `[MASK]`) come out right. SentencePiece never matches control pieces
(`<s>`, `</s>`, `<pad>`, ...) or the unknown piece inside text, while
`tokenizers` matches every vocabulary entry: those entries are written with a
leading space (`" <s>"`), which never occurs in the normalized text (every
space became "▁"), and the post-processor names the real start and end tokens.

Refused (a `ValueError` naming the class and what to do): BPE, word and char
SentencePiece models, `add_bos`/`add_eos` tokenizers, whitespace-as-suffix
models, and subclasses that change the ids in other ways.
"""

import os

NORMAL, USER_DEFINED, BYTE = 1, 4, 6
MODEL_TYPES = {1: "UNIGRAM", 2: "BPE", 3: "WORD", 4: "CHAR"}


def model_proto(hub):
    """The `ModelProto` (sentencepiece_model_pb2) of KerasHub tokenizer `hub`."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(hub.proto)
    return proto


def check_sentencepiece(hub, input_name, format):
    """Raises a `ValueError` unless `hub`'s ids can be stated by a tokenizer.json; returns the proto."""
    from keras_hub.models import XLMRobertaTokenizer
    from keras_hub.tokenizers import SentencePieceTokenizer

    def refuse(why, fix="export format='savedmodel' (the tokenizer stays in the graph)"):
        raise ValueError(
            f"Text input '{input_name}': its {type(hub).__name__} {why}, so mmzoo cannot write a tokenizer.json "
            f"for {format} that gives the same ids. Instead, {fix}."
        )

    known = (SentencePieceTokenizer._tokenize_tf, XLMRobertaTokenizer._tokenize_tf)
    if type(hub)._tokenize_tf not in known or type(hub).tokenize is not SentencePieceTokenizer.tokenize:
        refuse("changes SentencePiece's ids in its own way")
    if hub.add_bos or hub.add_eos:
        refuse("adds start/end tokens itself (add_bos/add_eos)", "build it with add_bos=False, add_eos=False")
    proto = model_proto(hub)
    kind = proto.trainer_spec.model_type
    if kind != 1:
        refuse(
            f"holds a SentencePiece {MODEL_TYPES.get(kind, kind)} model (mmzoo writes unigram models)",
            "export format='savedmodel', or give clients the .spm file written beside the model",
        )
    spec = proto.normalizer_spec
    if proto.trainer_spec.treat_whitespace_as_suffix or not spec.escape_whitespaces:
        refuse("marks whitespace in a way tokenizer.json's Metaspace cannot (suffix, or unescaped spaces)")
    return proto


def sentencepiece_tokenizer(hub, proto):
    """`tokenizers.Tokenizer` giving the ids of KerasHub's in-graph `SentencePieceTokenizer` `hub`."""
    import re

    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    pieces = {p.piece: p for p in proto.pieces}
    matchable = (NORMAL, USER_DEFINED, BYTE)
    vocabulary = []
    for token in hub.get_vocabulary():
        piece = pieces.get(token)
        if piece is not None and piece.type in matchable:
            vocabulary.append((token, float(piece.score)))
        else:  # control, unknown, unused, or a token the KerasHub class added: never matched in text
            vocabulary.append((f" {token}", float(piece.score) if piece is not None else 0.0))
    unk = hub.token_to_id(proto.trainer_spec.unk_piece or "<unk>")
    tokenizer = Tokenizer(models.Unigram(vocabulary, unk_id=int(unk), byte_fallback=proto.trainer_spec.byte_fallback))
    spec = proto.normalizer_spec
    steps = [normalizers.Precompiled(spec.precompiled_charsmap)] if spec.precompiled_charsmap else []
    if spec.remove_extra_whitespaces:
        steps += [normalizers.Replace(Regex(r"\A +| +\z"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    steps.append(normalizers.Replace(" ", "▁"))
    pre = []
    if spec.add_dummy_prefix:  # Metaspace adds no "▁" to a text that starts with one: SentencePiece does
        steps.append(normalizers.Replace(Regex(r"\A▁"), "▁▁"))
        pre.append(pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False))
    tokenizer.normalizer = normalizers.Sequence(steps)
    user = sorted((p.piece for p in proto.pieces if p.type == USER_DEFINED), key=len, reverse=True)
    if user:  # SentencePiece emits user-defined pieces whole
        pre.append(pre_tokenizers.Split(Regex("|".join(re.escape(piece) for piece in user)), "isolated"))
    if pre:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(pre)
    return tokenizer


def write_sentencepiece_asset(hub, prefix):
    """Writes `<prefix>.spm` (the serialized SentencePiece model); returns its name."""
    with open(f"{prefix}.spm", "wb") as f:
        f.write(hub.proto)
    return [os.path.basename(f"{prefix}.spm")]
