"""Audio input: a mono waveform turned into a log-mel spectrogram in the graph."""

import dataclasses

import keras

from mmzoo.specs.base import Spec


@dataclasses.dataclass
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

    modality = "audio"
    default_encoder = "cnn"

    def __post_init__(self):
        super().__post_init__()
        if self.frame_length is None:
            self.frame_length = int(round(0.025 * self.sample_rate))
        if self.frame_step is None:
            self.frame_step = int(round(0.010 * self.sample_rate))
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
            f"a mono float32 waveform of shape (batch, {self.num_samples}) "
            f"({self.seconds} s at {self.sample_rate} Hz)"
        )

    @property
    def fft_length(self):
        return 1 << (self.frame_length - 1).bit_length()

    def preprocess(self, x):
        x = keras.layers.MelSpectrogram(
            fft_length=self.fft_length,
            sequence_stride=self.frame_step,
            sequence_length=self.frame_length,
            sampling_rate=self.sample_rate,
            num_mel_bins=self.num_mel_bins,
            max_freq=self.sample_rate / 2,
            name=f"{self.name}_logmel",
        )(x)
        x = keras.layers.Permute((2, 1), name=f"{self.name}_time_major")(x)
        return keras.layers.LayerNormalization(
            axis=(-2, -1), center=False, scale=False, name=f"{self.name}_standardize"
        )(x)
