"""The written tokenizer contract reproduces the in-graph TextVectorization exactly, without TensorFlow."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from mmzoo.artifacts.tokenizer import contract_from_layer, read_contract, tokenize, write_contract

CORPUS = [
    "a good film",
    "A bad film!",
    "café crème",
    "École normale",
    "naïve don't",
    "x-ray 3.5",
    "日本 映画",
    "emoji 🙂 ok",
    "tab\tsep",
    "straße",
]
TRICKY = [
    "",
    "   ",
    "GOOD FILM",
    "good,film",
    "good-film.",
    "(good) [film] {bad}",
    "don't stop",
    "  extra   spaces\t\tand\nnewlines\r\n ",
    "café CAFÉ Café",
    "ÉCOLE École école",
    "naïve NAÏVE",
    "日本 映画 日本映画",
    "emoji 🙂 🙂🙂",
    "no\u00a0break\u3000ideographic\u2003em",
    "nel\x85line",
    "a " * 40,
    "straße STRASSE",
    "x-ray 3.5 3,5",
    "@#$%^&*",
    "back\\slash 'quoted' \"double\"",
    "UNK [UNK] unk",
    "unicode ‘curly’ “quotes” — dash",
]


def _layer(**options):
    layer = keras.layers.TextVectorization(max_tokens=40, output_sequence_length=7, name="review_vectorize", **options)
    layer.adapt(np.array(CORPUS, dtype=object))
    return layer


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"standardize": "lower"},
        {"standardize": "strip_punctuation"},
        {"standardize": None},
        {"split": "character"},
        {"ngrams": 2},
    ],
)
def test_reference_tokenizer_matches_text_vectorization(options):
    layer = _layer(**options)
    contract = contract_from_layer(layer, "review")
    expected = keras.ops.convert_to_numpy(layer(np.array(TRICKY, dtype=object)))
    got = tokenize(TRICKY, contract)
    mismatch = [t for t, a, b in zip(TRICKY, got, expected) if not np.array_equal(a, b)]
    assert not mismatch, f"contract differs from TextVectorization on {mismatch!r}"
    assert got.dtype == np.int32 and got.shape == (len(TRICKY), 7)
    assert (got == 1).any() and (got == 0).any() and (got >= 2).any()  # OOV, padding and known tokens all occur


def test_contract_files_round_trip_and_tokenize_without_tensorflow(tmp_path):
    layer = _layer()
    written = write_contract(contract_from_layer(layer, "review"), str(tmp_path / "model"))
    assert written == {"tokenizer": "model.review.tokenizer.json", "vocabulary": "model.review.vocabulary.txt"}
    lines = (tmp_path / "model.review.vocabulary.txt").read_text(encoding="utf-8").split("\n")
    assert lines[:2] == ["", "[UNK]"] and lines[:-1] == layer.get_vocabulary()
    meta = json.loads((tmp_path / "model.review.tokenizer.json").read_text(encoding="utf-8"))
    assert "vocabulary" not in meta and meta["sequence_length"] == 7 and meta["oov_id"] == 1

    # a client without TensorFlow, Keras or mmzoo's package imports: only the reference module's file
    code = (
        "import sys, json\n"
        "for name in ('tensorflow', 'keras', 'mmzoo'): sys.modules[name] = None\n"
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('tok', {repr(sys.modules[tokenize.__module__].__file__)})\n"
        "tok = importlib.util.module_from_spec(spec); spec.loader.exec_module(tok)\n"
        "contract = tok.read_contract(sys.argv[1])\n"
        "print(json.dumps(tok.tokenize(json.loads(sys.argv[2]), contract).tolist()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "model.review.tokenizer.json"), json.dumps(TRICKY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = keras.ops.convert_to_numpy(layer(np.array(TRICKY, dtype=object)))
    np.testing.assert_array_equal(np.array(json.loads(result.stdout)), expected)
    np.testing.assert_array_equal(
        tokenize(TRICKY, read_contract(str(tmp_path / "model.review.tokenizer.json"))), expected
    )


def test_unsupported_vectorizer_settings_name_the_layer_and_format():
    layer = keras.layers.TextVectorization(max_tokens=10, output_mode="tf_idf", name="review_vectorize")
    layer.adapt(np.array(CORPUS, dtype=object))
    with pytest.raises(ValueError, match=r"review_vectorize.*onnx.*output_mode='tf_idf'"):
        contract_from_layer(layer, "review", format="onnx")
