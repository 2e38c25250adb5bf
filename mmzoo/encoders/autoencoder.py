"""Convolutional autoencoder over log-mel/MFCC frames: the encoder half, and its unsupervised pretraining."""

import json
import os

import h5py
import keras
import numpy as np
import tensorflow as tf

from mmzoo.encoders.base import Encoder, image_shape, propagate_frozen, with_channels
from mmzoo.encoders.fused_batchnorm import FusedBatchNormalization, conv_bn
from mmzoo.registry import register_encoder

PAPER = "Masci et al. 2011, Stacked Convolutional Auto-Encoders for Hierarchical Feature Extraction"
_ARCHITECTURE = ("filters", "kernel_size", "units")
_CONFIG_ATTR = "mmzoo_conv_autoencoder"


def _read_file_config(path, who):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{who}: pretrained weights file {path!r} not found. Write it with "
            f"mmzoo.encoders.autoencoder.pretrain_autoencoder(..., save_path=...)."
        )
    with h5py.File(path, "r") as f:
        raw = f.attrs.get(_CONFIG_ATTR)
    return json.loads(raw) if raw is not None else {}


@register_encoder("conv_autoencoder", modalities=("audio",), paper=PAPER)
class ConvAutoencoderEncoder(Encoder):
    """Encoder half of a convolutional autoencoder: strided conv blocks -> a bottleneck vector.

    Masci et al. 2011, "Stacked Convolutional Auto-Encoders for Hierarchical
    Feature Extraction". Each block is a stride-2 Conv2D -> BatchNorm -> ReLU
    over the `(time, bins)` log-mel/MFCC frames of the `Audio` spec (read as a
    one-channel image); the last feature map is flattened into a linear
    Dense bottleneck. Pretrain it on unlabelled audio with
    `pretrain_autoencoder`, then pass the returned layer to
    `mmzoo.build_model(..., encoders={name: layer})`, or build it from a
    saved weights file with `("conv_autoencoder", {"weights": path})` (the
    architecture is read from the file).

    `weights` is a one-time initialisation (`file_arguments`): `get_config`
    leaves it out and `from_config` ignores it, because a saved `.keras`
    model holds the weights themselves, so reloading it never opens a path.

    Args:
        filters: channels of each stride-2 block.
        kernel_size: convolution kernel size.
        units: bottleneck size (the output features).
        dropout: dropout rate on the output features.
        bn_momentum: BatchNorm momentum (0.9: see `ConvEncoder`).
        return_sequences: return the bottleneck as a single token, `(batch, 1, units)`.
        weights: optional `.weights.h5` file written by `pretrain_autoencoder`.

    Returns:
        `(batch, units)` features, or `(batch, 1, units)`.

    Example:
        >>> import numpy as np
        >>> enc = ConvAutoencoderEncoder(filters=(8, 16), units=32)
        >>> tuple(enc(np.zeros((2, 24, 16), "float32")).shape)
        (2, 32)
    """

    accepts = {"frontend": ("logmel", "mfcc")}
    file_arguments = ("weights",)

    def __init__(
        self,
        filters=(16, 32, 64),
        kernel_size=3,
        units=128,
        dropout=0.0,
        bn_momentum=0.9,
        return_sequences=False,
        weights=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = tuple(filters)
        self.kernel_size = kernel_size
        self.units = units
        self.dropout = dropout
        self.bn_momentum = bn_momentum
        self.return_sequences = return_sequences
        self.weights_path = None if weights is None else os.fspath(weights)
        self._pretrained = {}
        if self.weights_path is not None:
            self._pretrained = _read_file_config(self.weights_path, f"Encoder '{self.name}'")
            mine = {"filters": list(self.filters), "kernel_size": kernel_size, "units": units}
            theirs = {k: self._pretrained[k] for k in _ARCHITECTURE if k in self._pretrained}
            if any(theirs[k] != mine[k] for k in theirs):
                raise ValueError(
                    f"Encoder '{self.name}': {self.weights_path} was pretrained with {theirs}; "
                    f"received {mine}. Pass the same values (or leave them out in build_model)."
                )
        self.blocks = []
        for i, f in enumerate(self.filters):
            self.blocks.append(
                [
                    keras.layers.Conv2D(f, kernel_size, strides=2, padding="same", use_bias=False, name=f"conv{i}"),
                    FusedBatchNormalization(momentum=bn_momentum, name=f"bn{i}"),
                    keras.layers.Activation("relu", name=f"relu{i}"),
                ]
            )
        self.flatten = keras.layers.Flatten()
        self.bottleneck = keras.layers.Dense(units, name="bottleneck")
        self.drop = keras.layers.Dropout(dropout)
        propagate_frozen(self)

    @classmethod
    def from_spec(cls, spec, **options):
        if options.get("weights") is not None:
            pretrained = _read_file_config(options["weights"], f"Audio input '{spec.name}'")
            options = {**{k: pretrained[k] for k in _ARCHITECTURE if k in pretrained}, **options}
        return super().from_spec(spec, **options)

    def feature_map_shape(self, input_shape):
        """Shape `(batch, height, width, channels)` of the last block's output."""
        shape = image_shape(input_shape)
        for block in self.blocks:
            for layer in block:
                shape = layer.compute_output_shape(shape)
        return shape

    def build(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ValueError(
                f"Encoder '{self.name}' expects (batch, time, bins) log-mel/MFCC frames; "
                f"received shape {tuple(input_shape)}."
            )
        shape = image_shape(input_shape)
        for block in self.blocks:
            for layer in block:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.bottleneck.build((None, int(np.prod(shape[1:]))))
        if self.weights_path is not None:
            self._load(tuple(input_shape))

    def _load(self, input_shape):
        frames = self._pretrained.get("input_shape")
        if frames is not None and list(input_shape[1:3]) != list(frames[:2]):
            raise ValueError(
                f"Encoder '{self.name}': {self.weights_path} was pretrained on (time, bins) = "
                f"{tuple(frames[:2])} frames; received {tuple(input_shape[1:3])}. Use the same "
                f"Audio spec (sample_rate, seconds, num_mel_bins, frame settings)."
            )
        self.built = True
        keras.saving.load_weights(self, self.weights_path)

    def call(self, x, training=None):
        x = with_channels(x)
        for conv, bn, act in self.blocks:
            x = act(conv_bn(conv, bn, x, training))
        x = self.drop(self.bottleneck(self.flatten(x)), training=training)
        return keras.ops.expand_dims(x, 1) if self.return_sequences else x

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], 1, self.units)
        return (input_shape[0], self.units)

    def save_pretrained(self, path, input_shape):
        """Writes the weights to a `.weights.h5` file, with the architecture and input frames it needs."""
        keras.saving.save_weights(self, path)
        config = {
            "filters": list(self.filters),
            "kernel_size": self.kernel_size,
            "units": self.units,
            "input_shape": list(input_shape[1:]),
        }
        with h5py.File(path, "a") as f:
            f.attrs[_CONFIG_ATTR] = json.dumps(config)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "kernel_size": self.kernel_size,
            "units": self.units,
            "dropout": self.dropout,
            "bn_momentum": self.bn_momentum,
            "return_sequences": self.return_sequences,
        }


