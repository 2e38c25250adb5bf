"""An exportable log-mel frontend: the STFT as a convolution with a fixed DFT basis."""

import keras
import numpy as np
from keras import ops

# Keras's MelSpectrogram (HTK mel scale) constants.
_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0


def mel_matrix(num_mel_bins, num_spectrogram_bins, sample_rate, min_freq, max_freq):
    """The `(num_spectrogram_bins, num_mel_bins)` triangular filterbank of `keras.layers.MelSpectrogram`.

    HTK mel scale, DC bin zeroed, peaks of 1.0: the same construction as
    `MelSpectrogram.linear_to_mel_weight_matrix`, in float64 NumPy.

    Example:
        >>> mel_matrix(4, 9, 8000, 20.0, 4000.0).shape
        (9, 4)
    """

    def to_mel(hz):
        return _MEL_HIGH_Q * np.log(1.0 + np.asarray(hz, "float64") / _MEL_BREAK_HZ)

    linear = np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins)[1:]
    bins_mel = to_mel(linear)[:, None]
    edges = np.linspace(to_mel(min_freq), to_mel(max_freq), num_mel_bins + 2)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    weights = np.maximum(0.0, np.minimum((bins_mel - lower) / (center - lower), (upper - bins_mel) / (upper - center)))
    return np.pad(weights, [[1, 0], [0, 0]])


def dft_basis(frame_length, fft_length, window="hann"):
    """Conv1D kernel `(fft_length, 1, 2 * (fft_length // 2 + 1))`: windowed cosines then sines.

    The window (periodic, `frame_length` samples) is zero-padded to the centre
    of the FFT frame, as `keras.ops.stft` does.

    Example:
        >>> dft_basis(6, 8).shape
        (8, 1, 10)
    """
    n = np.arange(frame_length)
    if window == "hann":
        win = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_length)
    elif window == "hamming":
        win = 0.54 - 0.46 * np.cos(2.0 * np.pi * n / frame_length)
    elif window is None:
        win = np.ones(frame_length)
    else:
        raise ValueError(f"DFT frontend window must be 'hann', 'hamming' or None; received {window!r}.")
    left = (fft_length - frame_length) // 2
    win = np.pad(win, [left, fft_length - frame_length - left])
    bins = fft_length // 2 + 1
    angle = 2.0 * np.pi * np.outer(np.arange(fft_length), np.arange(bins)) / fft_length
    kernel = np.concatenate([win[:, None] * np.cos(angle), -win[:, None] * np.sin(angle)], axis=1)
    return kernel[:, None, :]


