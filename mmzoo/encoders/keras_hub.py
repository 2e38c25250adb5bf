"""Pretrained encoders from KerasHub presets: text, image, audio (Whisper) and the two towers of CLIP and SigLIP.

`encoders={"review": ("keras_hub", {"preset": "bert_base_en_uncased"})}` puts
the preset's backbone behind input `review`; the modality follows the input:
a `Text` input gets the preset's tokenizer inside the graph
(`mmzoo.encoders.hub_preprocessing.HubTokenizer`, the model still takes raw
strings), an `Image` input the preset's image converter (resizing and pixel
scaling), an `Audio` input a Whisper preset's encoder with its audio
converter (log-mel features of the raw waveform, `mmzoo.encoders.hub_whisper`).
A CLIP or SigLIP preset gives the text tower to a `Text` input and the vision
tower to an `Image` input (pooled and projected as the preset was trained;
`mmzoo.encoders.hub_towers`).

A preset is a KerasHub preset name (downloaded and cached by KerasHub when the
machine is online), a local preset directory (what `save_to_preset` writes),
or a handle KerasHub accepts ("kaggle://...", "hf://..."). It is read once:
the encoder's config holds the backbone's config, the `.keras` file its
weights, so loading a model never opens the preset (`file_arguments`).
"""

import keras
from keras import ops

from mmzoo.encoders.base import Encoder, spatial_tokens
from mmzoo.encoders.hub_preprocessing import HubTokenizer, preset_files, require_keras_hub
from mmzoo.encoders.hub_towers import load_tower, similarity_head, tower_family, tower_outputs
from mmzoo.encoders.hub_trainability import apply_trainability, find_blocks, unfreeze
from mmzoo.encoders.hub_whisper import check_audio_spec, check_preset_audio, real_frames, whisper_tower
from mmzoo.encoders.sequence_input import masked_mean
from mmzoo.registry import register_encoder

POOLINGS = ("auto", "first", "mean")
DEFAULT_LEARNING_RATE = 5e-5  # fine-tuning rate of pretrained backbones (Devlin et al. 2019: 2e-5..5e-5)
MODALITIES = ("text", "image", "audio")
EXAMPLE_PRESET = {"text": "bert_tiny_en_uncased", "image": "vit_base_patch16_224_imagenet", "audio": "whisper_tiny_en"}
# What a preset must hold to encode each modality.
PRESET_FILE = {"text": "tokenizer", "image": "image_converter", "audio": "audio_converter"}


