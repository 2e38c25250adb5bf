"""Every registry entry: build, train a step, JSON config, .keras and SavedModel round trips, mixed precision.

Every zoo model is exported as a SavedModel; encoders are exported on the first modality they take, fusions
through the zoo model built on them (see `_exports`, `PRESET_OF`). Two large keras.applications backbones
skip the SavedModel and mixed-precision parts (see LARGE_BACKBONES); fusions are trained under mixed
precision, with presence masks, in test_fusion_vectors/test_fusion_attention.
"""

import numpy as np
import pytest

import mmzoo
from mmzoo.artifacts.safety import check_artifact
from mmzoo.registry import ENCODERS, FUSIONS, MODELS
from mmzoo.testing import call_outputs, run_mixed_precision_step, run_model_test
from tests.helpers import code_layers, small_inputs

# Small sizes keep each case to a few seconds; entries not listed use their defaults.
SMALL_OPTIONS = {
    "cnn": {"filters": (8, 16), "units": 16},
    "bilstm": {"embedding_dim": 8, "units": 8},
    "mlp": {"units": (16,)},
    "lstm": {"embedding_dim": 8, "units": 8},
    "gru": {"embedding_dim": 8, "units": 8},
    "kim_cnn": {"embedding_dim": 8, "filters": 4, "units": 8, "window_sizes": (2, 3)},
    "transformer": {"units": 8, "num_heads": 2, "num_layers": 1, "ff_dim": 16},
    "bow": {"units": (16,)},
    "resnet": {"stages": (8, 16), "blocks": 1, "units": 16},
    "wave_cnn": {"filters": (8, 16), "units": 16},
    "conv_autoencoder": {"filters": (8, 16), "units": 16},
    "mobilenet_v3_small": {"units": 16, "backbone_options": {"alpha": 0.75, "minimalistic": True}},
    "efficientnet_b0": {"units": 16},
    "resnet50": {"units": 16},
    "frame_pool": {"image_options": {"filters": (8,)}, "units": 16},
    "frame_rnn": {"image_options": {"filters": (8,)}, "units": 8},
    "r2plus1d": {"filters": (8,), "units": 16},
    "c3d": {"filters": (8,), "units": 16},
}

# keras.applications backbones take a minute or more each to trace on 2 CPU cores: marked slow
# Presets with many attention blocks are shrunk the same way.
SMALL_FUSION_OPTIONS = {
    "mult": {"units": 16, "num_heads": 2, "num_layers": 1},
    "transformer": {"units": 16, "num_heads": 2, "num_layers": 1},
}


# Tracing a Keras LSTM costs seconds per trace on 2 CPU cores, and every registry case traces its model
# about ten times (fit, clone, .keras reload, SavedModel export, mixed precision). The fusion, task and
# model cases take text through a convolutional encoder instead; `test_every_encoder` covers the
# recurrent encoders on every modality they accept.
FAST_TEXT_ENCODER = ("kim_cnn", SMALL_OPTIONS["kim_cnn"])


def _small_fusion(name):
    return {"fusion_options": SMALL_FUSION_OPTIONS[name]} if name in SMALL_FUSION_OPTIONS else {}


ENCODER_CASES = [
    pytest.param(name, m, id=f"{name}-{m}", marks=[pytest.mark.slow] if ENCODERS.meta(name).get("slow") else [])
    for name in ENCODERS.names()
    for m in ENCODERS.meta(name)["modalities"]
]


def _labels(task, n):
    if isinstance(task, mmzoo.Regression):
        return np.linspace(-1, 1, n * task.units).reshape(n, task.units).astype("float32")
    if isinstance(task, mmzoo.MultiLabel):
        return (np.arange(n * task.num_labels).reshape(n, task.num_labels) % 3 == 0).astype("float32")
    if isinstance(task, mmzoo.Retrieval):
        return None
    return np.arange(n) % task.num_classes


def _encoder_case(encoder, modality):
    other = "features" if modality != "features" else "image"
    overrides = {modality: ENCODERS.meta(encoder).get("spec_options", {})}
    specs, x, n = small_inputs((modality, other), overrides=overrides)
    return specs, x, n, {modality: (encoder, SMALL_OPTIONS.get(encoder, {}))}