def build_decoder(encoder, input_shape, name="decoder"):
    """The mirror of `encoder` for inputs of `input_shape`: Dense -> stride-2 transposed convs -> frames.

    Args:
        encoder: a `ConvAutoencoderEncoder`.
        input_shape: `(batch, time, bins)` of the frames to reconstruct.
        name: model name.

    Returns:
        A `keras.Sequential` mapping `(batch, units)` to `(batch, time, bins)`.
    """
    _, height, width, channels = encoder.feature_map_shape(input_shape)
    up = 2 ** len(encoder.filters)
    layers = [
        keras.Input((encoder.units,)),
        keras.layers.Dense(height * width * channels, name="expand"),
        keras.layers.Reshape((height, width, channels)),
    ]
    for i, f in enumerate(reversed(encoder.filters)):
        layers += [
            keras.layers.Conv2DTranspose(
                f, encoder.kernel_size, strides=2, padding="same", use_bias=False, name=f"deconv{i}"
            ),
            FusedBatchNormalization(momentum=encoder.bn_momentum, name=f"debn{i}"),
            keras.layers.Activation("relu"),
        ]
    layers += [
        keras.layers.Conv2D(1, encoder.kernel_size, padding="same", name="reconstruct", dtype="float32"),
        keras.layers.Cropping2D(((0, height * up - input_shape[1]), (0, width * up - input_shape[2]))),
        keras.layers.Reshape(tuple(input_shape[1:3])),
    ]
    return keras.Sequential(layers, name=name)


