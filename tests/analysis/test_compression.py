"""Post-training quantization (mmzoo.compression, TFLite export) of a model trained on real data.

The model is `early_fusion` on the digit images of the embedded AV-MNIST
sample (real MNIST digits, 5 epochs of a small CNN). Audio is left out of the
tolerance checks on purpose: TFLite quantization of the log-mel frontend is a
known problem, pinned by the strict xfails at the end.
"""

import keras
import numpy as np
import pytest

import mmzoo
from mmzoo.analysis.compression import QuantizationReport, model_size_bytes, quantize
from mmzoo.artifacts.runtime import predict_from_artifact
from mmzoo.datasets.avmnist_sample import load_avmnist_sample_arrays

# Largest accuracy drop (fraction of the test set, i.e. 2 points) a quantized model may show vs float32.
TOLERANCE = 0.02


@pytest.fixture(scope="module")
def trained():
    arrays = load_avmnist_sample_arrays()
    (train_x, train_y), (test_x, test_y) = arrays["train"], arrays["test"]
    keras.utils.set_random_seed(0)
    model = mmzoo.build_model(
        "early_fusion",
        [mmzoo.Image("digit", shape=(28, 28, 1))],
        mmzoo.Classification(10),
        encoders={"digit": ("cnn", {"filters": (8, 16, 32), "units": 32})},
        head_units=(64,),
        learning_rate=3e-3,
    )
    model.fit({"digit": train_x["digit"]}, train_y, epochs=5, batch_size=32, verbose=0)
    x = {"digit": test_x["digit"]}
    accuracy = _accuracy(model.predict(x, verbose=0), test_y)
    assert accuracy > 0.8, f"the float32 model did not learn the digits (test accuracy {accuracy:.3f})"
    return model, x, test_y, accuracy


def _accuracy(probabilities, labels):
    return float(np.mean(np.argmax(probabilities, -1) == labels))


def _kernels(model):
    return {v.path: v for v in model.weights if v.path.endswith("/kernel")}


def test_keras_int8_stays_within_tolerance_with_int8_kernels(trained):
    model, x, y, float_accuracy = trained
    before = [np.array(v) for v in model.weights]
    quantized, report = quantize(model, "int8")

    assert isinstance(report, QuantizationReport)
    assert [e["layer"] for e in report.quantized] == ["digit_encoder/proj", "head_dense0", "head_logits"]
    kernels = _kernels(quantized)
    for entry in report.quantized:
        assert str(kernels[f"{entry['layer']}/kernel"].dtype) == "int8"
        scale = next(v for v in quantized.weights if v.path == f"{entry['layer']}/kernel_scale")
        assert str(scale.dtype) == "float32"
    reasons = {e["layer"]: e["reason"] for e in report.float}
    assert "no int8 quantization for Conv2D" in reasons["digit_encoder/conv0"]
    assert "FusedBatchNormalization holds its weights itself" in reasons["digit_encoder/bn0"]
    assert str(kernels["digit_encoder/conv0/kernel"].dtype) == "float32"
    assert report.quantized_parameters + report.float_parameters == model.count_params()

    accuracy = _accuracy(quantized.predict(x, verbose=0), y)
    assert abs(accuracy - float_accuracy) <= TOLERANCE, (accuracy, float_accuracy)
    # the user's model is untouched
    assert all(str(v.dtype) == "float32" for v in _kernels(model).values())
    assert all(np.array_equal(a, np.array(v)) for a, v in zip(before, model.weights))


def test_int8_keras_file_is_smaller_and_reloads_in_safe_mode_identically(trained, tmp_path):
    model, x, y, _ = trained
    quantized, _ = quantize(model)
    assert model_size_bytes(quantized) < model_size_bytes(model)  # both without optimizer state
    model.save(tmp_path / "float32.keras")
    quantized.save(tmp_path / "int8.keras")
    assert model_size_bytes(tmp_path / "int8.keras") < model_size_bytes(tmp_path / "float32.keras")

    reloaded = mmzoo.load(tmp_path / "int8.keras")  # safe mode
    kernels = _kernels(reloaded)
    assert str(kernels["head_logits/kernel"].dtype) == str(kernels["digit_encoder/proj/kernel"].dtype) == "int8"
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), quantized.predict(x, verbose=0))
    reloaded.evaluate(x, y, verbose=0)  # compiled like the original, with a fresh optimizer


def test_tflite_dynamic_range_stays_within_tolerance_and_is_smaller(trained, tmp_path):
    model, x, y, float_accuracy = trained
    paths = {q: str(tmp_path / f"m_{q}.tflite") for q in ("float32", "dynamic")}
    mmzoo.export(model, paths["float32"], format="tflite")
    mmzoo.export(model, paths["dynamic"], format="tflite", quantize="dynamic")
    accuracy = _accuracy(predict_from_artifact(paths["dynamic"], x)["probabilities"], y)
    assert abs(accuracy - float_accuracy) <= TOLERANCE, (accuracy, float_accuracy)
    assert model_size_bytes(paths["dynamic"]) < 0.6 * model_size_bytes(paths["float32"])


