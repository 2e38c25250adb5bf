"""Every registry entry: build, train a step, JSON config, .keras and SavedModel round trips."""

import numpy as np
import pytest

import mmzoo
from mmzoo.registry import ENCODERS
from mmzoo.testing import run_model_test
from tests.helpers import small_inputs

SMALL_OPTIONS = {"cnn": {"filters": (8, 16), "units": 16}, "bilstm": {"embedding_dim": 8, "units": 8},
                 "mlp": {"units": (16,)}}

ENCODER_CASES = [(name, m) for name in ENCODERS.names() for m in ENCODERS.meta(name)["modalities"]]


def _labels(task, n):
    if isinstance(task, mmzoo.Regression):
        return np.linspace(-1, 1, n * task.units).reshape(n, task.units).astype("float32")
    return np.arange(n) % task.num_classes


@pytest.mark.parametrize("encoder,modality", ENCODER_CASES, ids=[f"{e}-{m}" for e, m in ENCODER_CASES])
def test_every_encoder(encoder, modality, tmp_path):
    other = "features" if modality != "features" else "image"
    specs, x, n = small_inputs((modality, other))
    task = mmzoo.Classification(num_classes=2)
    model = mmzoo.build_model("early_fusion", specs, task, encoders={modality: (encoder, SMALL_OPTIONS.get(encoder, {}))})
    assert model.get_layer(f"{modality}_encoder").__class__ is ENCODERS.get(encoder)
    run_model_test(model, x, _labels(task, n), str(tmp_path))


@pytest.mark.parametrize("fusion", mmzoo.list_fusions())
def test_every_fusion(fusion, tmp_path):
    specs, x, n = small_inputs(("image", "features"))
    task = mmzoo.Classification(num_classes=3)
    model = mmzoo.build_model("early_fusion", specs, task, fusion=fusion,
                              encoders={"image": ("cnn", SMALL_OPTIONS["cnn"])})
    run_model_test(model, x, _labels(task, n), str(tmp_path))


TASKS = {"binary": mmzoo.Classification(num_classes=2), "multiclass": mmzoo.Classification(num_classes=5),
         "regression": mmzoo.Regression(units=1), "regression3": mmzoo.Regression(units=3)}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task(task, tmp_path):
    specs, x, n = small_inputs(("text", "features"))
    model = mmzoo.build_model("early_fusion", specs, TASKS[task], encoders={"text": ("bilstm", SMALL_OPTIONS["bilstm"])})
    run_model_test(model, x, _labels(TASKS[task], n), str(tmp_path))


@pytest.mark.parametrize("name", mmzoo.list_models())
def test_every_model_all_modalities(name, tmp_path):
    specs, x, n = small_inputs()
    task = mmzoo.Classification(num_classes=2)
    encoders = {s.name: (s.default_encoder, SMALL_OPTIONS[s.default_encoder]) for s in specs}
    model = mmzoo.build_model(name, specs, task, encoders=encoders)
    assert sorted(model.input) == ["audio", "features", "image", "text"]
    run_model_test(model, x, _labels(task, n), str(tmp_path))
