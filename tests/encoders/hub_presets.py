"""Tiny random-weight KerasHub presets written with `save_to_preset`, for offline tests of the real loading path."""

import io
import os
import string

WORDS = ["a", "good", "bad", "film", "the", "movie", "great", "dull", "photo", "of", "cat", "dog"]


def bert_preset(folder):
    """A 2-block BERT (width 8) with a WordPiece vocabulary of the special tokens and `WORDS`."""
    import keras_hub

    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + ["##s"]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=2,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        max_sequence_length=16,
    )
    backbone.save_to_preset(folder)
    tokenizer.save_to_preset(folder)
    return folder


def vit_preset(folder):
    """A 2-block ViT on 32x32 images (patches of 8, width 8) with its image converter."""
    import keras_hub

    backbone = keras_hub.models.ViTBackbone(
        image_shape=(32, 32, 3), patch_size=8, num_layers=2, num_heads=2, hidden_dim=8, mlp_dim=16
    )
    converter = keras_hub.layers.ViTImageConverter(image_size=(32, 32), scale=1 / 127.5, offset=-1.0)
    backbone.save_to_preset(folder)
    converter.save_to_preset(folder)
    return folder


def clip_preset(folder):
    """A tiny CLIP (one block per tower, width 8, projection 8) with a character-level BPE tokenizer."""
    import keras_hub

    letters = list(string.ascii_lowercase)
    vocabulary = {token: i for i, token in enumerate(letters + [c + "</w>" for c in letters] + ["ca"])}
    vocabulary["<|startoftext|>"] = len(vocabulary)
    vocabulary["<|endoftext|>"] = len(vocabulary)  # the highest id: CLIP's text pooler finds it by argmax
    tokenizer = keras_hub.models.CLIPTokenizer(vocabulary=vocabulary, merges=["c a"])
    vision = keras_hub.models.CLIPVisionEncoder(
        patch_size=8, hidden_dim=8, num_layers=1, num_heads=2, intermediate_dim=16, image_shape=(32, 32, 3)
    )
    text = keras_hub.models.CLIPTextEncoder(
        vocabulary_size=len(vocabulary),
        embedding_dim=8,
        hidden_dim=8,
        num_layers=1,
        num_heads=2,
        intermediate_dim=16,
        max_sequence_length=16,
    )
    backbone = keras_hub.models.CLIPBackbone(vision, text, projection_dim=8)
    converter = keras_hub.layers.CLIPImageConverter(image_size=(32, 32), scale=1 / 255.0)
    backbone.save_to_preset(folder)
    tokenizer.save_to_preset(folder)
    converter.save_to_preset(folder)
    return folder


def siglip_preset(folder):
    """A tiny SigLIP (one block per tower, width 8) with a word-level SentencePiece tokenizer trained here."""
    import keras_hub
    import sentencepiece

    proto = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([" ".join(WORDS), "a photo of a cat", "a photo of a dog", "the good film"]),
        model_writer=proto,
        vocab_size=15,
        model_type="WORD",
        pad_id=0,
        bos_id=-1,
        eos_id=1,
        unk_id=2,
        pad_piece="<pad>",
        eos_piece="</s>",
        unk_piece="<unk>",
        minloglevel=2,
    )
    tokenizer = keras_hub.models.SigLIPTokenizer(proto=proto.getvalue())  # pads with </s>, SigLIP's sticky end
    vision = keras_hub.models.SigLIPVisionEncoder(
        patch_size=8, hidden_dim=8, num_layers=1, num_heads=2, intermediate_dim=16, image_shape=(32, 32, 3)
    )
    text = keras_hub.models.SigLIPTextEncoder(
        vocabulary_size=tokenizer.vocabulary_size(),
        embedding_dim=8,
        hidden_dim=8,
        num_layers=1,
        num_heads=2,
        intermediate_dim=16,
        max_sequence_length=12,
    )
    backbone = keras_hub.models.SigLIPBackbone(vision, text)
    backbone.siglip_head.logit_scale.assign(2.0)  # not KerasHub's init (0 and 0): the test sees them read
    backbone.siglip_head.logit_bias.assign(-1.5)
    converter = keras_hub.layers.SigLIPImageConverter(image_size=(32, 32), scale=1 / 127.5, offset=-1.0)
    backbone.save_to_preset(folder)
    tokenizer.save_to_preset(folder)
    converter.save_to_preset(folder)
    return folder


def whisper_preset(folder):
    """A 2-block Whisper (width 8, 16 mel bins) whose audio converter reads 1 s windows at 16 kHz (50 frames)."""
    import keras_hub

    backbone = keras_hub.models.WhisperBackbone(
        vocabulary_size=8,
        num_layers=2,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        num_mels=16,
        max_encoder_sequence_length=100,
        max_decoder_sequence_length=4,
    )
    converter = keras_hub.layers.WhisperAudioConverter(num_mels=16, max_audio_length=1)
    backbone.save_to_preset(folder)
    converter.save_to_preset(folder)
    return folder


def write_presets(root):
    """`{"bert", "vit", "clip", "whisper"}` -> preset directory under `root`."""
    makers = {"bert": bert_preset, "vit": vit_preset, "clip": clip_preset, "whisper": whisper_preset}
    return {name: make(os.path.join(root, name)) for name, make in makers.items()}