def _waveforms(spec, data, batch_size):
    """`data` (array or dataset of waveforms, `(waveform, label)` or `{name: waveform}`) as a batched dataset."""
    if isinstance(data, tf.data.Dataset):

        def pick(*element):
            x = element[0]
            return x[spec.name] if isinstance(x, dict) else x

        data = data.map(pick)
        if len(data.element_spec.shape) == 1:
            data = data.batch(batch_size)
        samples = data.element_spec.shape[-1]
    else:
        data = np.asarray(data[spec.name] if isinstance(data, dict) else data, dtype="float32")
        samples = data.shape[-1] if data.ndim == 2 else None
        data = tf.data.Dataset.from_tensor_slices(data).batch(batch_size)
    if samples != spec.num_samples:
        raise ValueError(
            f"pretrain_autoencoder: Audio input '{spec.name}' expects {spec.describe()}; received "
            f"waveforms of shape {tuple(data.element_spec.shape)}. Pad or crop the clips."
        )
    return data


def pretrain_autoencoder(
    spec,
    data,
    epochs=10,
    units=128,
    filters=(16, 32, 64),
    batch_size=32,
    learning_rate=1e-3,
    freeze=False,
    save_path=None,
    return_history=False,
    verbose=0,
    **encoder_options,
):
    """Trains a conv autoencoder to reconstruct the standardized log-mel of unlabelled audio.

    Masci et al. 2011. The waveforms go through `spec.preprocess` (the
    model's own in-graph log-mel/MFCC and per-example standardization), the
    encoder maps the frames to a `units` vector and a mirrored decoder
    (`build_decoder`) reconstructs them; the loss is their mean squared error.

    Args:
        spec: the `mmzoo.Audio` spec of the input the encoder will serve (logmel or mfcc frontend).
        data: waveforms `(n, samples)`, or a `tf.data.Dataset` of waveforms,
            `(waveform, label)` pairs or `{spec.name: waveform}` dicts (labels are ignored).
        epochs: training epochs.
        units: bottleneck size.
        filters: channels of the encoder's stride-2 blocks (mirrored by the decoder).
        batch_size: batch size (and for unbatched datasets).
        learning_rate: Adam learning rate.
        freeze: return the encoder with `trainable=False` (BatchNorm in inference mode).
        save_path: optional `.weights.h5` path to write the encoder to; build
            it later with `("conv_autoencoder", {"weights": save_path})`.
        return_history: also return `{"initial_loss": float, "loss": [per epoch]}`.
        verbose: Keras verbosity.
        **encoder_options: more `ConvAutoencoderEncoder` arguments (`kernel_size`, `dropout`, ...).

    Returns:
        The trained `ConvAutoencoderEncoder`, named `<spec.name>_encoder`
        (and the history when `return_history`).

    Example:
        >>> import mmzoo, numpy as np
        >>> spec = mmzoo.Audio("voice", sample_rate=4000, seconds=0.25, num_mel_bins=16)
        >>> waves = np.random.default_rng(0).standard_normal((8, 1000)).astype("float32")
        >>> enc = pretrain_autoencoder(spec, waves, epochs=1, units=8, filters=(4,))
        >>> enc.name, enc.units
        ('voice_encoder', 8)
    """
    if getattr(spec, "modality", None) != "audio" or spec.frontend not in ConvAutoencoderEncoder.accepts["frontend"]:
        raise ValueError(
            f"pretrain_autoencoder needs an mmzoo.Audio spec with frontend 'logmel' or 'mfcc'; "
            f"received {type(spec).__name__} '{getattr(spec, 'name', spec)}' with frontend="
            f"{getattr(spec, 'frontend', None)!r}."
        )
    raw = spec.input()
    frames_model = keras.Model(raw, spec.preprocess(raw), name=f"{spec.name}_frontend")
    frames = frames_model.predict(_waveforms(spec, data, batch_size), verbose=0)
    encoder = ConvAutoencoderEncoder.from_spec(
        spec, units=units, filters=filters, name=f"{spec.name}_encoder", **encoder_options
    )
    inputs = keras.Input(frames.shape[1:], name=f"{spec.name}_frames")
    decoder = build_decoder(encoder, (None,) + frames.shape[1:], name=f"{spec.name}_decoder")
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name=f"{spec.name}_autoencoder")
    autoencoder.compile(keras.optimizers.Adam(learning_rate), loss="mse")
    initial = autoencoder.evaluate(frames, frames, batch_size=batch_size, verbose=0)
    history = autoencoder.fit(frames, frames, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    if freeze:
        encoder.trainable = False
    if save_path is not None:
        encoder.save_pretrained(save_path, (None,) + frames.shape[1:])
    if return_history:
        return encoder, {"initial_loss": float(initial), "loss": [float(v) for v in history.history["loss"]]}
    return encoder
