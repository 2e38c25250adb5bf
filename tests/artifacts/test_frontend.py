"""DFTLogMel (STFT as a convolution with a fixed DFT basis) matches the Audio spec's MelSpectrogram."""

import json

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.artifacts.frontend import DFTLogMel, dft_basis, mel_matrix

# Stated tolerance (dB) on noise-like audio. On pure tones, bands 80-100 dB below the peak carry float32
# rounding noise in *both* layers (Keras's RFFT errs there by up to 0.4 dB against float64; the DFT
# convolution is closer to float64), so tones are checked against a float64 reference instead.
NOISE_ATOL_DB = 2e-3


def _spec_layers(**options):
    spec = mmzoo.Audio("voice", **options)
    model = keras.Model(inputs := spec.input(), spec.preprocess(inputs))
    mel = model.get_layer("voice_logmel")
    return spec, mel, DFTLogMel.from_mel_spectrogram(mel)


def _float64_logmel(x, mel):
    half, n, step = mel.fft_length // 2, mel.fft_length, mel.sequence_stride
    padded = np.pad(x.astype("float64"), [[0, 0], [half, half]], mode="reflect")
    frames = np.stack([padded[:, i * step : i * step + n] for i in range(1 + (padded.shape[1] - n) // step)], 1)
    spectrum = np.fft.rfft(
        frames
        * np.pad(
            np.hanning(mel.sequence_length + 1)[:-1],
            [(n - mel.sequence_length) // 2, n - mel.sequence_length - (n - mel.sequence_length) // 2],
        ),
        axis=-1,
    )
    power = np.abs(spectrum) ** 2 @ mel_matrix(
        mel.num_mel_bins, n // 2 + 1, mel.sampling_rate, mel.min_freq, mel.max_freq
    )
    return (10 * np.log10(np.maximum(power, mel.min_power))).transpose(0, 2, 1)


@pytest.mark.parametrize(
    "options",
    [
        {"sample_rate": 4000, "seconds": 0.25, "num_mel_bins": 16},
        {"sample_rate": 16000, "seconds": 0.5, "num_mel_bins": 40},
        {"sample_rate": 8000, "seconds": 0.3, "num_mel_bins": 24, "frame_length": 256, "frame_step": 100},
    ],
)
def test_dft_frontend_matches_mel_spectrogram(options):
    spec, mel, dft = _spec_layers(**options)
    rng = np.random.default_rng(1)
    n, t = spec.num_samples, np.arange(spec.num_samples) / spec.sample_rate
    noise = np.stack(
        [
            0.1 * rng.standard_normal(n),
            np.clip(rng.standard_normal(n), -1, 1),
            1e-3 * rng.standard_normal(n),
            np.zeros(n),
        ]
    ).astype("float32")
    expected, got = (keras.ops.convert_to_numpy(layer(noise)) for layer in (mel, dft))
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= NOISE_ATOL_DB

    tones = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 1000 * t) * (t < t[-1] / 2)])
    reference = _float64_logmel(tones, mel)
    keras_error = np.abs(keras.ops.convert_to_numpy(mel(tones.astype("float32"))) - reference)
    dft_error = np.abs(keras.ops.convert_to_numpy(dft(tones.astype("float32"))) - reference)
    loud = reference >= reference.max(axis=(1, 2), keepdims=True) - 60  # within 60 dB of the clip's peak
    assert dft_error[loud].max() <= NOISE_ATOL_DB
    assert dft_error.max() <= keras_error.max() + NOISE_ATOL_DB


def test_basis_and_filterbank_are_keras_s():
    mel = keras.layers.MelSpectrogram(
        fft_length=64, sequence_stride=16, sequence_length=50, sampling_rate=8000, num_mel_bins=10, max_freq=4000
    )
    keras_matrix = keras.ops.convert_to_numpy(mel.linear_to_mel_weight_matrix(10, 33, 8000, 20.0, 4000.0))
    np.testing.assert_allclose(mel_matrix(10, 33, 8000, 20.0, 4000.0), keras_matrix, atol=1e-5)
    signal = np.random.default_rng(0).standard_normal(64)
    kernel = dft_basis(64, 64, window=None)[:, 0, :]
    np.testing.assert_allclose(signal @ kernel[:, :33], np.fft.rfft(signal).real, atol=1e-9)
    np.testing.assert_allclose(signal @ kernel[:, 33:], np.fft.rfft(signal).imag, atol=1e-9)


def test_config_round_trip_and_keras_file_reload(tmp_path):
    _, mel, dft = _spec_layers(sample_rate=4000, seconds=0.25, num_mel_bins=16)
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(dft)))
    clone = keras.saving.deserialize_keras_object(config)
    assert clone.get_config() == dft.get_config()
    inputs = keras.Input((1000,))
    model = keras.Model(inputs, dft(inputs))
    model.save(tmp_path / "frontend.keras")
    reloaded = mmzoo.load(str(tmp_path / "frontend.keras"))  # registered: safe mode, no custom_objects
    x = np.random.default_rng(2).standard_normal((2, 1000)).astype("float32") * 0.1
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_unsupported_mel_settings_name_the_layer():
    mel = keras.layers.MelSpectrogram(power_to_db=False, name="voice_power")
    with pytest.raises(ValueError, match=r"'voice_power'.*power_to_db=True"):
        DFTLogMel.from_mel_spectrogram(mel)
