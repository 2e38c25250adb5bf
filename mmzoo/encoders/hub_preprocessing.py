"""KerasHub text preprocessing inside the model graph, saved and reloaded in the right order.

A KerasHub preprocessor (tokenizer + packer) dropped into a functional model
builds and predicts, but `keras.saving.load_model` of that model fails ("No
vocabulary has been set for WordPieceTokenizer"): Keras rebuilds the graph by
calling every layer on symbolic inputs *before* it restores assets, and the
tokenizer's vocabulary is an asset. `HubTokenizer` owns the preprocessor and
answers the symbolic call from its own `compute_output_spec` (the output is
always `(batch, sequence_length)` int32 token ids), so the rebuild never runs
the tokenizer; Keras then restores the tokenizer's vocabulary through the
tokenizer's own `load_assets`, before the first real call. No KerasHub
internals are patched.

KerasHub itself is imported only when a `HubTokenizer` is built: `import mmzoo`
never imports it.
"""

import keras

HUB_EXTRA = 'pip install "mmzoo[hub]"'


def require_keras_hub(what="KerasHub presets"):
    """`keras_hub`, imported now; an `ImportError` naming the extra to install if it is missing."""
    try:
        import keras_hub
    except ImportError as error:  # pragma: no cover - the test extra installs it
        raise ImportError(f"{what} need the keras-hub package: {HUB_EXTRA}.") from error
    return keras_hub


def preset_files(preset):
    """`{"tokenizer", "image_converter", "audio_converter"}` -> whether `preset` holds that file."""
    require_keras_hub()
    from keras_hub.src.utils.preset_utils import check_file_exists

    return {
        kind: bool(check_file_exists(preset, f"{kind}.json"))
        for kind in ("tokenizer", "image_converter", "audio_converter")
    }


