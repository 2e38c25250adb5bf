"""A KerasHub byte-level `BytePairTokenizer` (RoBERTa, GPT-2) as a Hugging Face `tokenizers` BPE model.

KerasHub's in-graph BPE (the path `model.predict` and a SavedModel run) does
not use GPT-2's look-ahead regex (RE2 has none): it marks every space that
precedes a non-space with "६" (U+096C), splits with `SPLIT_PATTERN_1`, splits a
trailing whitespace character off every piece with `SPLIT_PATTERN_2`, and drops
the pieces that are exactly the marker. The Hugging Face steps below state the
same: a `Replace` normalizer inserts the marker, two `Split` pre-tokenizers
apply the same patterns (RE2's `\\s` is ASCII whitespace, written out; RE2's `$`
is Oniguruma's `\\z`), a third removes marker pieces, `ByteLevel` maps bytes to
GPT-2's printable characters, and `BPE` merges with the preset's vocabulary
and merges. The special tokens are never split, as in KerasHub.

Refused (a `ValueError` naming the class): subclasses that tokenize their own
way (CLIP lowercases and marks word ends), vocabularies missing some of the
256 byte symbols (KerasHub's graph gives id -1 for those bytes), and
`add_prefix_space=True` (KerasHub adds the space once per text, a
tokenizer.json once per piece between special tokens).
"""

import json
import os

SPECIAL_SPACES = "\xa0\u2009\u202f\u3000"  # KerasHub's SPECIAL_WHITESPACES
WHITESPACE = "\t\n\f\r " + SPECIAL_SPACES  # RE2's \s (ASCII) plus those
MARKER = "६"
SPLIT_1 = (
    f"'s|'t|'re|'ve|'m|'ll|'d|[{WHITESPACE}]+[\n\r\t\f{MARKER}{SPECIAL_SPACES}]| ?\\p{{L}}+| ?\\p{{N}}+"
    f"| ?[^{WHITESPACE}\\p{{L}}\\p{{N}}]+"
)
SPLIT_2 = f"[ \t\r\f\x0b{MARKER}{SPECIAL_SPACES}]\\z"


def check_byte_pair(hub, input_name, format):
    """Raises a `ValueError` unless `hub` tokenizes as KerasHub's own `BytePairTokenizer` does."""
    from keras_hub.tokenizers import BytePairTokenizer

    own = [
        name
        for name in ("tokenize", "_tokenize_tf", "call")
        if getattr(type(hub), name, None) is not getattr(BytePairTokenizer, name)
    ]
    if own:
        raise ValueError(
            f"Text input '{input_name}': {type(hub).__name__} tokenizes its own way ({', '.join(own)} overridden), "
            f"so mmzoo cannot write a tokenizer.json for {format} that gives the same ids. Export "
            f"format='savedmodel' (the tokenizer stays in the graph)."
        )
    if hub.add_prefix_space:
        raise ValueError(
            f"Text input '{input_name}': its {type(hub).__name__} has add_prefix_space=True, which KerasHub applies "
            f"once per text (even an empty one) and a tokenizer.json once per piece between special tokens, so "
            f"the ids would differ for {format}. Build the tokenizer with add_prefix_space=False and put the space "
            f"in the text, or export format='savedmodel'."
        )
    from keras_hub.src.tokenizers.byte_pair_tokenizer import bytes_to_unicode

    missing = [c for c in bytes_to_unicode()[1] if c not in hub.vocabulary]
    if missing:
        raise ValueError(
            f"Text input '{input_name}': the {type(hub).__name__} vocabulary lacks {len(missing)} of the 256 "
            f"byte symbols (e.g. {missing[:3]}); KerasHub gives those bytes id -1, which no tokenizer.json can "
            f"state. Use a byte-level vocabulary (every byte symbol), or export format='savedmodel'."
        )


def byte_pair_tokenizer(hub):
    """`tokenizers.Tokenizer` giving the ids of KerasHub's in-graph `BytePairTokenizer` `hub`."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    merges = [tuple(m.split(" ")) for m in hub.merges if "#version:" not in m.lstrip()]
    tokenizer = Tokenizer(models.BPE(dict(hub.vocabulary), merges))
    tokenizer.add_special_tokens(list(hub.unsplittable_tokens or []))
    tokenizer.normalizer = normalizers.Replace(Regex(f" (?=[^{WHITESPACE}])"), f"{MARKER} ")
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_1), "isolated"),
            pre_tokenizers.Split(Regex(SPLIT_2), "isolated"),
            pre_tokenizers.Split(Regex(f"\\A{MARKER}\\z"), "removed"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False, trim_offsets=False),
        ]
    )
    return tokenizer


def write_byte_pair_assets(hub, prefix):
    """Writes `<prefix>.vocab.json` and `<prefix>.merges.txt` (GPT-2's file format); returns their names."""
    with open(f"{prefix}.vocab.json", "w", encoding="utf-8") as f:
        json.dump(dict(hub.vocabulary), f, ensure_ascii=False)
    with open(f"{prefix}.merges.txt", "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(f"{merge}\n" for merge in hub.merges))
    return [os.path.basename(f"{prefix}.vocab.json"), os.path.basename(f"{prefix}.merges.txt")]