def test_plain_keras_model_leaves_nested_dense_float_unless_reloadable_false(trained, tmp_path):
    model, x, y, float_accuracy = trained
    plain = keras.Model(model.inputs, model.outputs)  # no MultimodalModel config to record nested layers in
    _, report = quantize(plain)
    reasons = {e["layer"]: e["reason"] for e in report.float}
    assert "inside 'digit_encoder' (ConvEncoder)" in reasons["digit_encoder/proj"]
    quantized, report = quantize(plain, reloadable=False)
    assert "digit_encoder/proj" in [e["layer"] for e in report.quantized]
    assert str(_kernels(quantized)["digit_encoder/proj/kernel"].dtype) == "int8"
    assert abs(_accuracy(quantized.predict(x, verbose=0), y) - float_accuracy) <= TOLERANCE
    quantized.save(tmp_path / "nested.keras")
    with pytest.raises(ValueError, match="proj"):
        mmzoo.load(tmp_path / "nested.keras")


def test_errors_name_the_mode_or_the_layer(trained):
    model, _, _, _ = trained
    with pytest.raises(ValueError, match="mode='int3'"):
        quantize(model, "int3")
    with pytest.raises(ValueError, match="gptq/awq need calibration data"):
        quantize(model, "gptq")
    quantized, _ = quantize(model)
    with pytest.raises(ValueError, match="Layer 'digit_encoder/proj' .* already quantized"):
        quantize(quantized)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        half = mmzoo.build_model(
            "early_fusion", [mmzoo.Features("f", shape=(4,), normalize=False)], mmzoo.Classification(2), head_units=(8,)
        )
    finally:
        keras.config.set_dtype_policy(previous)
    with pytest.raises(
        ValueError,
        match=r"Layer 'head_dense0' \(Dense, dtype policy 'mixed_float16'\) cannot be "
        r"quantized with mode='int8'",
    ):
        quantize(half)


def test_model_size_bytes_of_files_folders_and_models(trained, tmp_path):
    model, _, _, _ = trained
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.bin").write_bytes(b"x" * 10)
    (tmp_path / "folder" / "b.bin").write_bytes(b"x" * 5)
    assert model_size_bytes(tmp_path / "folder") == 15
    assert model_size_bytes(str(tmp_path / "folder" / "a.bin")) == 10
    with pytest.raises(FileNotFoundError, match="nothing.keras"):
        model_size_bytes(tmp_path / "nothing.keras")
    # a trained model's Adam state (two moments per trainable weight) is only counted on request
    assert model_size_bytes(model, include_optimizer=True) > model_size_bytes(model) + 8 * model.count_params() // 2


def _frontend_tflite(quantize, tmp_path, representative=False):
    """The sample's log-mel frontend (DFTLogMel) alone through TFLite, and the float32 Keras reference."""
    from mmzoo.artifacts.core import Core
    from mmzoo.artifacts.frontend import DFTLogMel
    from mmzoo.artifacts.tflite import convert, run

    layer = DFTLogMel(
        fft_length=256, sequence_stride=80, sequence_length=200, sampling_rate=8000, num_mel_bins=64, max_freq=4000.0
    )
    waves = load_avmnist_sample_arrays()["test"][0]["voice"][:8]  # zero-padded to 1 s: silent frames
    source = keras.Input((8000,), name="voice")
    blob, _ = convert(
        Core(keras.Model({"voice": source}, layer(source)), {}, {}),
        "logmel",
        quantize,
        representative_data={"voice": waves} if representative else None,
    )
    path = tmp_path / "frontend.tflite"
    path.write_bytes(blob)
    return run(path, {"voice": waves})["logmel"], keras.ops.convert_to_numpy(layer(waves))


def test_tflite_float16_log_mel_is_finite(tmp_path):
    out, reference = _frontend_tflite("float16", tmp_path)
    assert np.isfinite(out).all()
    assert np.abs(out - reference).max() < 1.0


def test_tflite_int8_log_mel_calibrates_on_silent_frames(tmp_path):
    """Full-integer calibration on clips with silent (zero-padded) frames: a -inf log power there once made the
    converter abort the process ('scale out of expressed type range'); the frontend floors the power first.
    The int8 log-mel itself is coarse (tens of dB off, benchmarks/COMPRESSION.md), like the dynamic-range one."""
    out, reference = _frontend_tflite("int8", tmp_path, representative=True)
    assert out.shape == reference.shape and np.isfinite(out).all()


@pytest.mark.xfail(
    strict=True,
    reason="TFLite dynamic-range quantization quantizes the DFT basis and, on the fly, the "
    "waveform to 8 bits: the log-mel is off by tens of dB",
)
def test_tflite_dynamic_range_log_mel_is_close(tmp_path):
    out, reference = _frontend_tflite("dynamic", tmp_path)
    assert np.abs(out - reference).mean() < 1.0