@keras.saving.register_keras_serializable(package="mmzoo")
class DFTLogMel(keras.layers.Layer):
    """Log-mel spectrogram in dB from a waveform, with only convolution, matmul and log.

    Computes what `keras.layers.MelSpectrogram` computes (centred STFT with
    reflect padding, power spectrum, HTK mel filterbank, `10 log10(max(p,
    min_power))`), but the STFT is a strided `Conv1D` whose fixed kernel is the
    windowed DFT basis, so the layer exports to TFLite builtins and to every
    ONNX runtime (no FFT op). Output `(batch, num_mel_bins, frames)` like
    `MelSpectrogram`.

    Args:
        fft_length, sequence_stride, sequence_length, sampling_rate,
        num_mel_bins, min_freq, max_freq, window, min_power, ref_power,
        top_db: as for `keras.layers.MelSpectrogram` (`top_db=None` disables
        the batch-wide clip).

    Example:
        >>> import numpy as np
        >>> layer = DFTLogMel(fft_length=128, sequence_stride=40, sequence_length=100,
        ...                   sampling_rate=4000, num_mel_bins=16, max_freq=2000)
        >>> tuple(layer(np.zeros((2, 1000), "float32")).shape)
        (2, 16, 26)
    """

    def __init__(
        self,
        fft_length=2048,
        sequence_stride=512,
        sequence_length=None,
        sampling_rate=16000,
        num_mel_bins=128,
        min_freq=20.0,
        max_freq=None,
        window="hann",
        min_power=1e-10,
        ref_power=1.0,
        top_db=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.fft_length = int(fft_length)
        self.sequence_stride = int(sequence_stride)
        self.sequence_length = int(sequence_length or fft_length)
        self.sampling_rate = sampling_rate
        self.num_mel_bins = int(num_mel_bins)
        self.min_freq = float(min_freq)
        self.max_freq = float(max_freq if max_freq is not None else sampling_rate / 2.0)
        self.window = window
        self.min_power = float(min_power)
        self.ref_power = float(ref_power)
        self.top_db = None if top_db is None else float(top_db)
        if self.sequence_length > self.fft_length:
            raise ValueError(
                f"DFTLogMel '{self.name}': sequence_length ({self.sequence_length}) must not "
                f"exceed fft_length ({self.fft_length})."
            )
        self._kernel = dft_basis(self.sequence_length, self.fft_length, window).astype("float32")
        self._mel = mel_matrix(
            self.num_mel_bins, self.fft_length // 2 + 1, sampling_rate, self.min_freq, self.max_freq
        ).astype("float32")
        self._offset = 10.0 * np.log10(max(abs(self.ref_power), self.min_power))

    @classmethod
    def from_mel_spectrogram(cls, layer, name=None):
        """The `DFTLogMel` equivalent of a `keras.layers.MelSpectrogram` layer (dB output)."""
        config = layer.get_config()
        if not config.get("power_to_db", True) or config.get("mag_exp", 2.0) != 2.0:
            raise ValueError(
                f"MelSpectrogram layer '{layer.name}': the DFT frontend reproduces the power "
                f"spectrum in dB only (power_to_db=True, mag_exp=2.0); received "
                f"power_to_db={config.get('power_to_db')}, mag_exp={config.get('mag_exp')}."
            )
        top_db = config.get("top_db")
        # a clip far below mmzoo's -100 dB floor never binds: drop the batch-wide max
        if top_db is not None and top_db >= 1e5:
            top_db = None
        keys = (
            "fft_length",
            "sequence_stride",
            "sequence_length",
            "sampling_rate",
            "num_mel_bins",
            "min_freq",
            "max_freq",
            "window",
            "min_power",
            "ref_power",
        )
        return cls(**{k: config[k] for k in keys}, top_db=top_db, name=name or f"{layer.name}_dft")

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        half = self.fft_length // 2
        x = ops.pad(x, [[0, 0], [half, half]], mode="reflect")
        x = ops.expand_dims(x, -1)
        spectrum = ops.conv(x, ops.convert_to_tensor(self._kernel), strides=self.sequence_stride, padding="valid")
        bins = self.fft_length // 2 + 1
        power = ops.square(spectrum[..., :bins]) + ops.square(spectrum[..., bins:])
        mel = ops.matmul(power, ops.convert_to_tensor(self._mel))
        # floor before the log (no -inf anywhere in float32, which int8 calibration needs) and
        # again after it: TFLite float16 rounds min_power=1e-10 to 0, and log(0) = -inf there
        floor_db = float(10.0 * np.log10(self.min_power))
        log_mel = float(10.0 / np.log(10.0)) * ops.log(ops.maximum(mel, self.min_power))
        log_spec = ops.maximum(log_mel, floor_db) - float(self._offset)
        if self.top_db is not None:
            log_spec = ops.maximum(log_spec, ops.max(log_spec) - self.top_db)
        return ops.cast(ops.transpose(log_spec, (0, 2, 1)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        length = input_shape[-1]
        frames = (
            None
            if length is None
            else 1 + (length + 2 * (self.fft_length // 2) - self.fft_length) // self.sequence_stride
        )
        return (input_shape[0], self.num_mel_bins, frames)

    def get_config(self):
        return {
            **super().get_config(),
            "fft_length": self.fft_length,
            "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length,
            "sampling_rate": self.sampling_rate,
            "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
            "window": self.window,
            "min_power": self.min_power,
            "ref_power": self.ref_power,
            "top_db": self.top_db,
        }
