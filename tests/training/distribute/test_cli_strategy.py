"""`python -m mmzoo train --strategy ... --precision ...`: flags reach training; bad ones fail before any work."""

import json
import os

import pytest

import mmzoo
from mmzoo.cli.commands import main


def test_tpu_without_a_tpu_exits_before_loading_anything(tmp_path, monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(SystemExit) as error:
        main(["train", "--strategy", "tpu", "--output", str(tmp_path)])
    assert str(error.value).startswith("mmzoo train: --strategy tpu: strategy='tpu' found no TPU")
    assert os.listdir(tmp_path) == []  # no run folder, no data loaded


@pytest.mark.parametrize("flag, value", [("--strategy", "gpu"), ("--precision", "float16")])
def test_unknown_values_are_refused_naming_the_flag(flag, value, capsys):
    with pytest.raises(SystemExit):
        main(["train", flag, value])
    assert f"argument {flag}: invalid choice: '{value}'" in capsys.readouterr().err


def test_one_device_and_mixed_bfloat16_train_and_save_a_float32_model(tmp_path):
    code = main(
        [
            "train",
            "--strategy",
            "one_device",
            "--precision",
            "mixed_bfloat16",
            "--epochs",
            "1",
            "--limit-batches",
            "1",
            "--batch-size",
            "16",
            "--output",
            str(tmp_path),
            "--run-name",
            "run",
        ]
    )
    assert code == 0
    run = tmp_path / "run"
    config = json.loads((run / "config.json").read_text())
    assert (config["strategy"], config["precision"]) == ("one_device", "mixed_bfloat16")
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert len(history["loss"]) == 1 and history["loss"][0] > 0
    model = mmzoo.load(str(run / "model.keras"))
    assert model.dtype_policy.name == "float32"  # trained under bfloat16, saved as the float32 model
