"""Band-limited resampling of waveforms inside the TensorFlow graph."""

import tensorflow as tf


def resample(waveform, rate_in, rate_out):
    """Resamples a 1-D waveform from `rate_in` to `rate_out` Hz by FFT.

    Band-limited (ideal) interpolation: the spectrum is truncated
    (downsampling) or zero-padded (upsampling) and transformed back, as in
    `scipy.signal.resample`, so tones keep their frequency and nothing above
    the new Nyquist frequency aliases. Two differences from plain FFT
    resampling make it a resampler for clips rather than for periodic
    signals: the clip is zero-extended (a guard of zeros keeps the FFT's
    wrap-around from leaking its end into its start) and padded to a whole
    number of `rate_in / gcd(rate_in, rate_out)` samples, so output sample
    `k` lies exactly at time `k / rate_out`. Runs in graph mode inside
    `tf.data` maps; the rates may be tensors. Equal rates return the input.

    Args:
        waveform: float32 tensor of shape `(n,)`, `n >= 1`.
        rate_in: sample rate of `waveform` (int or scalar int tensor).
        rate_out: sample rate wanted (int or scalar int tensor).

    Returns:
        A float32 tensor of shape `(round(n * rate_out / rate_in),)` (at least 1).

    Example:
        >>> import numpy as np
        >>> t = np.arange(16_000) / 16_000
        >>> tone = np.sin(2 * np.pi * 440 * t).astype("float32")
        >>> out = resample(tone, 16_000, 8_000).numpy()
        >>> out.shape, int(np.argmax(np.abs(np.fft.rfft(out))))
        ((8000,), 440)
    """
    waveform = tf.convert_to_tensor(waveform, tf.float32)
    rate_in = tf.cast(rate_in, tf.int64)
    rate_out = tf.cast(rate_out, tf.int64)
    n = tf.shape(waveform, out_type=tf.int64)[0]
    m = tf.maximum((n * rate_out + rate_in // 2) // rate_in, 1)

    def _resample():
        step = rate_in // _gcd(rate_in, rate_out)  # input samples per whole output sample
        total = (n + n // 8 + 64 + step - 1) // step * step
        padded = tf.pad(waveform, [[0, total - n]])
        return _fft_resample(padded, total, total // step * (rate_out * step // rate_in))[:m]

    return tf.cond(tf.equal(rate_in, rate_out), lambda: waveform, _resample)


def _gcd(a, b):
    return tf.while_loop(lambda a, b: b > 0, lambda a, b: (b, a % b), (a, b))[0]


def _fft_resample(waveform, n, m):
    """Resamples `waveform` (length `n`) to length `m` through its real spectrum."""
    spectrum = tf.signal.rfft(waveform, fft_length=tf.cast(tf.reshape(n, [1]), tf.int32))
    shared = tf.minimum(n, m)  # the band both lengths can represent
    keep = shared // 2 + 1
    spectrum = spectrum[:keep]
    # The shared band's Nyquist bin (even `shared` only) stands for +f and -f at
    # once: upsampling splits it between the two (x0.5); downsampling folds
    # both halves into the new Nyquist bin (x2). Same rule as scipy.
    nyquist = tf.logical_and(tf.equal(shared % 2, 0), tf.equal(tf.range(keep, dtype=tf.int64), shared // 2))
    factor = tf.where(m > n, 0.5, 2.0)
    scale = tf.where(nyquist, factor, 1.0)
    spectrum = spectrum * tf.cast(scale, spectrum.dtype)
    spectrum = tf.pad(spectrum, [[0, m // 2 + 1 - keep]])
    out = tf.signal.irfft(spectrum, fft_length=tf.cast(tf.reshape(m, [1]), tf.int32))
    return out * tf.cast(m, tf.float32) / tf.cast(n, tf.float32)