# ResNet50 and EfficientNet-B0 are `ApplicationEncoder` with another keras.applications constructor, like
# mobilenet_v3_small: their cases check the step, config and .keras copies, and leave the SavedModel export
# and the mixed-precision step (the same ApplicationEncoder code) to mobilenet_v3_small's case. Exporting
# their 50-layer graphs (traced 5 times) and rebuilding them under float16 took 67-81 s per case here;
# test_application_backbone_train_freeze_and_weights_file trains all three.
LARGE_BACKBONES = ("resnet50", "efficientnet_b0")


# An encoder that takes several modalities is exported, and stepped under mixed precision, with the first one
# it lists: on the others the same layer sits behind another spec's front end (vocabulary, log-mel,
# normalisation), and every front end is exported and stepped under mixed precision by test_every_model (text,
# image, audio and features inputs). An export costs ~5 s here.
def _exports(encoder, modality):
    return encoder not in LARGE_BACKBONES + VIDEO_EXPORTED and modality == ENCODERS.meta(encoder)["modalities"][0]


# The spatio-temporal video encoders are exported (SavedModel, TFLite, ONNX, with parity) by
# tests/video/test_video_export.py; here they make the step, config, .keras and mixed-precision checks.
# frame_rnn is frame_pool's FrameEncoder (exported by its case) with the gru encoder (exported by its own):
# it makes the step, config and .keras checks only.
VIDEO_EXPORTED = ("c3d", "r2plus1d", "frame_rnn")


@pytest.mark.parametrize("encoder,modality", ENCODER_CASES)
def test_every_encoder(encoder, modality, tmp_path):
    specs, x, n, encoders = _encoder_case(encoder, modality)
    task = mmzoo.Classification(num_classes=2)
    model = mmzoo.build_model("early_fusion", specs, task, encoders=encoders)
    assert model.get_layer(f"{modality}_encoder").__class__ is ENCODERS.get(encoder)
    full = _exports(encoder, modality)
    run_model_test(model, x, _labels(task, n), str(tmp_path), savedmodel=full)
    if full or encoder in VIDEO_EXPORTED[:2]:
        run_mixed_precision_step(
            lambda: mmzoo.build_model("early_fusion", specs, task, encoders=encoders), x, _labels(task, n)
        )


FUSION_CASES = [f for f in FUSIONS.names() if FUSIONS.meta(f).get("inputs", "vectors") != "decisions"]
# Every fusion is some zoo model's fusion, and test_every_model exports every model: the fusion cases make
# the config and .keras round trips on other inputs and leave the SavedModel export (~5 s each) to it.
PRESET_OF = {MODELS.meta(m).get("fusion"): m for m in MODELS.names()}


def test_every_fusion_is_exported_through_a_zoo_model():
    assert sorted(set(FUSION_CASES) - set(PRESET_OF)) == []


@pytest.mark.parametrize("fusion", FUSION_CASES)
def test_every_fusion(fusion, tmp_path):
    specs, x, n = small_inputs(("image", "features", "text"))
    task = mmzoo.Classification(num_classes=3)
    sequences = FUSIONS.meta(fusion).get("inputs") == "sequences"
    encoders = {"image": ("cnn", SMALL_OPTIONS["cnn"]), "text": FAST_TEXT_ENCODER}

    model = mmzoo.build_model("early_fusion", specs, task, fusion=fusion, encoders=encoders, sequences=sequences)
    assert model.get_layer("early_fusion_fusion").__class__ is FUSIONS.get(fusion)
    run_model_test(model, x, _labels(task, n), str(tmp_path), savedmodel=False)  # see PRESET_OF
    # mixed_float16: test_fusion_vectors.py and test_fusion_attention.py train every fusion but concat under it,
    # with presence masks (which this case lacks); concat is every encoder case's fusion


