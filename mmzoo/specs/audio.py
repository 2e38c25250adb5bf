"""Audio input: a mono waveform turned into a log-mel spectrogram in the graph."""

import dataclasses

import keras
import numpy as np

from mmzoo.registry import register_spec
from mmzoo.specs.base import Spec


@keras.saving.register_keras_serializable(package="mmzoo")
class MFCC(keras.layers.Layer):
    """Mel-frequency cepstral coefficients: an orthonormal DCT-II over log-mel bins.

    A fixed matrix product (no FFT), so it exports to every format.

    Args:
        num_coefficients: coefficients kept (the first ones).
    """

    def __init__(self, num_coefficients=20, **kwargs):
        super().__init__(**kwargs)
        self.num_coefficients = num_coefficients

    def build(self, input_shape):
        bins = input_shape[-1]
        if self.num_coefficients > bins:
            raise ValueError(
                f"MFCC layer '{self.name}': {self.num_coefficients} coefficients "
                f"need at least as many mel bins; received {bins}."
            )
        n = np.arange(bins)
        k = np.arange(self.num_coefficients)
        basis = np.cos(np.pi / bins * (n[:, None] + 0.5) * k[None, :]) * np.sqrt(2.0 / bins)
        basis[:, 0] /= np.sqrt(2.0)
        self._basis = basis.astype("float32")

    def call(self, x):
        return keras.ops.matmul(x, keras.ops.cast(self._basis, x.dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_coefficients,)

    def get_config(self):
        return {**super().get_config(), "num_coefficients": self.num_coefficients}


@dataclasses.dataclass
@register_spec("audio")
class Audio(Spec):
    """A mono float waveform of fixed duration at a declared sample rate.

    The model computes a log-mel spectrogram (`keras.layers.MelSpectrogram`
    in dB) and standardizes it per example, so exported models take raw
    waveforms in [-1, 1]. Clips of other lengths are padded or cropped by the
    data pipeline (`mmzoo.data`), never inside the model.

    Args:
        name: input name.
        sample_rate: samples per second the model expects.
        seconds: clip duration; the input has `round(sample_rate * seconds)` samples.
        num_mel_bins: mel bands of the spectrogram.
        frame_length: STFT window in samples (default: 25 ms).
        frame_step: STFT hop in samples (default: 10 ms).
        frontend: what the encoder receives: "logmel" `(time, num_mel_bins)`,
            "mfcc" `(time, num_mfcc)` (DCT-II of the log-mel), or "waveform"
            `(num_samples, 1)` for raw-waveform encoders.
        num_mfcc: cepstral coefficients kept with `frontend="mfcc"`.

    Example:
        >>> spec = Audio("voice", sample_rate=8000, seconds=1.0)
        >>> spec.num_samples
        8000
    """

    sample_rate: int = 16_000
    seconds: float = 1.0
    num_mel_bins: int = 64
    frame_length: int = None
    frame_step: int = None
    frontend: str = "logmel"
    num_mfcc: int = 20

    modality = "audio"

    @property
    def default_encoder(self):
        return "wave_cnn" if self.frontend == "waveform" else "cnn"

    def __post_init__(self):
        super().__post_init__()
        if self.frame_length is None:
            self.frame_length = int(round(0.025 * self.sample_rate))
        if self.frame_step is None:
            self.frame_step = int(round(0.010 * self.sample_rate))
        if self.frontend not in ("logmel", "mfcc", "waveform"):
            raise ValueError(
                f"Audio input '{self.name}': frontend must be 'logmel', 'mfcc' or "
                f"'waveform'; received {self.frontend!r}."
            )
        if self.num_samples < self.frame_length:
            raise ValueError(
                f"Audio input '{self.name}': {self.seconds} s at {self.sample_rate} Hz "
                f"is shorter than one STFT frame ({self.frame_length} samples)."
            )

    @property
    def num_samples(self):
        return int(round(self.sample_rate * self.seconds))

    @property
    def shape(self):
        return (self.num_samples,)

    @property
    def dtype(self):
        return "float32"

    def describe(self):
        return (
            f"a mono float32 waveform of shape (batch, {self.num_samples}) ({self.seconds} s at {self.sample_rate} Hz)"
        )

    @property
    def fft_length(self):
        return 1 << (self.frame_length - 1).bit_length()

    def preprocess(self, x):
        if self.frontend == "waveform":
            return keras.layers.Reshape((self.num_samples, 1), name=f"{self.name}_channels")(x)
        x = keras.layers.MelSpectrogram(
            fft_length=self.fft_length,
            sequence_stride=self.frame_step,
            sequence_length=self.frame_length,
            sampling_rate=self.sample_rate,
            num_mel_bins=self.num_mel_bins,
            max_freq=self.sample_rate / 2,
            # Keras clips at `max over the whole batch - top_db`, which couples the examples
            # of a batch (outputs then depend on batch size). A huge top_db disables that;
            # the per-element floor min_power=1e-10 (-100 dB) bounds the log instead.
            top_db=1e6,
            min_power=1e-10,
            name=f"{self.name}_logmel",
        )(x)
        x = keras.layers.Permute((2, 1), name=f"{self.name}_time_major")(x)
        if self.frontend == "mfcc":
            x = MFCC(self.num_mfcc, name=f"{self.name}_mfcc")(x)
        return keras.layers.LayerNormalization(
            axis=(-2, -1), center=False, scale=False, name=f"{self.name}_standardize"
        )(x)
