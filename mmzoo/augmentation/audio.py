"""Audio augmentations: gain, time shift and background noise on the waveform; SpecAugment on the log-mel."""

import keras
from keras import ops

from mmzoo.augmentation.random_layer import RandomLayer
from mmzoo.registry import register_augmentation


@keras.saving.register_keras_serializable(package="mmzoo")
class SpecAugment(RandomLayer):
    """Time and frequency masking of a `(batch, time, bins)` spectrogram (Park et al. 2019, SpecAugment).

    Each example gets `time_masks` bands of up to `time_width` frames and
    `freq_masks` bands of up to `freq_width` bins set to `value` (0: the
    mean of the spec's standardized log-mel), widths and places drawn anew
    per example.

    Example:
        >>> import numpy as np
        >>> x = np.ones((2, 50, 16), "float32")
        >>> y = np.asarray(SpecAugment(time_masks=1, time_width=10, freq_masks=0, seed=0)(x, training=True))
        >>> bool((y == 0).any() and (y == 1).any())
        True
    """

    def __init__(self, time_masks=2, time_width=10, freq_masks=2, freq_width=8, value=0.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.time_masks, self.time_width = int(time_masks), int(time_width)
        self.freq_masks, self.freq_width = int(freq_masks), int(freq_width)
        self.value = float(value)

    def _keep(self, batch, length, count, width):
        index = ops.arange(length, dtype="float32")[None, :]
        keep = ops.ones((batch, length), "float32")
        width = min(width, length)
        for _ in range(count):
            size = ops.floor(self.uniform((batch, 1)) * (width + 1))
            start = ops.floor(self.uniform((batch, 1)) * (length - size + 1))
            inside = ops.logical_and(index >= start, index < start + size)
            keep = keep * (1.0 - ops.cast(inside, "float32"))
        return keep

    def call(self, x, training=True):
        if not training:
            return x
        batch, frames, bins = ops.shape(x)[0], x.shape[1], x.shape[2]
        keep = self._keep(batch, frames, self.time_masks, self.time_width)[:, :, None]
        keep = keep * self._keep(batch, bins, self.freq_masks, self.freq_width)[:, None, :]
        keep = ops.cast(keep, x.dtype)
        return x * keep + ops.cast(self.value, x.dtype) * (1 - keep)

    def get_config(self):
        return {
            **super().get_config(),
            "time_masks": self.time_masks,
            "time_width": self.time_width,
            "freq_masks": self.freq_masks,
            "freq_width": self.freq_width,
            "value": self.value,
        }


@keras.saving.register_keras_serializable(package="mmzoo")
class RandomGain(RandomLayer):
    """Scales each waveform by a gain drawn uniformly in `[min_db, max_db]` decibels."""

    def __init__(self, min_db=-6.0, max_db=6.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.min_db, self.max_db = float(min_db), float(max_db)

    def call(self, x, training=True):
        if not training:
            return x
        decibels = self.uniform((ops.shape(x)[0], 1), self.min_db, self.max_db)
        return x * ops.cast(ops.power(10.0, decibels / 20.0), x.dtype)

    def get_config(self):
        return {**super().get_config(), "min_db": self.min_db, "max_db": self.max_db}


@keras.saving.register_keras_serializable(package="mmzoo")
class TimeShift(RandomLayer):
    """Shifts each waveform by up to `max_shift` of its length, earlier or later.

    By default (`fill="wrap"`) the samples pushed out at one end come back
    at the other, so the clip keeps its own background: a noisy recording
    stays noisy throughout. `fill="silence"` fills with zeros instead, which
    suits only clean recordings: digital silence is a -100 dB floor far below
    any recorded background, and the spec's per-clip standardization of the
    log-mel would then rescale the whole clip by how much silence it got,
    something no evaluation clip has.

    Example:
        >>> import numpy as np
        >>> wave = np.arange(1, 11, dtype="float32")[None]
        >>> out = np.asarray(TimeShift(0.3, seed=0)(wave, training=True))[0]
        >>> sorted(out.tolist()) == wave[0].tolist()  # a rotation: no sample lost, none added
        True
    """

    FILLS = ("wrap", "silence")

    def __init__(self, max_shift=0.1, fill="wrap", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0.0 <= max_shift < 1.0:
            raise ValueError(f"TimeShift max_shift is a share of the clip in [0, 1); received {max_shift}.")
        if fill not in self.FILLS:
            raise ValueError(f"TimeShift fill must be one of {self.FILLS}; received {fill!r}.")
        self.max_shift, self.fill = float(max_shift), fill

    def call(self, x, training=True):
        if not training:
            return x
        length = x.shape[1]
        most = float(round(self.max_shift * length))
        shift = ops.round(self.uniform((ops.shape(x)[0], 1), -most, most))
        source = ops.arange(length, dtype="float32")[None, :] - shift
        if self.fill == "wrap":
            return ops.take_along_axis(x, ops.cast(ops.mod(source + length, length), "int32"), axis=1)
        valid = ops.logical_and(source >= 0, source <= length - 1)
        index = ops.cast(ops.clip(source, 0, length - 1), "int32")
        return ops.take_along_axis(x, index, axis=1) * ops.cast(valid, x.dtype)

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift, "fill": self.fill}


@keras.saving.register_keras_serializable(package="mmzoo")
class BackgroundNoise(RandomLayer):
    """Adds white noise at a signal-to-noise ratio drawn in `[min_snr_db, max_snr_db]` per waveform."""

    def __init__(self, min_snr_db=10.0, max_snr_db=30.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.min_snr_db, self.max_snr_db = float(min_snr_db), float(max_snr_db)

    def call(self, x, training=True):
        if not training:
            return x
        batch = ops.shape(x)[0]
        power = ops.mean(ops.square(ops.cast(x, "float32")), axis=1, keepdims=True)
        snr = self.uniform((batch, 1), self.min_snr_db, self.max_snr_db)
        scale = ops.sqrt(power / ops.power(10.0, snr / 10.0))
        noise = keras.random.normal(ops.shape(x), seed=self.seed_generator) * scale
        return x + ops.cast(noise, x.dtype)

    def get_config(self):
        return {**super().get_config(), "min_snr_db": self.min_snr_db, "max_snr_db": self.max_snr_db}


def _spec_augment(spec, **options):
    """SpecAugment on the encoder's log-mel (or MFCC) frames; refused for the raw-waveform frontend."""
    if getattr(spec, "frontend", "logmel") == "waveform":
        raise ValueError(
            f"Audio input '{spec.name}': spec_augment masks the log-mel, but this input's frontend is "
            f"'waveform'. Use frontend='logmel' or 'mfcc', or waveform augmentations (gain, time_shift, noise)."
        )
    return SpecAugment(**options)


def _noise(spec, snr_db=None, **options):
    """`BackgroundNoise`; `snr_db` is a shorthand: one number (fixed SNR) or `[min, max]`."""
    if snr_db is not None:
        low, high = (snr_db, snr_db) if isinstance(snr_db, (int, float)) else snr_db
        options.update(min_snr_db=low, max_snr_db=high)
    return BackgroundNoise(**options)


def _gain(spec, db=None, **options):
    """`RandomGain`; `db` is a shorthand for `[-db, db]`."""
    if db is not None:
        options.update(min_db=-abs(db), max_db=abs(db))
    return RandomGain(**options)


register_augmentation("spec_augment", modalities=("audio",), stage="features", primary="time_masks")(_spec_augment)
register_augmentation("gain", modalities=("audio",), stage="raw", primary="db")(_gain)
register_augmentation("time_shift", modalities=("audio",), stage="raw", primary="max_shift")(
    lambda spec, **options: TimeShift(**options)
)
register_augmentation("noise", modalities=("audio",), stage="raw", primary="snr_db")(_noise)
