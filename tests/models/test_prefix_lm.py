"""TextGeneration with a GPT-2 decoder (ClipCap): a tiny random preset written here, loaded offline."""

import numpy as np
import pytest
import tensorflow as tf

import mmzoo

keras_hub = pytest.importorskip("keras_hub")


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    """A 1-layer GPT-2 with a 35-token byte-pair vocabulary, saved with `save_to_preset` (no download)."""
    vocabulary = {"!": 0}
    for token in list("abcdefghijklmnopqrstuvwxyz") + ["Ġ"]:
        vocabulary[token] = len(vocabulary)
    merges = ["r e", "re d", "Ġ b", "Ġb l", "e e", "g r"]
    for rule in merges:
        vocabulary.setdefault(rule.replace(" ", ""), len(vocabulary))
    vocabulary["<|endoftext|>"] = len(vocabulary)
    folder = str(tmp_path_factory.mktemp("tiny_gpt2"))
    keras_hub.tokenizers.GPT2Tokenizer(vocabulary=vocabulary, merges=merges).save_to_preset(folder)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=len(vocabulary),
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=16,
    )
    backbone.save_to_preset(folder)
    return folder, backbone


def test_gpt2_prefix_decoder_loads_the_preset_and_decodes_alike_cached_and_reloaded(preset, tmp_path):
    folder, backbone = preset
    rng = np.random.default_rng(0)
    x = {"f": rng.standard_normal((4, 3)).astype("float32")}
    task = mmzoo.TextGeneration(target="caption", max_length=5, decoder="gpt2", decoder_preset=folder, prefix_length=2)
    model = mmzoo.build_model("early_fusion", [mmzoo.Features("f", shape=(3,), normalize=False)], task=task)
    decoder = model.get_layer("caption_decoder")
    for mine, theirs in zip(decoder.backbone.get_weights(), backbone.get_weights()):
        np.testing.assert_array_equal(mine, theirs)  # the pretrained weights, not a fresh initialization
    assert model.get_layer("caption_memory").output.shape[1:] == (2, 16)  # ClipCap's prefix, GPT-2's width
    ids = model.get_layer("caption_tokenizer")(np.array(["red blue", "green"], object)).numpy()
    assert ids.tolist() == [[34, 29, 31, 21, 5, 34, 0], [34, 7, 28, 5, 14, 34, 0]]  # <|endoftext|> at both ends
    generated = model.generate(x)
    assert len(generated) == 4 and generated == model.generate(x, use_cache=False)
    model.save(tmp_path / "clipcap.keras")
    assert mmzoo.load(tmp_path / "clipcap.keras").generate(x) == generated  # safe mode, no preset needed
    # the SavedModel holds `generate` alone (no tokenizer ops needing tensorflow_text); mmzoo.load admits it
    served = mmzoo.load(mmzoo.export(model, str(tmp_path / "clipcap"))).signatures["generate"]
    assert [t.decode() for t in served(f=tf.constant(x["f"]))["text"].numpy()] == generated


def test_gpt2_prefix_needs_room_in_the_context(preset):
    folder, _ = preset
    task = mmzoo.TextGeneration(target="caption", max_length=12, decoder="gpt2", decoder_preset=folder, prefix_length=4)
    with pytest.raises(ValueError, match="need 17 positions; the GPT-2 preset has 16"):
        mmzoo.build_model("early_fusion", [mmzoo.Features("f", shape=(3,), normalize=False)], task=task)
