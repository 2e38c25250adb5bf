"""A dataset and an export format registered from outside the package work everywhere, with no other edit."""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import mmzoo
from tests import paths
from tests.helpers import run_cli

ROOT = paths.ROOT


@pytest.fixture(scope="module", autouse=True)
def plugin():
    """Registers toy_xor and weights_json for this module's tests only (other tests see the built-ins)."""
    import importlib

    from mmzoo.registry import restored_registries

    with restored_registries():
        name = "tests.house.extension_plugin"
        # a second import of an imported module runs nothing: reload it to register again after a restore
        module = importlib.reload(sys.modules[name]) if name in sys.modules else importlib.import_module(name)
        yield module


def _weights_match(path, model):
    saved = json.loads(pathlib.Path(path).read_text())
    weights = model.get_weights()
    assert len(saved) == len(weights)
    for a, b in zip(saved, weights):
        np.testing.assert_allclose(np.asarray(a, dtype="float32"), b, rtol=0, atol=0)


def test_registries_list_the_plugin():
    from mmzoo.registry import list_datasets, list_export_formats

    assert "toy_xor" in list_datasets() and "weights_json" in list_export_formats()
    assert {"keras", "savedmodel", "tflite", "onnx"} <= set(list_export_formats())


def test_python_api(tmp_path):
    splits = mmzoo.datasets.load("toy_xor", batch_size=64, seed=1)
    assert splits.task.class_names == ["same", "different"]
    model = mmzoo.build_model("early_fusion", splits.inputs, splits.task)
    model.fit(splits.train, epochs=1, verbose=0)
    path = mmzoo.export(model, tmp_path / "m.weights.json", format="weights_json", indent=1)
    _weights_match(path, model)
    from mmzoo.artifacts.runtime import artifact_format

    assert artifact_format(str(path)) == "weights_json"
    with pytest.raises(ValueError, match=r"opset=3 applies to format='onnx' only; received format='weights_json'"):
        mmzoo.export(model, tmp_path / "n.weights.json", format="weights_json", opset=3)
    with pytest.raises(ValueError, match=r"path must end with '\.weights\.json'"):
        mmzoo.export(model, tmp_path / "m.json", format="weights_json")
    with pytest.raises(ValueError, match="Unknown dataset 'toy'.*Known datasets: .*toy_xor"):
        mmzoo.datasets.load("toy")


def test_yaml_config_and_cli_flags(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "toy.yaml").write_text(
        "dataset: {name: toy_xor, options: {noise: 0.05}}\n"
        "architecture: {name: early_fusion}\n"
        "training: {epochs: 2, batch_size: 64}\n"
        "export: {output: runs, run_name: yaml, formats: [weights_json]}\n"
    )
    code, out, err = run_cli("train", "--config", "toy.yaml", capsys=capsys)
    assert code == 0, err
    run = tmp_path / "runs" / "yaml"
    _weights_match(run / "model.weights.json", keras.saving.load_model(run / "model.keras"))
    # the same through flags, naming the plugin as a user would
    code, out, err = run_cli(
        "--plugin",
        "tests.house.extension_plugin",
        "train",
        "--dataset",
        "toy_xor",
        "--epochs",
        "1",
        "--output",
        "runs",
        "--run-name",
        "flags",
        "--set",
        "export.formats=[weights_json]",
        capsys=capsys,
    )
    assert code == 0, err
    assert (tmp_path / "runs" / "flags" / "model.weights.json").is_file()
    (tmp_path / "bad.yaml").write_text("dataset: {name: toy_xor}\nexport: {formats: [weights_jsn]}\n")
    code, out, err = run_cli("train", "--config", "bad.yaml", capsys=capsys)
    assert code != 0 and "export.formats[0]: expected a registered export format" in err


def test_command_line_in_a_fresh_process():
    """Only `--plugin` makes the extension known to a new interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    listed = subprocess.run(
        [sys.executable, "-m", "mmzoo", "--plugin", "tests.house.extension_plugin", "list", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    out = json.loads(listed.stdout)
    assert "toy_xor" in out["datasets"] and "weights_json" in out["export_formats"]
    plain = subprocess.run(
        [sys.executable, "-m", "mmzoo", "list", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert "toy_xor" not in json.loads(plain.stdout)["datasets"]