TASKS = {
    "binary": mmzoo.Classification(num_classes=2),
    "multiclass": mmzoo.Classification(num_classes=5),
    "regression": mmzoo.Regression(units=1),
    "regression3": mmzoo.Regression(units=3),
    "multilabel": mmzoo.MultiLabel(num_labels=4, threshold=[0.5, 0.4, 0.5, 0.6]),
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task(task, tmp_path):
    specs, x, n = small_inputs(("text", "features"))
    model = mmzoo.build_model("early_fusion", specs, TASKS[task], encoders={"text": FAST_TEXT_ENCODER})
    run_model_test(model, x, _labels(TASKS[task], n), str(tmp_path))


# MulT builds a cross-modal transformer for every ordered pair of inputs: 12 for four inputs, 6 for three,
# through the same code; with four its case took 70 s here, five times any other model's.
MODEL_INPUTS = {"mult": ("text", "image", "audio")}


@pytest.mark.parametrize("name", mmzoo.list_models())
def test_every_model(name, tmp_path):
    meta = MODELS.meta(name)
    if meta.get("task") == "retrieval":
        specs, x, n = small_inputs(("image", "text"))
        task = mmzoo.Retrieval(embedding_dim=8)
    else:
        specs, x, n = small_inputs(MODEL_INPUTS.get(name, ("text", "image", "audio", "features")))
        task = mmzoo.Classification(num_classes=2)
    encoders = {s.name: (s.default_encoder, SMALL_OPTIONS.get(s.default_encoder, {})) for s in specs}
    encoders["text"] = FAST_TEXT_ENCODER

    def build(**options):
        return mmzoo.build_model(name, specs, task, encoders=encoders, **_small_fusion(name), **options)

    model = build()
    assert sorted(model.input) == sorted(s.name for s in specs)
    assert code_layers(model) == []  # no Lambda (or other code-carrying layer) anywhere in the zoo
    run_model_test(model, x, _labels(task, n), str(tmp_path))
    check_artifact(str(tmp_path / "model.keras"))  # the load inspector's allow-list admits every architecture
    run_mixed_precision_step(build, x, _labels(task, n))


# The presence inputs reach the SavedModel signature the same way for every model (test_every_model exports
# each architecture without them): one model per kind of fusion input is exported with them -- vectors
# (early_fusion, tfn), decisions (late_fusion), token sequences (transformer). Every model still makes the
# config and .keras round trips with presence inputs.
EXPORTED_WITH_PRESENCE = ("early_fusion", "late_fusion", "tfn", "transformer")


@pytest.mark.parametrize("name", [m for m in mmzoo.list_models() if MODELS.meta(m).get("task") != "retrieval"])
def test_every_model_with_missing_modalities(name, tmp_path):
    """Presence masks: a sample with a modality absent still predicts, the same after export."""
    specs, x, n = small_inputs(("image", "audio", "features"))
    task = mmzoo.Classification(num_classes=2)
    encoders = {s.name: (s.default_encoder, SMALL_OPTIONS.get(s.default_encoder, {})) for s in specs}
    model = mmzoo.build_model(
        name, specs, task, encoders=encoders, missing_modalities=True, modality_dropout=0.3, **_small_fusion(name)
    )
    y = _labels(task, n)
    if name == "early_fusion":  # MultimodalModel fills in absent flags, the same way for every architecture
        model.run_eagerly = True  # one step; graph-mode training is covered by the learning tests
        model.fit(x, y, epochs=1, verbose=0)  # presence flags default to all present
        model.run_eagerly = False
        np.testing.assert_allclose(
            model.predict(x, verbose=0),
            call_outputs(model, {**x, **{f"{k}_present": np.ones(n, bool) for k in ("image", "audio", "features")}}),
            atol=1e-5,
        )
    absent = {
        **x,
        "image_present": np.arange(n) % 2 == 0,
        "audio_present": np.ones(n, bool),
        "features_present": np.ones(n, bool),
    }
    scrambled = {
        **absent,
        "image": np.where(absent["image_present"][:, None, None, None], absent["image"], 255 - absent["image"]),
    }
    out = call_outputs(model, absent)
    assert np.all(np.isfinite(out))
    # the content of an absent modality does not matter
    np.testing.assert_allclose(call_outputs(model, scrambled), out, atol=1e-5)
    run_model_test(model, absent, y, str(tmp_path), savedmodel=name in EXPORTED_WITH_PRESENCE)
