"""The audio encoder of a KerasHub Whisper preset, without its text decoder.

KerasHub's `WhisperBackbone` is one functional model of encoder and decoder:
calling it needs decoder token ids, and saving it saves the decoder too. The
`keras_hub` encoder takes the encoder's layers out of it into a
`WhisperAudioEncoder` (the two convolutions, the sinusoidal positions, the
transformer blocks, the final norm) and runs them as the backbone does; the
decoder is not built or saved. Every layer it holds is a registered Keras or
KerasHub class, so a saved model loads in safe mode (the backbone's own
`Padder` layer is not registered: the padding is done here).

Whisper reads 30 s windows (`WhisperAudioConverter` pads every clip to
`max_audio_length` seconds). The encoder's output has one frame per two mel
frames (20 ms at 16 kHz); `real_frames` counts the frames that cover a clip
of the input's length, the rest cover the converter's padding.
"""

import math

import keras
from keras import ops

from mmzoo.encoders.hub_preprocessing import preset_files, require_keras_hub


@keras.saving.register_keras_serializable(package="mmzoo")
class WhisperAudioEncoder(keras.layers.Layer):
    """Log-mel features `(batch, mel_frames, num_mels)` -> Whisper encoder frames `(batch, ceil(mel_frames / 2), width)`.

    The layers are the backbone's own (its weights), run in its order:
    convolution, GELU, convolution with stride 2, GELU, sinusoidal positions,
    dropout, the transformer blocks (`encoder_layers`, where `trainable_blocks`
    finds them) and a layer norm. Whisper's encoder has no padding mask.

    Args:
        layers: `{"conv_1", "conv_2", "positions", "norm"}` -> layer (or its
            serialized config, what `from_config` passes).
        encoder_layers: the transformer blocks (layers or serialized configs).
        dropout: the backbone's embedding dropout.

    Usage: `WhisperAudioEncoder.from_backbone(keras_hub.models.WhisperBackbone(...))`
    (what the `keras_hub` encoder does with a Whisper preset).
    """

    PARTS = {
        "conv_1": "encoder_conv_layer_1",
        "conv_2": "encoder_conv_layer_2",
        "positions": "encoder_position_embedding",
        "norm": "encoder_layer_norm",
    }

    def __init__(self, layers, encoder_layers, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        layers = {key: _layer(value) for key, value in layers.items()}
        self.conv_1, self.conv_2 = layers["conv_1"], layers["conv_2"]
        self.positions, self.norm = layers["positions"], layers["norm"]
        self.encoder_layers = [_layer(block) for block in encoder_layers]
        self.dropout = float(dropout)
        self.drop = keras.layers.Dropout(self.dropout)

    @classmethod
    def from_backbone(cls, backbone, **kwargs):
        """The encoder half of a `keras_hub.models.WhisperBackbone` (its layers, shared)."""
        layers = {key: getattr(backbone, attribute) for key, attribute in cls.PARTS.items()}
        return cls(layers, list(backbone.encoder_transformer_layers), dropout=backbone.dropout, **kwargs)

    @property
    def fixed_layers(self):
        """Layers that never train: Whisper's sinusoidal positions (`mmzoo.encoders.hub_trainability`)."""
        return [self.positions]

    @property
    def max_frames(self):
        """The most encoder frames the position table covers."""
        return int(self.positions.sequence_length)

    def build(self, input_shape):
        # Built from the features' shape (also when a saved model is loaded: the blocks' weights, and
        # the LoRA factors a `lora_rank` encoder adds to them, must exist before the weights are read).
        batch, steps, _ = input_shape
        width = self.conv_1.filters
        frames = (batch, None if steps is None else (steps + 1) // 2, width)
        shapes = [
            (self.conv_1, input_shape),
            (self.conv_2, (batch, None if steps is None else steps + 2, width)),
            (self.positions, frames),
            *((block, frames) for block in self.encoder_layers),
            (self.norm, frames),
        ]
        for layer, shape in shapes:
            if not layer.built:  # the backbone's layers come built
                layer.build(shape)
        self.built = True

    def call(self, features, training=None):
        x = ops.gelu(self.conv_1(features), approximate=False)
        x = ops.pad(x, [[0, 0], [1, 1], [0, 0]])  # the backbone's Padder: Whisper's padding=1 at stride 2
        x = ops.gelu(self.conv_2(x), approximate=False)
        x = self.drop(x + self.positions(x), training=training)
        for block in self.encoder_layers:
            x = block(x, training=training)
        return self.norm(x)

    def enable_lora(self, rank):
        """LoRA on the blocks' attention query and value (Keras's `enable_lora`), everything else frozen.

        The layers KerasHub's `Backbone.enable_lora` adapts by default.
        """
        for layer in self._flatten_layers(include_self=False):
            layer.trainable = False
        for layer in self._flatten_layers(include_self=False):
            if layer.name in ("query", "value") and hasattr(layer, "enable_lora") and layer.weights:
                layer.trainable = True
                layer.enable_lora(rank)

    def get_config(self):
        # Saved trainable: which weights train is the encoder's setting (freeze, trainable_blocks,
        # lora_rank), applied once the layers are built. A layer deserialized with trainable=False
        # and built afterwards keeps its sublayers trainable, and setting it again does not reach them.
        return {
            **super().get_config(),
            "trainable": True,
            "layers": {key: _serialize(getattr(self, key), key != "positions") for key in self.PARTS},
            "encoder_layers": [_serialize(block) for block in self.encoder_layers],
            "dropout": self.dropout,
        }


def whisper_tower(backbone):
    """`[WhisperAudioEncoder]` of a Whisper backbone (its decoder dropped); an error for any other backbone."""
    if not hasattr(backbone, "encoder_transformer_layers"):
        raise ValueError(
            f"{type(backbone).__name__} is not a Whisper backbone; mmzoo takes the audio encoder of "
            f"Whisper presets (e.g. whisper_tiny_en)."
        )
    return [WhisperAudioEncoder.from_backbone(backbone, name="whisper_encoder")]


def _serialize(layer, trainable=True):
    """`layer`'s config, saved trainable (the positions: as they are, Whisper's fixed sinusoids never train)."""
    config = keras.layers.serialize(layer)
    if trainable:
        config["config"]["trainable"] = True
    return config


def _layer(layer):
    return layer if isinstance(layer, keras.layers.Layer) else keras.layers.deserialize(layer)


def real_frames(num_samples, converter):
    """Encoder frames that cover a clip of `num_samples` (the rest cover the converter's padding).

    Mel frame `t` is centred on sample `t * stride`; encoder frame `j` on mel
    frame `2 j` (Whisper's second convolution has stride 2).
    """
    mel_frames = math.ceil(num_samples / converter.stride)
    return math.ceil(mel_frames / 2)


def check_audio_spec(spec, converter, name, encoder=None):
    """Errors for an `Audio` input that the preset's converter (and `WhisperAudioEncoder`) cannot take as it is."""
    rate = int(converter.sampling_rate)
    if spec.sample_rate != rate:
        raise ValueError(
            f"Audio input '{spec.name}': sample_rate={spec.sample_rate}, but encoder '{name}' (a Whisper preset) "
            f"reads {rate} Hz audio. Pass mmzoo.Audio('{spec.name}', sample_rate={rate}, ...), and resample "
            f"the audio to it (mmzoo's data readers do with resample=True)."
        )
    window = int(converter.num_samples)
    if spec.num_samples > window:
        raise ValueError(
            f"Audio input '{spec.name}': {spec.seconds} s clips are longer than the {converter.max_audio_length} s "
            f"window of encoder '{name}' (its audio converter would cut them). Pass seconds<="
            f"{converter.max_audio_length}, or split the audio."
        )
    frames = real_frames(window, converter)
    if encoder is not None and frames > encoder.max_frames:
        raise ValueError(
            f"Encoder '{name}': the audio converter's {converter.max_audio_length} s window gives {frames} encoder "
            f"frames, more than the {encoder.max_frames} positions of the Whisper backbone; the preset's "
            f"converter and backbone do not match."
        )
    if spec.frontend == "mfcc":
        raise ValueError(
            f"Audio input '{spec.name}': frontend='mfcc', but encoder '{name}' computes Whisper's own log-mel "
            f"features from the raw waveform. Leave the spec's frontend at 'logmel' (unused here)."
        )


def check_preset_audio(spec, preset, name):
    """`check_audio_spec` with the converter of `preset` alone (cheap: bad audio fails before the backbone loads)."""
    if preset is None or not preset_files(preset)["audio_converter"]:
        return  # the encoder says what the preset lacks
    keras_hub = require_keras_hub("The keras_hub encoder")
    check_audio_spec(spec, keras_hub.layers.AudioConverter.from_preset(preset), name)
