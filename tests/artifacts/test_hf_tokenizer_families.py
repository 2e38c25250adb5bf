"""tokenizer.json for byte-level BPE and SentencePiece presets: the `tokenizers` library gives the in-graph ids."""

import io
import json
import os

import numpy as np
import pytest

import mmzoo

keras_hub = pytest.importorskip("keras_hub")
tokenizers = pytest.importorskip("tokenizers")
sentencepiece = pytest.importorskip("sentencepiece")

LENGTH = 24
TEXTS = [
    "the film",
    " a leading space",
    "trailing spaces  ",
    "a  b   c",
    "Café crème brûlée, naïve!",
    "I'm sure you'LL like it... 12345 67",
    "emoji 😀👍🏽!",
    "tabs\tand\nnew\r\nlines",
    "nbsp\xa0here \u3000wide",
    "<s>special</s> <mask> [CLS] x",
    "zyxwvq unknownish wørds 中文",
    "",
    "   ",
    "ﬁne ½ ｆｕｌｌ",
    "the film " * 20,  # longer than the sequence length: truncated, end token kept
]
CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a good film, a great movie",
    "the bad movies were dull",
    "café crème brûlée",
    "photos of cats and dogs",
    "I'm sure you'll like it!",
]


def byte_pair_vocabulary(specials, merges):
    """A byte-level vocabulary: `specials`, the 256 byte symbols, then the merged tokens."""
    from keras_hub.src.tokenizers.byte_pair_tokenizer import bytes_to_unicode

    vocabulary = {}
    for token in specials + bytes_to_unicode()[1] + [m.replace(" ", "") for m in merges]:
        vocabulary.setdefault(token, len(vocabulary))
    return vocabulary


MERGES = ["Ġ t", "Ġt h", "Ġth e", "h e", "i n", "Ġ a", "e r", "Ġ f", "Ġf i", "l m", "Ġfi lm", "Ġ Ġ", "Ã ©", "1 2"]


def roberta_tokenizer():
    vocabulary = byte_pair_vocabulary(["<s>", "<pad>", "</s>", "<unk>"], MERGES)
    vocabulary["<mask>"] = len(vocabulary)
    return keras_hub.models.RobertaTokenizer(vocabulary=vocabulary, merges=MERGES)


@pytest.fixture(scope="module")
def spm_proto():
    """A tiny unigram SentencePiece model trained here (nmt_nfkc normalization, user-defined [CLS] [SEP] [MASK] [PAD] [UNK])."""
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 20),
        model_writer=model,
        vocab_size=50,
        model_type="unigram",
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=3,
        user_defined_symbols=["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]"],  # ALBERT and DeBERTa-v3 names
        minloglevel=2,
    )
    return model.getvalue()


def hub_layer(tokenizer):
    from mmzoo.encoders.hub_preprocessing import HubTokenizer

    return HubTokenizer(tokenizer=tokenizer, sequence_length=LENGTH)


def graph_path(layer):
    """`layer` (a `HubTokenizer`), whose eager calls run KerasHub's TensorFlow path (what `predict`, a
    SavedModel and the exported ids follow), so the test saves the seconds a trace takes."""
    assert layer.tokenizer._allow_python_workflow is False  # HubTokenizer sets it: eager == graph ids
    return layer


SENTENCEPIECE = {
    "albert": lambda proto: keras_hub.models.AlbertTokenizer(proto=proto),
    "xlm_roberta": lambda proto: keras_hub.models.XLMRobertaTokenizer(proto=proto),  # ids shifted by one
    "t5": lambda proto: keras_hub.models.T5Tokenizer(proto=proto),  # no start token
    "deberta_v3": lambda proto: keras_hub.models.DebertaV3Tokenizer(proto=proto),
}


def client_ids(path, texts=TEXTS):
    """Ids from the Hugging Face `tokenizers` library, the reference client of a tokenizer.json."""
    return np.array([e.ids for e in tokenizers.Tokenizer.from_file(path).encode_batch(texts)])


@pytest.mark.parametrize("family", list(SENTENCEPIECE))
def test_sentencepiece_tokenizer_json_gives_the_in_graph_ids(family, spm_proto, tmp_path):
    """Accents, punctuation, emoji, unknown words, odd spaces, literal special tokens, truncation and padding."""
    from mmzoo.artifacts.hf_tokenizer import write_hf_tokenizer

    layer = hub_layer(SENTENCEPIECE[family](spm_proto))
    entry = write_hf_tokenizer(layer, "review", str(tmp_path / "m.onnx"), "onnx")
    assert entry["family"] == "sentencepiece_unigram"
    in_graph = np.asarray(graph_path(layer)(np.array(TEXTS, dtype=object)))
    np.testing.assert_array_equal(client_ids(str(tmp_path / entry["tokenizer"])), in_graph)
    # the .spm beside it is the preset's own model, loadable by SentencePiece
    processor = sentencepiece.SentencePieceProcessor(model_file=str(tmp_path / entry["original"][0]))
    assert processor.serialized_model_proto() == layer.tokenizer.proto