@register_encoder(
    "keras_hub",
    modalities=MODALITIES,
    paper="KerasHub presets (BERT, RoBERTa, DeBERTa-v3, ViT, ResNet, CLIP, SigLIP, Whisper, ...) as pretrained encoders",
    raw_text=True,
    pretrained=True,
)
class KerasHubEncoder(Encoder):
    """A KerasHub backbone (pretrained) as an mmzoo encoder: pooled vector or token/patch sequence.

    Text: token ids from the `HubTokenizer` in front of it (`preprocess_input`
    puts it there, with room for the `Text` spec's `sequence_length` tokens
    plus the start and end tokens); the padding mask is `token_ids != pad_token_id`. Pooled
    output ("auto"): the backbone's `pooled_output` where it has one (BERT),
    else the first token ([CLS] / `<s>`). Images: `[0, 1]` pixels from the
    `Image` spec, scaled to 0-255 and through the preset's image converter;
    pooled: the class token of ViT-like backbones, the global average of CNN
    feature maps. CLIP and SigLIP: the tower's own pooling and projection
    (SigLIP's text is canonicalized and padded to its full context, as
    SigLIP was trained: `tokenizer`). Audio (Whisper): the raw waveform
    through the preset's audio converter (log-mel of a window padded to 30 s,
    as Whisper was trained) and the encoder; pooled: the mean over the frames
    that cover the clip (20 ms each at 16 kHz), not over those of the
    converter's padding.
    `return_sequences=True` gives `(batch, steps, width)`: tokens (zero at
    padding, as every mmzoo sequence encoder), ViT patches, CNN positions,
    or the Whisper frames of the clip (the padding's frames are dropped).

    Fine-tuning: `freeze=True` freezes the backbone; `trainable_blocks=n`
    freezes it except its top `n` transformer blocks; `lora_rank=r` runs
    KerasHub's `enable_lora(r)` (only the LoRA factors of the attention's
    query and value train). The settings are in the config, so a reloaded
    model trains the same weights. A model whose encoder trains gets warm-up
    and gradient clipping by default (`mmzoo.training.warmup`).

    Args:
        preset: a KerasHub preset name, local preset directory or handle
            (read once; never stored in the config).
        modality: "text", "image" or "audio" (set by `from_spec` from the input).
        tower: the serialized layers the encoder runs (what `from_config` passes).
        converter: serialized image or audio converter config.
        audio_samples: samples per clip of the `Audio` input (set by
            `from_spec`); None: the converter's whole window.
        pad_token_id: the tokenizer's padding id (text).
        end_token_id: the tokenizer's end id (text): the mask ends after it
            (CLIP and SigLIP pad with an id that is also a real token).
        similarity: the preset's similarity head, `{"loss", "log_scale",
            "bias"}` for CLIP and SigLIP towers (`hub_towers.similarity_head`):
            the clip architecture starts its similarity layer from it.
        pooling: "auto", "first" (first token) or "mean" (masked mean).
        return_sequences: return the token/patch sequence.
        freeze: freeze the whole backbone.
        trainable_blocks: train only the top N blocks of the backbone.
        lora_rank: train only LoRA factors of this rank.
        units: optional Dense projection to this size (None: the backbone's width).
        dropout: dropout on the output.
        learning_rate: the learning rate of this backbone in the default
            optimizer (a `SplitOptimizer`; the rest trains at the model's).
            None: 5e-5 when the backbone's own weights train, the model's
            rate for LoRA factors.

    Usage: docs/pretrained.md (tiny presets written offline, and real preset names).
    """

    file_arguments = ("preset",)

    def __init__(
        self,
        preset=None,
        modality="text",
        tower=None,
        converter=None,
        audio_samples=None,
        pad_token_id=0,
        end_token_id=None,
        similarity=None,
        pooling="auto",
        return_sequences=False,
        freeze=False,
        trainable_blocks=None,
        lora_rank=None,
        units=None,
        dropout=0.0,
        learning_rate=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        keras_hub = require_keras_hub("The keras_hub encoder")
        if modality not in MODALITIES:
            raise ValueError(f"Encoder '{self.name}': modality must be one of {MODALITIES}; received {modality!r}.")
        if pooling not in POOLINGS:
            raise ValueError(f"Encoder '{self.name}': pooling must be one of {POOLINGS}; received {pooling!r}.")
        if (preset is None) == (tower is None):
            raise ValueError(f"Encoder '{self.name}': pass preset= (a KerasHub preset name or directory).")
        if sum(bool(x) for x in (freeze, trainable_blocks is not None, lora_rank)) > 1:
            raise ValueError(
                f"Encoder '{self.name}': freeze, trainable_blocks and lora_rank are alternatives; "
                f"received freeze={freeze}, trainable_blocks={trainable_blocks}, lora_rank={lora_rank}."
            )
        self._preset = preset
        self.modality = modality
        if preset is not None:
            tower, converter, pad_token_id, end_token_id, similarity = self._from_preset(keras_hub, preset, modality)
        self.tower = [
            layer if isinstance(layer, keras.layers.Layer) else keras.layers.deserialize(layer) for layer in tower
        ]
        if isinstance(converter, dict):
            converter = keras.layers.deserialize(converter)
        self.converter = converter
        self.audio_samples = None if audio_samples is None else int(audio_samples)
        self.pad_token_id = int(pad_token_id)
        self.end_token_id = None if end_token_id is None else int(end_token_id)
        self.similarity = None if similarity is None else dict(similarity)
        self.pooling = pooling
        self.return_sequences = return_sequences
        self.freeze = bool(freeze)
        self.trainable_blocks = trainable_blocks
        self.lora_rank = lora_rank
        self.units = units
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.proj = None if units is None else keras.layers.Dense(units, name="proj")
        self.drop = keras.layers.Dropout(dropout)
        self._lora_enabled = False
        self._apply_trainability()

    def _from_preset(self, keras_hub, preset, modality):
        files = preset_files(preset)
        needed = PRESET_FILE[modality]
        if not files[needed]:
            has = [kind for kind, present in files.items() if present] or ["neither tokenizer nor converter"]
            raise ValueError(
                f"Encoder '{self.name}': preset {preset!r} has no {needed}.json, so it cannot encode "
                f"{modality} input; it has: {', '.join(has)}. Use a {modality} preset (e.g. "
                f"{EXAMPLE_PRESET[modality]})."
            )
        policy = keras.config.dtype_policy().name  # e.g. under build_model(..., precision="mixed_bfloat16")
        dtype = {} if policy == "float32" else {"dtype": policy}  # float32: the preset's own dtype
        backbone = keras_hub.models.Backbone.from_preset(preset, **dtype)
        tower = whisper_tower(backbone) if modality == "audio" else load_tower(backbone, modality)
        similarity = similarity_head(backbone)
        if modality == "text":
            tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(preset)
            end = getattr(tokenizer, "end_token_id", None)
            return tower, None, tokenizer.pad_token_id or 0, end, similarity
        if modality == "audio":
            # float32 under any policy: the log-mel's FFT takes float32 only
            converter = keras_hub.layers.AudioConverter.from_preset(preset, dtype="float32")
            return tower, converter, 0, None, similarity
        return tower, keras_hub.layers.ImageConverter.from_preset(preset), 0, None, similarity

    def _apply_trainability(self):
        apply_trainability(self)

    def unfreeze(self, everything=False):
        """Makes the encoder trainable again: as its `freeze`, `trainable_blocks` and `lora_rank` say, or
        (`everything`) all of it (`mmzoo.fine_tune` calls it; `mmzoo.encoders.hub_trainability.unfreeze`)."""
        unfreeze(self, everything)

    @classmethod
    def from_spec(cls, spec, **options):
        if spec.modality not in MODALITIES:
            raise ValueError(
                f"The keras_hub encoder takes text, image or audio input; '{spec.name}' is {spec.modality}."
            )
        if spec.modality != "audio":
            return cls(modality=spec.modality, **options)
        name = options.get("name", "keras_hub")
        check_preset_audio(spec, options.get("preset"), name)  # before the backbone loads
        encoder = cls(modality="audio", audio_samples=spec.num_samples, **options)
        check_audio_spec(spec, encoder.converter, name, encoder.tower[0])
        return encoder

    def preprocess_input(self, spec, x):
        """The in-graph preprocessing of input `spec` for this encoder (the preset's tokenizer for text)."""
        most = getattr(self.tower[0], "max_sequence_length", None)
        if spec.modality == "text" and spec.token_ids and self.siglip and spec.sequence_length != most:
            raise ValueError(
                f"Text input '{spec.name}': SigLIP's text tower reads exactly its {most}-token context (its "
                f"position embeddings have no other length); received token ids of length {spec.sequence_length}. "
                f"Pad the ids to {most} with the end token (</s>), or pass raw text."
            )
        if spec.modality == "text" and not spec.token_ids:
            # the spec counts the text's tokens; the special tokens come on top
            specials, what = (1, "the end token") if self.siglip else (2, "the start and end tokens")
            length = spec.sequence_length + specials
            if most is not None and length > most:
                raise ValueError(
                    f"Text input '{spec.name}': sequence_length={spec.sequence_length} plus {what} is {length}, "
                    f"more than the {most} positions of the preset's backbone. Pass "
                    f"mmzoo.Text('{spec.name}', sequence_length={most - specials}) or less."
                )
            return self.tokenizer(length, name=f"{spec.name}_tokenizer")(x)
        if spec.modality == "audio":
            return x  # the raw waveform: the preset's audio converter runs inside the encoder
        return spec.preprocess(x)

    @property
    def computes_features(self):
        """Whether the encoder computes its input features itself (audio: the preset's log-mel)."""
        return self.modality == "audio"

    @property
    def siglip(self):
        """Whether the tower is a SigLIP tower."""
        return tower_family(self.tower[0]) == "siglip"

    def tokenizer(self, length=None, name=None):
        """The preset's tokenizer as a `HubTokenizer` keeping `length` tokens (special tokens included).

        SigLIP's text tower pools the last position of its padded context with
        no padding mask, so its output depends on the padding: SigLIP text is
        padded to the tower's `max_sequence_length` (what SigLIP trained with,
        as KerasHub's `SigLIPPreprocessor`) and canonicalized as SigLIP's
        (lower case, no punctuation). `length=None`: the backbone's context.
        """
        if self._preset is None:
            raise ValueError(f"Encoder '{self.name}' was rebuilt from a config: it has no preset to tokenize with.")
        most = getattr(self.tower[0], "max_sequence_length", None)
        length = length or most
        if length is None:
            raise ValueError(f"Encoder '{self.name}': pass the tokenizer's length (the backbone sets none).")
        if self.siglip:
            return HubTokenizer(self._preset, most, packed_length=length, canonicalize=True, name=name)
        return HubTokenizer(self._preset, sequence_length=length, name=name)

    @property
    def backbone_learning_rate(self):
        """This backbone's learning rate in the default optimizer; None: the model's."""
        if self.learning_rate is not None:
            return float(self.learning_rate)
        return None if self.lora_rank else DEFAULT_LEARNING_RATE

    @property
    def transformer(self):
        """Whether the backbone is a stack of transformer blocks (warm-up and clipping help it)."""
        return bool(find_blocks(self.tower[0]))

    def _padding_mask(self, ids):
        """True up to and including the end token (or, without one, where ids are not padding)."""
        if self.end_token_id is None:
            return ops.not_equal(ids, self.pad_token_id)
        ends = ops.cast(ops.equal(ids, self.end_token_id), "int32")
        return ops.equal(ops.cumsum(ends, axis=1) - ends, 0)

    def _images(self, x):
        x = ops.cast(x, "float32")
        if x.shape[-1] == 1:
            x = ops.concatenate([x, x, x], axis=-1)
        return self.converter(x * 255.0)

    def _encode(self, x, training):
        """`(sequence, mask, pooled)` of the backbone/tower on the preprocessed input."""
        encoder = self.tower[0]
        if self.modality == "audio":
            return self._encode_audio(x, training)
        if self.modality == "text":
            ids = ops.cast(x, "int32")
            mask = self._padding_mask(ids)
            names = encoder.input.keys() if isinstance(encoder.input, dict) else ("token_ids",)
            feed = {"token_ids": ids, "padding_mask": mask, "segment_ids": ops.zeros_like(ids)}
            feed = {k: feed[k] for k in names}
        else:
            ids = mask = None
            feed = {"images": self._images(x)} if isinstance(encoder.input, dict) else self._images(x)
        if tower_family(encoder) is not None:  # a CLIP or SigLIP tower: its own pooling and projection
            out, pooled = tower_outputs(self.tower, self.modality, feed, ids, training)
            if mask is None:
                mask = ops.ones(ops.shape(out)[:2], "bool")
            return out, mask, pooled
        out, pooled = encoder(feed, training=training), None
        if isinstance(out, dict):
            pooled = out.get("pooled_output")
            out = out["sequence_output"]
        feature_map = len(out.shape) == 4
        if feature_map:  # a CNN's last feature map: one token per position
            out = spatial_tokens(out)
        if mask is None:
            mask = ops.ones(ops.shape(out)[:2], "bool")
        if self.pooling == "mean" or (self.pooling == "auto" and pooled is None and feature_map):
            pooled = masked_mean(out, mask)
        elif self.pooling == "first" or pooled is None:
            pooled = out[:, 0, :]
        return out, mask, pooled

    def _encode_audio(self, x, training):
        """Whisper: encoder frames of the converter's log-mel; only the frames of the clip are kept."""
        features = self.converter(ops.cast(x, "float32"))
        out = self.tower[0](features, training=training)
        out = out[:, : real_frames(self.audio_samples or self.converter.num_samples, self.converter)]
        mask = ops.ones(ops.shape(out)[:2], "bool")
        pooled = out[:, 0, :] if self.pooling == "first" else ops.mean(out, axis=1)
        return out, mask, pooled

    def call(self, x, training=None):
        sequence, mask, pooled = self._encode(x, training)
        if self.return_sequences:
            out = sequence * ops.expand_dims(ops.cast(mask, sequence.dtype), -1)
        else:
            out = pooled
        out = self.drop(out, training=training)
        return out if self.proj is None else self.proj(out)

    def get_config(self):
        return {
            **super().get_config(),
            "modality": self.modality,
            "tower": [keras.layers.serialize(layer) for layer in self.tower],
            "converter": None if self.converter is None else keras.layers.serialize(self.converter),
            "audio_samples": self.audio_samples,
            "pad_token_id": self.pad_token_id,
            "end_token_id": self.end_token_id,
            "similarity": self.similarity,
            "pooling": self.pooling,
            "return_sequences": self.return_sequences,
            "freeze": self.freeze,
            "trainable_blocks": self.trainable_blocks,
            "lora_rank": self.lora_rank,
            "units": self.units,
            "dropout": self.dropout,
            "learning_rate": self.learning_rate,
        }
