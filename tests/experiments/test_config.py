"""Experiment configs: strict parsing, --set overrides, flags as overrides, and a saved config repeating its run."""

import argparse
import glob
import json
import os

import keras
import numpy as np
import pytest
import yaml

import mmzoo
from mmzoo.cli import commands as cli
from mmzoo.experiments.config import (
    ConfigError,
    ExperimentConfig,
    apply_overrides,
    config_from_args,
    dump_config,
    from_dict,
    load_config,
    parse_overrides,
)
from mmzoo.experiments.runner import build_model_from_config, check_config, export_formats, load_data
from tests import paths

ROOT = str(paths.ROOT)

# a model small enough to train in a second: both AV-MNIST inputs, 2 batches of 16 per split
TINY = {
    "dataset": {"limit_batches": 2},
    "encoders": {
        "digit": {"name": "cnn", "options": {"filters": [8], "units": 16}},
        "voice": {"name": "cnn", "options": {"filters": [8], "units": 16}},
    },
    "architecture": {"options": {"head_units": [16]}},
    "training": {"epochs": 2, "batch_size": 16},
}


def _error(function, *args, **kwargs):
    with pytest.raises(ConfigError) as info:
        function(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"training": {"epochs": "3"}}, "training.epochs: expected int, got str ('3')"),
        ({"training": {"epochs": True}}, "training.epochs: expected int, got bool"),
        ({"training": {"learning_rate": "fast"}}, "training.learning_rate: expected float, got str ('fast')"),
        ({"training": {"epoch": 3}}, "training.epoch: unknown key. Did you mean 'epochs'?"),
        ({"trainig": {}}, "trainig: unknown key. Did you mean 'training'?"),
        ({"training": {"lr_schedule": "step"}}, "training.lr_schedule: expected one of 'cosine', 'constant'"),
        ({"training": {"epochs": 0}}, "training.epochs: must be at least 1; received 0"),
        ({"dataset": {"limit_batches": 0}}, "dataset.limit_batches: must be at least 1"),
        ({"dataset": ["avmnist"]}, "dataset: expected a mapping, got list"),
        ({"encoders": {"voice": {"nme": "gru"}}}, "encoders.voice.nme: unknown key. Did you mean 'name'?"),
        (
            {"export": {"formats": ["tflite", "pdf"]}},
            "export.formats[1]: expected a registered export format ('keras', 'onnx', 'savedmodel', 'tflite'); received 'pdf'",
        ),
        ({"inputs": {"names": []}}, "inputs.names: name at least one input"),
        ({"search": {"space": {}}}, "search.space: map at least one dotted config key"),
        (
            {"search": {"space": {"training.learning_rate": {"min": 0.0, "max": 0.1, "sampling": "log"}}}},
            "search.space[training.learning_rate]: log sampling needs min > 0",
        ),
        (
            {"search": {"space": {"training.epochs": {"type": "int", "min": 1, "max": 2.5}}}},
            "search.space[training.epochs]: type int needs int min, max and step",
        ),
        (
            {"search": {"space": {"training.batch_size": {"min": "16", "max": 64}}}},
            "search.space[training.batch_size].min: expected int or float or null, got str ('16')",
        ),
    ],
)
def test_bad_values_are_errors_naming_the_key_path(data, message):
    assert _error(from_dict, data).startswith(message)


def test_defaults_shorthands_and_yaml_floats():
    assert from_dict(None) == ExperimentConfig() == from_dict({})
    config = from_dict(
        {
            "architecture": "gmu",
            "fusion": "concat",
            "encoders": {"voice": "gru"},
            "training": {"learning_rate": 1},
            "search": {"space": {"seed": [0, 1]}},
        }
    )
    assert (config.architecture.name, config.fusion.name, config.encoders["voice"].name) == ("gmu", "concat", "gru")
    assert config.training.learning_rate == 1.0 and isinstance(config.training.learning_rate, float)
    assert config.search.space["seed"].choices == [0, 1] and config.search.space["seed"].kind == "choice"
    # `1e-3` is a float here (PyYAML's YAML 1.1 rules would read it as the string "1e-3"); quoted stays a string
    assert parse_overrides(["training.learning_rate=1e-3", "a=3", "b=[64, 32]", "c=", "d='1e-3'", "e=x=y"]) == {
        "training.learning_rate": 0.001,
        "a": 3,
        "b": [64, 32],
        "c": None,
        "d": "1e-3",
        "e": "x=y",
    }


def test_yaml_is_loaded_safely(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f'seed: !!python/object/apply:os.system ["touch {marker}"]\n')
    assert "evil.yaml: not valid YAML" in _error(load_config, str(path))
    assert not marker.exists()