@pytest.fixture(scope="module")
def roberta_model(tmp_path_factory):
    """An mmzoo text model on a tiny random RoBERTa preset (byte-level BPE), written with `save_to_preset`."""
    folder = str(tmp_path_factory.mktemp("roberta"))
    tokenizer = roberta_tokenizer()
    backbone = keras_hub.models.RobertaBackbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        max_sequence_length=LENGTH,
    )
    backbone.save_to_preset(folder)
    tokenizer.save_to_preset(folder)
    specs = [mmzoo.Text("review", sequence_length=LENGTH - 2)]  # + start and end tokens
    encoders = {"review": ("keras_hub", {"preset": folder})}
    return mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2), encoders=encoders)


def test_byte_pair_export_takes_ids_from_its_tokenizer_json(roberta_model, tmp_path):
    """RoBERTa's BPE as tokenizer.json gives the graph's ids; the ONNX core on them predicts as the model does."""
    from mmzoo.artifacts.runtime import predict_from_artifact

    texts = np.array(TEXTS, dtype=object)
    ids = np.asarray(graph_path(roberta_model.get_layer("review_tokenizer"))(texts))
    expected = np.asarray(roberta_model({"review": texts}))
    path = str(tmp_path / "m.onnx")  # RoBERTa's exact GELU is TF's Erfc, which mmzoo teaches tf2onnx
    mmzoo.export(roberta_model, path, format="onnx")
    with open(path + ".mmzoo.json", encoding="utf-8") as f:
        entry = json.load(f)["tokenizers"]["review"]
    assert entry["family"] == "byte_pair"
    np.testing.assert_array_equal(client_ids(str(tmp_path / entry["tokenizer"])), ids)
    out = predict_from_artifact(path, {"review": texts})["probabilities"]  # strings, tokenized with the file
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # GPT-2's vocab.json + merges.txt beside it: KerasHub reloads the same tokenizer from them
    reloaded = keras_hub.tokenizers.BytePairTokenizer(*[str(tmp_path / name) for name in entry["original"]])
    tokenizer = roberta_model.get_layer("review_tokenizer").tokenizer
    assert reloaded.vocabulary == tokenizer.vocabulary and reloaded.merges == MERGES


def spm_bpe_tokenizer():
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 20), model_writer=model, vocab_size=40, model_type="bpe", minloglevel=2
    )
    return keras_hub.tokenizers.SentencePieceTokenizer(proto=model.getvalue())


SMALL = {
    "a": 0,
    "b": 1,
    "ab": 2,
    "<s>": 3,
    "<pad>": 4,
    "</s>": 5,
    "<mask>": 6,
    "<|startoftext|>": 7,
    "<|endoftext|>": 8,
}
REFUSED = {  # what cannot give the in-graph ids is refused at export, naming the class and what to do
    "clip": (lambda: keras_hub.models.CLIPTokenizer(SMALL, ["a b"]), "CLIPTokenizer tokenizes its own way"),
    "not_byte_level": (lambda: keras_hub.models.RobertaTokenizer(SMALL, ["a b"]), "lacks 254 of the 256 byte"),
    "prefix_space": (
        lambda: keras_hub.models.RobertaTokenizer(roberta_tokenizer().vocabulary, MERGES, add_prefix_space=True),
        "RobertaTokenizer has add_prefix_space=True",
    ),
    "spm_bpe": (spm_bpe_tokenizer, "SentencePieceTokenizer holds a SentencePiece BPE model"),
    "siglip_text": (lambda: keras_hub.models.RobertaTokenizer(SMALL, ["a b"]), "canonicalized and packed short"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_tokenizers_without_exact_parity_are_refused(case, tmp_path):
    from mmzoo.artifacts.hf_tokenizer import write_hf_tokenizer

    make, why = REFUSED[case]
    layer = hub_layer(make())
    if case == "siglip_text":  # SigLIP's reading of text (canonicalized, packed short of the context)
        layer.packed_length, layer.canonicalize = LENGTH - 2, True
    with pytest.raises(ValueError, match=f"Text input 'review'.*{why}.*format='savedmodel'"):
        write_hf_tokenizer(layer, "review", str(tmp_path / "m.tflite"), "tflite")
    assert os.listdir(tmp_path) == []  # nothing half-written
