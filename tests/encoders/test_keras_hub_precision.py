"""Mixed precision for pretrained fine-tuning, and `fine_tune` keeping a KerasHub encoder's LoRA / top-N choice."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.encoders.keras_hub import find_blocks

pytest.importorskip("keras_hub")

TEXTS = np.array(["a good film", "the bad movies", "great", "dull dull"], dtype=object)
LABELS = np.array([1, 0, 1, 0])


def _build(preset, precision, **options):
    return mmzoo.build_model(
        "early_fusion",
        [mmzoo.Text("review", sequence_length=6)],
        mmzoo.Classification(2),
        encoders={"review": ("keras_hub", {"preset": preset, **options})},
        head_units=(4,),
        precision=precision,
    )


def _count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def _float_dtypes(model):
    return {v.dtype for v in model.variables if "float" in str(v.dtype)}


def test_mixed_bfloat16_step_computes_in_bfloat16_with_float32_weights_near_float32(hub_presets):
    from mmzoo.training.placement import float32_copy

    model = _build(hub_presets["bert"], "mixed_bfloat16", lora_rank=2)
    encoder = model.get_layer("review_encoder")
    assert model.dtype_policy.name == "mixed_bfloat16"
    assert encoder.compute_dtype == "bfloat16" and encoder.tower[0].compute_dtype == "bfloat16"
    assert _float_dtypes(model) == {"float32"}
    reference = float32_copy(model)  # the same weights under float32 (what TFLite and ONNX export)
    assert reference.get_layer("review_encoder").tower[0].compute_dtype == "float32"
    x = {"review": TEXTS}
    mixed = model(x)
    assert mixed.dtype == "float32"  # the head's softmax, and so the loss, stay float32
    np.testing.assert_allclose(mixed, reference(x), atol=2e-2)

    model.run_eagerly = True  # one step; tracing the graph would cost more than the check
    lora = [w for w in encoder.trainable_weights if "lora_kernel" in w.path]
    before = [w.numpy().copy() for w in lora]
    loss = model.train_on_batch(x, LABELS)[0]
    assert np.isfinite(loss) and _float_dtypes(model) == {"float32"}
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, lora))


def test_mixed_float16_loss_scales_split_warmup_optimizer_through_reload_and_fine_tune(hub_presets, tmp_path):
    from mmzoo.training.split_optimizer import SplitOptimizer
    from mmzoo.training.warmup import WarmUp

    model = _build(hub_presets["bert"], "mixed_float16", trainable_blocks=1)
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(optimizer.inner_optimizer, SplitOptimizer)
    assert isinstance(optimizer.inner_optimizer.encoder_optimizer._learning_rate, WarmUp)
    # a loss-scaled gradient step (what fit applies): unscaled by the wrapper, split, warmed up
    variables = model.trainable_variables
    before = [v.numpy().copy() for v in variables]
    optimizer.apply([keras.ops.ones_like(v) * float(optimizer.scale_loss(1.0)) for v in variables], variables)
    assert int(optimizer.inner_optimizer.encoder_optimizer.iterations) == 1
    assert all(np.isfinite(v.numpy()).all() and not np.array_equal(b, v.numpy()) for b, v in zip(before, variables))

    path = str(tmp_path / "fp16.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.dtype_policy.name == "mixed_float16"  # the policy is in the file
    assert loaded.get_layer("review_encoder").tower[0].compute_dtype == "float16"
    assert isinstance(loaded.optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(loaded.optimizer.inner_optimizer, SplitOptimizer)

    # fine_tune unfreezes a frozen encoder to its own choice (the top block), still loss-scaled
    encoder = loaded.get_layer("review_encoder")
    encoder.trainable = False
    mmzoo.fine_tune(loaded, ({"review": TEXTS}, LABELS), epochs=0)
    top = find_blocks(encoder.tower[0])[-1]
    assert _count(encoder.trainable_weights) == _count(top.weights) > 0
    assert isinstance(loaded.optimizer, keras.optimizers.LossScaleOptimizer)


def test_export_of_a_mixed_model_serves_float32(tmp_path):
    specs = [mmzoo.Features("a", shape=(4,), normalize=False), mmzoo.Features("b", shape=(3,), normalize=False)]
    model = mmzoo.build_model(
        "early_fusion", specs, mmzoo.Classification(3), head_units=(8,), precision="mixed_bfloat16"
    )
    assert model.get_layer("head_dense0").compute_dtype == "bfloat16"
    rng = np.random.default_rng(0)
    x = {"a": rng.standard_normal((2, 4)).astype("float32"), "b": rng.standard_normal((2, 3)).astype("float32")}
    folder = str(tmp_path / "savedmodel")
    mmzoo.export(model, folder)
    serve = tf.saved_model.load(folder).signatures["serve"]
    inputs = serve.structured_input_signature[1]
    assert {name: spec.dtype for name, spec in inputs.items()} == {"a": tf.float32, "b": tf.float32}
    out = serve(**{k: tf.constant(v) for k, v in x.items()})
    assert [v.dtype for v in out.values()] == [tf.float32]
    np.testing.assert_allclose(next(iter(out.values())).numpy(), model(x), atol=1e-6)


def test_auto_precision_follows_the_device(monkeypatch):
    from mmzoo.training import precision

    gpus = []
    monkeypatch.setattr(precision, "_on_tpu", lambda: False)
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: list(gpus) if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda gpu: {"compute_capability": gpu})
    assert precision.resolve_precision("auto") == "float32"  # a CPU
    gpus[:] = [(6, 1)]
    assert precision.resolve_precision("auto") == "float32"  # no tensor cores
    gpus[:] = [(8, 0)]
    assert precision.resolve_precision("auto") == "mixed_float16"
    monkeypatch.setattr(precision, "_on_tpu", lambda: True)
    assert precision.resolve_precision("auto") == "mixed_bfloat16"
    with pytest.raises(ValueError, match=r"precision must be one of .*; received 'float16'"):
        precision.resolve_precision("float16")


def test_precision_override_reaches_the_own_data_fit_options(tmp_path):
    import argparse

    from mmzoo.experiments.config import config_from_args
    from mmzoo.experiments.runner import fit_options

    csv = tmp_path / "train.csv"
    csv.write_text("review,liked\ngood,yes\nbad,no\n")
    args = argparse.Namespace(config=None, overrides=["training.precision=auto"], data=str(csv), label="liked")
    assert fit_options(config_from_args(args))["precision"] == "auto"


def test_unfreezing_keeps_lora_and_top_blocks_unless_told_all(hub_presets):
    from mmzoo.encoders.keras_hub import KerasHubEncoder
    from mmzoo.training.transfer import _unfreeze

    lora = KerasHubEncoder(hub_presets["bert"], lora_rank=2)
    top = KerasHubEncoder(hub_presets["bert"], trainable_blocks=1)
    for encoder in (lora, top):
        encoder(np.array([[2, 5, 6, 3]]))
        chosen = _count(encoder.trainable_weights)
        encoder.trainable = False
        _unfreeze(encoder, everything=False)  # what fine_tune does by default (unfreeze="own")
        assert _count(encoder.trainable_weights) == chosen
    # rank-2 LoRA on the query and value (width 8 -> 2 heads x 4) of 2 blocks: A (8, 2, 2) and B (2, 4)
    assert _count(lora.trainable_weights) == 2 * 2 * (8 * 2 * 2 + 2 * 4)
    assert all("lora_kernel" in w.path for w in lora.trainable_weights)
    assert _count(top.trainable_weights) == _count(find_blocks(top.tower[0])[-1].weights)
    for encoder in (lora, top):
        _unfreeze(encoder, everything=True)  # fine_tune(unfreeze="all")
        assert _count(encoder.trainable_weights) == _count(encoder.weights)
    assert top.get_config()["trainable_blocks"] is None
    with pytest.raises(ValueError, match="unfreeze must be 'own'"):
        mmzoo.fine_tune(None, None, unfreeze="some")