def test_file_errors_name_the_file(tmp_path):
    assert _error(load_config, str(tmp_path / "missing.yaml")).startswith(
        f"{tmp_path / 'missing.yaml'}: cannot read the config file"
    )
    (tmp_path / "broken.yaml").write_text("training: {epochs: 3\n")
    assert "broken.yaml: not valid YAML" in _error(load_config, str(tmp_path / "broken.yaml"))
    (tmp_path / "list.yaml").write_text("- 1\n")
    assert "list.yaml: expected a mapping of sections" in _error(load_config, str(tmp_path / "list.yaml"))
    (tmp_path / "typo.yaml").write_text("training:\n  epochs: eight\n")
    assert (
        _error(load_config, str(tmp_path / "typo.yaml"))
        == f"{tmp_path / 'typo.yaml'}: training.epochs: expected int, got str ('eight')"
    )


def test_overrides_are_type_checked_and_leave_the_original_alone():
    base = ExperimentConfig()
    config = apply_overrides(
        base,
        [
            "training.epochs=3",
            "encoders.voice=gru",
            "encoders.voice.options.units=8",
            "architecture.options.head_units=[32]",
            "dataset.data_dir=null",
        ],
    )
    assert config.training.epochs == 3 and base.training.epochs == 8
    assert (config.encoders["voice"].name, config.encoders["voice"].options) == ("gru", {"units": 8})
    assert config.architecture.options == {"head_units": [32]}
    assert (
        _error(apply_overrides, base, ["training.epochs=three"]) == "training.epochs: expected int, got str ('three')"
    )
    assert _error(apply_overrides, base, ["training.epochz=3"]).startswith("training.epochz: unknown key")
    assert _error(apply_overrides, base, ["training.epochs.max=3"]).startswith(
        "training.epochs.max: training.epochs is int 8, not a mapping"
    )
    assert _error(parse_overrides, ["training.epochs"]).startswith("--set 'training.epochs': expected KEY=VALUE")


def test_saved_yaml_reads_back_equal_for_every_example_config():
    paths = sorted(glob.glob(os.path.join(ROOT, "configs", "*.yaml")))
    assert [os.path.basename(p) for p in paths][:1] == ["avmnist_sample.yaml"]
    for path in paths:
        config = check_config(load_config(path))
        assert config.search is not None, f"{path} should show a search: section"
        assert from_dict(yaml.safe_load(dump_config(config))) == config  # plain safe_load reads what we write


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "dataset.name=nope",
            "dataset.name: Unknown dataset 'nope'. Known datasets: avmnist, avmnist_hard, avmnist_sample, emoji, mosi, moving_mnist_fsdd, moving_mnist_fsdd_hard.",
        ),
        ("architecture.name=nope", "architecture.name: Unknown model 'nope'. Known models: "),
        ("encoders.voice=nope", "encoders.voice.name: Unknown encoder 'nope'. Known encoders: "),
        ("fusion.name=nope", "fusion.name: Unknown fusion 'nope'. Known fusions: "),
        (
            "dataset.options.variant=hard",
            "dataset.options.variant: dataset 'avmnist_sample' takes no such option; it takes cache, path",
        ),
        ("dataset.options.batch_size=8", "dataset.options.batch_size: set by training.batch_size"),
        ("architecture.options.learning_rate=0.1", "architecture.options.learning_rate: set training.learning_rate"),
        ("search.space.seed=[0, 1]", None),
    ],
)
def test_names_are_checked_before_any_work(override, message):
    config = apply_overrides(ExperimentConfig(), [override])
    if message is None:
        assert check_config(config) is config
    else:
        assert _error(check_config, config).startswith(message)
    bad_choice = from_dict({"search": {"space": {"architecture.name": ["gmu", "nope"]}}})
    assert _error(check_config, bad_choice).startswith(
        "search.space[architecture.name]: value 'nope': architecture.name: Unknown model 'nope'"
    )


def test_inputs_task_and_encoder_names_are_checked_against_the_dataset():
    for override, message in [
        (
            "inputs.names=[digit, vioce]",
            "inputs.names: unknown input 'vioce'; dataset 'avmnist_sample' has inputs digit, voice",
        ),
        ("encoders.vioce=gru", "encoders: unknown input 'vioce'"),
        ("inputs.options.voice.mel_bins=40", "inputs.options.voice.mel_bins: Audio takes no option 'mel_bins'"),
        ("task.options.classes=3", "task.options.classes: Classification takes no option 'classes'"),
    ]:
        assert _error(load_data, apply_overrides(from_dict(TINY), [override])).startswith(message)
    splits = load_data(apply_overrides(from_dict(TINY), ["inputs.names=[voice]", "inputs.options.voice.frontend=mfcc"]))
    assert [(s.name, s.frontend) for s in splits.inputs] == [("voice", "mfcc")]
    features, _ = next(iter(splits.train))
    assert sorted(features) == ["voice"] and int(splits.train.cardinality()) == 2


def _namespace(argv):
    """Parsed `train` arguments, as the CLI would hand them to cmd_train."""
    captured = {}
    original = cli.cmd_train
    cli.cmd_train = lambda args: captured.setdefault("args", args) and 0
    try:
        cli.main(["train", *argv])
    finally:
        cli.cmd_train = original
    assert isinstance(captured["args"], argparse.Namespace)
    return captured["args"]