@keras.saving.register_keras_serializable(package="mmzoo")
class HubTokenizer(keras.layers.Layer):
    """Raw strings `(batch,)` -> int32 token ids `(batch, sequence_length)` with a KerasHub tokenizer.

    The preset's tokenizer, then the start and end tokens the backbone was
    trained with (`[CLS] ... [SEP]` for BERT, `<s> ... </s>` for RoBERTa) and
    padding with `pad_token_id` (KerasHub's `StartEndPacker`, as the
    preset's own preprocessors pack one segment). Longer texts are cut to
    `sequence_length` tokens, start and end tokens included.

    SigLIP (Zhai et al. 2023) reads text differently, and `packed_length` and
    `canonicalize` say so: its text tower pools the last position of its
    full, padded context, so texts are packed to `packed_length` tokens and
    padded on to `sequence_length` (the context); `canonicalize` lower-cases
    the text and strips punctuation first, as big_vision's SigLIP evaluators
    and KerasHub's `SigLIPPreprocessor` do.

    `preset` is read once, at construction (a name KerasHub downloads and
    caches, or a local preset directory); `get_config` holds the serialized
    tokenizer instead, and the `.keras` file holds its vocabulary as the
    tokenizer's asset, so loading a model never opens the preset.

    Args:
        preset: a KerasHub preset name, local directory or handle.
        sequence_length: tokens per sample, start/end tokens included.
        tokenizer: a KerasHub tokenizer or its serialized config (instead of
            `preset`; what `from_config` passes).
        packed_length: texts keep at most this many tokens (special tokens
            included) before padding to `sequence_length`; None: `sequence_length`.
        canonicalize: lower-case, strip punctuation and collapse white space first.

    Usage: docs/pretrained.md (tiny presets written offline, and real preset names).
    """

    def __init__(
        self, preset=None, sequence_length=64, tokenizer=None, packed_length=None, canonicalize=False, **kwargs
    ):
        super().__init__(**kwargs)
        keras_hub = require_keras_hub("HubTokenizer")
        if (preset is None) == (tokenizer is None):
            raise ValueError(f"HubTokenizer '{self.name}': pass exactly one of preset= or tokenizer=.")
        if preset is not None:
            if not preset_files(preset)["tokenizer"]:
                raise ValueError(
                    f"HubTokenizer '{self.name}': preset {preset!r} has no tokenizer (tokenizer.json), so "
                    f"it is not a text preset. Use it for an Image input, or pick a text preset."
                )
            tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(preset)
        elif isinstance(tokenizer, dict):
            tokenizer = keras.layers.deserialize(tokenizer)
        packed = int(packed_length or sequence_length)
        if packed < 3 or packed > int(sequence_length):
            raise ValueError(
                f"HubTokenizer '{self.name}': texts packed to {packed} tokens (packed_length={packed_length}, "
                f"sequence_length={sequence_length}); pass 3 or more (room for text between the start and end "
                f"tokens), and packed_length no more than sequence_length."
            )
        # One tokenization everywhere: KerasHub runs a Python path on eager calls and TensorFlow Text in
        # graphs, and for byte-pair tokenizers the two split some texts differently (repeated or trailing
        # spaces), so `model(x)` could disagree with `model.predict(x)` and the SavedModel. Its flag for
        # the TensorFlow path on eager calls too (per layer, and not in the config: set on every build).
        tokenizer._allow_python_workflow = False
        self.tokenizer = tokenizer
        self.sequence_length = int(sequence_length)
        self.packed_length = None if packed_length is None else int(packed_length)
        self.canonicalize = bool(canonicalize)

    @property
    def pad_token_id(self):
        return int(getattr(self.tokenizer, "pad_token_id", 0) or 0)

    def special_ids(self):
        """`(start, end, pad)` token ids (start/end None where the tokenizer has none)."""
        return (
            getattr(self.tokenizer, "start_token_id", None),
            getattr(self.tokenizer, "end_token_id", None),
            self.pad_token_id,
        )

    def build(self, input_shape):
        self.built = True  # the packer is made at call time, once the vocabulary (an asset) is set

    def call(self, x):
        from keras_hub.layers import StartEndPacker

        start, end, pad = self.special_ids()
        packed = self.packed_length or self.sequence_length
        packer = StartEndPacker(sequence_length=packed, start_value=start, end_value=end, pad_value=pad, dtype="int32")
        ids = keras.ops.cast(packer(self.tokenizer(canonical_text(x) if self.canonicalize else x)), "int32")
        if packed < self.sequence_length:
            ids = keras.ops.pad(ids, [(0, 0), (0, self.sequence_length - packed)], constant_values=pad)
        return ids

    def compute_output_spec(self, x):
        # Answered without running the tokenizer: while Keras rebuilds a saved graph its vocabulary
        # (an asset) is not restored yet.
        return keras.KerasTensor((x.shape[0], self.sequence_length), dtype="int32")

    def get_config(self):
        return {
            **super().get_config(),
            "sequence_length": self.sequence_length,
            "tokenizer": keras.layers.serialize(self.tokenizer),
            "packed_length": self.packed_length,
            "canonicalize": self.canonicalize,
        }


# big_vision's prompt canonicalization (evaluators/proj/image_text/prompt_engineering.py), which KerasHub's
# SigLIPPreprocessor applies too: these ASCII punctuation marks are removed.
PUNCTUATION = r"!|\"|#|\$|%|&|\\|'|\(|\)|\*|\+|,|-|\.|/|:|;|<|=|>|\?|@|\[|\\|\]|\^|_|`|{|\||}|~"


def canonical_text(x):
    """Lower case, punctuation removed, white space collapsed and stripped (SigLIP's text canonicalization)."""
    import tensorflow as tf

    x = tf.strings.lower(tf.convert_to_tensor(x))
    x = tf.strings.regex_replace(x, PUNCTUATION, "")
    return tf.strings.strip(tf.strings.regex_replace(x, r"\s+", " "))