def test_flags_are_overrides_of_config_fields(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text("architecture: gmu\ntraining: {epochs: 5, batch_size: 32, keep_checkpoints: true}\n")
    args = _namespace(["--config", str(path), "--epochs", "3", "--set", "training.batch_size=8"])
    config = config_from_args(args)
    assert (config.architecture.name, config.training.epochs, config.training.batch_size) == ("gmu", 3, 8)
    assert config.training.keep_checkpoints is True  # a flag left out does not override the file
    assert (args.model, args.epochs, args.batch_size, args.keep_checkpoints) == ("gmu", 3, 8, True)
    # no file: the flags' old defaults are the config defaults
    args = _namespace([])
    config = config_from_args(args)
    assert config == ExperimentConfig()
    assert (args.model, args.dataset, args.epochs, args.batch_size, args.learning_rate, args.seed, args.output) == (
        "early_fusion",
        "avmnist_sample",
        8,
        64,
        1e-3,
        0,
        "saved_models",
    )
    # --set goes last; flag errors name the flag
    assert config_from_args(_namespace(["--epochs", "3", "--set", "training.epochs=4"])).training.epochs == 4
    assert _error(config_from_args, _namespace(["--limit-batches", "0"])).startswith(
        "--limit-batches: dataset.limit_batches: must be at least 1"
    )
    # --precision (training.precision): a flag left out (None) keeps the file's value, which args then carry
    args = argparse.Namespace(config=None, overrides=["training.precision=mixed_bfloat16"], precision=None)
    assert config_from_args(args).training.precision == args.precision == "mixed_bfloat16"
    assert _error(config_from_args, argparse.Namespace(config=None, overrides=[], precision="fp8")).startswith(
        "--precision: training.precision: expected one of 'auto', 'float32', 'mixed_float16', 'mixed_bfloat16' or null"
    )


def test_cli_errors_exit_with_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv, message in [
        (["--set", "training.epochs=three"], "mmzoo train: training.epochs: expected int, got str ('three')"),
        (["--config", "nope.yaml"], "mmzoo train: nope.yaml: cannot read the config file"),
        (["--set", "encoders.vioce=gru", "--run-name", "r"], "mmzoo train: encoders: unknown input 'vioce'"),
    ]:
        with pytest.raises(SystemExit) as info:
            cli.main(["train", *argv])
        assert str(info.value).startswith(message)
    assert not (tmp_path / "saved_models" / "r").exists()  # no run folder left behind


def _weights(run):
    return keras.saving.load_model(str(run / "model.keras")).get_weights()


def test_saved_config_repeats_the_run_exactly(tmp_path, monkeypatch):
    """Flags + --set the first time; the saved config.yaml alone the second: same weights and metrics."""
    monkeypatch.chdir(tmp_path)
    assert (
        cli.main(
            [
                "train",
                "--epochs",
                "2",
                "--batch-size",
                "16",
                "--limit-batches",
                "2",
                "--seed",
                "3",
                "--output",
                "runs",
                "--run-name",
                "first",
                "--learning-rate",
                "3e-3",
                "--set",
                "encoders.digit={name: cnn, options: {filters: [8], units: 16}}",
                "--set",
                "encoders.voice={name: cnn, options: {filters: [8], units: 16}}",
                "--set",
                "architecture.options.head_units=[16]",
            ]
        )
        == 0
    )
    first = tmp_path / "runs" / "first"
    saved = load_config(str(first / "config.yaml"))
    assert saved.training.epochs == 2 and saved.seed == 3 and saved.training.learning_rate == 3e-3
    assert saved.encoders["voice"].options == {"filters": [8], "units": 16}
    assert json.loads((first / "config.json").read_text())["model"] == "early_fusion"  # the flags, as before

    assert cli.main(["train", "--config", str(first / "config.yaml"), "--run-name", "second"]) == 0
    second = tmp_path / "runs" / "second"
    assert load_config(str(second / "config.yaml")) == apply_overrides(saved, ["export.run_name=second"])
    metrics = [json.loads((run / "metrics.json").read_text())["metrics"]["test"] for run in (first, second)]
    assert metrics[0] == metrics[1]
    for a, b in zip(_weights(first), _weights(second), strict=True):
        assert np.array_equal(a, b)


def test_extra_export_formats(tmp_path):
    model = mmzoo.build_model(
        "early_fusion", [mmzoo.Features("x", shape=(3,), normalize=False)], mmzoo.Classification(2), head_units=(4,)
    )
    paths = export_formats(model, str(tmp_path), ["tflite"])
    assert paths == {"tflite": str(tmp_path / "model.tflite")}
    assert (tmp_path / "model.tflite").read_bytes()[4:8] == b"TFL3"


def test_the_seed_decides_the_initial_weights():
    config = from_dict(TINY)
    splits = load_data(config)
    weights = [
        build_model_from_config(apply_overrides(config, [f"seed={seed}"]), splits).get_weights() for seed in (3, 3, 4)
    ]
    assert all(np.array_equal(a, b) for a, b in zip(weights[0], weights[1]))
    assert not all(np.array_equal(a, b) for a, b in zip(weights[0], weights[2]))
    assert mmzoo.load_config is load_config
