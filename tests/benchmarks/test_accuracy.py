"""`python -m benchmarks.accuracy` end to end on a small subset, and its report arithmetic."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.accuracy import report as accuracy_report
from benchmarks.accuracy import runner as accuracy
from tests import paths

ROOT = paths.ROOT
DUMMY = paths.DUMMY
DATA_DIR = os.environ.get("MMZOO_DATA")
HAS_DATA = bool(DATA_DIR) and Path(DATA_DIR).is_dir()


def _run(tmp_path, data_dir, *extra, name="mosi", in_process=False):
    """`python -m benchmarks.accuracy` on one seed of two epochs; `in_process`: its `main` in this process (once
    the command itself has run: a second interpreter would only import TensorFlow again)."""
    arguments = [
        "--datasets",
        "mosi",
        "--seeds",
        "1",
        "--epochs",
        "2",
        "--data-dir",
        str(data_dir),
        "--results-dir",
        str(tmp_path / "results"),
        "--report",
        str(tmp_path / "RESULTS.md"),
        "--plot",
        str(tmp_path / "accuracy.png"),
        *extra,
    ]
    if in_process:
        assert accuracy.main(arguments) == 0
    else:
        command = [sys.executable, "-m", "benchmarks.accuracy", *arguments]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert done.returncode == 0, done.stderr[-3000:]
    with open(tmp_path / "results" / f"{name}.json") as f:
        return json.load(f)


@pytest.mark.slow
def test_benchmark_runs_end_to_end_and_a_variant_lands_apart(tmp_path):
    """Fusion + unimodal + ridge rows land in the JSON, the report and the PNG; a variant in its own file."""
    data_dir = DATA_DIR if HAS_DATA else DUMMY
    models = ["--models", "early_fusion", "text only", "ridge (text)"]
    record = _run(tmp_path, data_dir, *models)
    runs = {r["model"]: r for r in record["runs"]}
    assert sorted(runs) == ["early_fusion", "ridge (text)", "text only"]
    assert runs["early_fusion"]["kind"] == "fusion" and runs["text only"]["inputs"] == ["text"]
    assert runs["early_fusion"]["params"] > runs["text only"]["params"] > 0
    for run in runs.values():
        assert set(record["metrics"]) <= set(run["metrics"])
        assert all(np.isfinite(v) for v in run["metrics"].values())
    report = (tmp_path / "RESULTS.md").read_text()
    assert "| `early_fusion` | fusion | 1 |" in report and "HFFN" in report and "Targets:" in report
    assert (tmp_path / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    protocol = (tmp_path / "results" / "mosi.json").read_text()
    variant = _run(
        tmp_path,
        data_dir,
        "--models",
        "text only",
        "--variant",
        "mse",
        "--set",
        "loss=mse",
        "weight_decay=0.1",
        name="mosi@mse",
        in_process=True,
    )
    assert (tmp_path / "results" / "mosi.json").read_text() == protocol  # the protocol's runs untouched
    assert variant["variant"] == "mse" and variant["overrides"] == {"loss": "mse", "weight_decay": 0.1}
    assert variant["settings"]["loss"] == "mse" and variant["settings"]["weight_decay"] == 0.1
    trained = variant["runs"][0]["metrics"]["mae"]
    assert trained != pytest.approx(runs["text only"]["metrics"]["mae"], abs=1e-6)  # the changes were applied
    report = (tmp_path / "RESULTS.md").read_text()
    assert (
        "Also tried" in report
        and '| `mse` | `loss="mse", weight_decay=0.1` | best unimodal `text only` | 1 |' in report
    )


@pytest.mark.skipif(not HAS_DATA, reason="real data not available: set MMZOO_DATA to the shared data folder")
def test_ridge_reference_reproduces_the_published_text_baseline():
    """PROVENANCE.md: a ridge regression on the text vector gives Acc-2 79.0%, MAE 0.877, Corr 0.658."""
    metrics = accuracy.ridge_text(accuracy.load_splits("mosi", 0, DATA_DIR))["metrics"]
    assert metrics["num_examples"] == 752
    assert abs(metrics["acc2_has0"] - 0.790) <= 0.005
    assert abs(metrics["mae"] - 0.877) <= 0.005
    assert abs(metrics["corr"] - 0.658) <= 0.005


def _record(dataset, runs, primary="accuracy", metrics=("accuracy",)):
    return {
        "dataset": dataset,
        "primary": primary,
        "metrics": list(metrics),
        "references": [],
        "runs": [
            {"model": m, "kind": k, "seed": s, "params": 10, "train_seconds": 1.0, "metrics": {primary: v}}
            for m, k, s, v in runs
        ],
    }


def test_summary_is_mean_and_sample_std_and_targets_are_checked():
    record = _record(
        "avmnist_hard",
        [
            ("tfn", "fusion", 0, 0.80),
            ("tfn", "fusion", 1, 0.90),
            ("digit only", "unimodal", 0, 0.70),
            ("digit only", "unimodal", 1, 0.74),
            ("voice only", "unimodal", 0, 0.50),
        ],
    )
    rows = {r["model"]: r for r in accuracy_report.summarize(record)}
    mean, std = rows["tfn"]["stats"]["accuracy"]
    assert mean == pytest.approx(0.85) and std == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert rows["digit only"]["seeds"] == [0, 1]
    ((text, met),) = accuracy_report.targets("avmnist_hard", list(rows.values()))
    assert met and "+13.0 points" in text
    record["runs"][1]["metrics"]["accuracy"] = 0.70  # tfn mean 0.75: only 3 points above 0.72
    ((text, met),) = accuracy_report.targets("avmnist_hard", accuracy_report.summarize(record))
    assert not met and "+3.0 points" in text


def test_mosi_targets_state_the_gap():
    runs = [
        ("gmu", "fusion", 0, {"acc2_has0": 0.79, "mae": 0.90, "corr": 0.66}),
        ("gmu", "fusion", 1, {"acc2_has0": 0.80, "mae": 0.86, "corr": 0.64}),
        ("tfn", "fusion", 0, {"acc2_has0": 0.70, "mae": 0.50, "corr": 0.90}),
        ("ridge (text)", "baseline", 0, {"acc2_has0": 0.79, "mae": 0.877, "corr": 0.658}),
    ]
    record = {
        "dataset": "mosi",
        "primary": "acc2_has0",
        "metrics": ["acc2_has0", "mae", "corr"],
        "runs": [
            {"model": m, "kind": k, "seed": s, "params": 1, "train_seconds": 1.0, "metrics": v} for m, k, s, v in runs
        ],
    }
    checks = accuracy_report.targets("mosi", accuracy_report.summarize(record))
    assert checks == [  # the best fusion by Acc-2 (gmu, mean 79.5%), not the best on each metric (tfn)
        ("best fusion Acc-2 >= 80.5% (HFFN 80.45%): `gmu` 79.5% (-1.0 points)", False),
        ("`gmu` beats the text-only ridge on mae: 0.880 vs 0.877 (+0.003)", False),
        ("`gmu` beats the text-only ridge on corr: 0.650 vs 0.658 (-0.008)", False),
    ]
    for run in record["runs"][:2]:
        run["metrics"].update(acc2_has0=0.81, mae=0.80, corr=0.70)
    assert [met for _, met in accuracy_report.targets("mosi", accuracy_report.summarize(record))] == [True] * 3


def test_clean_target_flags_a_fusion_model_below_the_best_single_modality():
    record = _record(
        "emoji",
        [
            ("gmu", "fusion", 0, 0.95),
            ("gmu", "fusion", 1, 0.96),
            ("tfn", "fusion", 0, 0.80),
            ("tfn", "fusion", 1, 0.81),
            ("name only", "unimodal", 0, 0.94),
            ("name only", "unimodal", 1, 0.95),
        ],
    )
    checks = accuracy_report.targets("emoji", accuracy_report.summarize(record))
    assert [(("`tfn`" in text), met) for text, met in checks] == [(True, False)]
    record["runs"][2:4] = [
        {**record["runs"][2], "metrics": {"accuracy": 0.92}},
        {**record["runs"][3], "metrics": {"accuracy": 0.96}},
    ]  # tfn 94.0 ± 2.8: within noise
    ((text, met),) = accuracy_report.targets("emoji", accuracy_report.summarize(record))
    assert met and text.endswith("; below its mean: `tfn` -0.5 (std 2.8) points")


def test_a_rerun_replaces_the_same_model_and_seed_and_keeps_the_rest(tmp_path):
    def runs(*rows):
        return [{"model": m, "seed": s, "metrics": {"mae": v}} for m, s, v in rows]

    accuracy.merge(tmp_path, "mosi", runs(("tfn", 0, 1.0), ("tfn", 1, 2.0), ("gmu", 0, 3.0)), {"epochs": 1})
    path = accuracy.merge(tmp_path, "mosi", runs(("tfn", 1, 5.0)), {"epochs": 2})
    with open(path) as f:
        record = json.load(f)
    assert [(r["model"], r["seed"], r["metrics"]["mae"]) for r in record["runs"]] == [
        ("tfn", 0, 1.0),
        ("gmu", 0, 3.0),
        ("tfn", 1, 5.0),
    ]
    assert record["settings"] == {"epochs": 2} and "variant" not in record
    assert not list(tmp_path.glob("*.tmp"))


def test_variant_overrides_are_parsed_and_unknown_keys_refused():
    parsed = accuracy.parse_overrides(["loss=mse", "epochs=3", 'encoders=["mlp", {"units": [32]}]'])
    assert parsed == {"loss": "mse", "epochs": 3, "encoders": ["mlp", {"units": [32]}]}
    cfg = accuracy.configuration("mosi", parsed)
    assert cfg["epochs"] == 3 and accuracy.DATASETS["mosi"]["epochs"] == 40  # a copy, not the protocol
    assert accuracy._encoders(cfg, [type("Spec", (), {"name": "text"})()]) == {"text": ("mlp", {"units": [32]})}
    with pytest.raises(SystemExit, match="primary"):
        accuracy.configuration("mosi", {"primary": "mae"})
    with pytest.raises(SystemExit, match="loss=hinge"):
        accuracy.configuration("mosi", {"loss": "hinge"})
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        accuracy.parse_overrides(["loss"])


def test_a_variant_name_keeps_its_changes(tmp_path):
    accuracy.merge(tmp_path, "mosi", [{"model": "tfn", "seed": 0}], {}, variant="v", overrides={"loss": "mse"})
    accuracy.check_variant(tmp_path, "mosi", "v", {"loss": "mse"})  # more seeds of the same variant: fine
    accuracy.check_variant(tmp_path, "mosi", "w", {"loss": "huber"})  # a new name: fine
    with pytest.raises(SystemExit, match="holds variant 'v'"):
        accuracy.check_variant(tmp_path, "mosi", "v", {"loss": "huber"})


def test_variants_are_reported_apart_from_the_protocol(tmp_path):
    protocol = _record("emoji", [("tfn", "fusion", 0, 0.80), ("name only", "unimodal", 0, 0.70)])
    variant = {
        **_record(
            "emoji", [("tfn", "fusion", 0, 0.60), ("gmu", "fusion", 0, 0.65), ("name only", "unimodal", 0, 0.50)]
        ),
        "variant": "tiny-lr",
        "overrides": {"learning_rate": 1e-5},
    }
    for name, record in (("emoji", protocol), ("emoji@tiny-lr", variant)):
        (tmp_path / f"{name}.json").write_text(json.dumps(record))
    assert list(accuracy_report.load(tmp_path)) == ["emoji"]
    assert accuracy_report.load(tmp_path)["emoji"]["runs"] == protocol["runs"]
    checks = accuracy_report.write(tmp_path, tmp_path / "R.md", tmp_path / "a.png")
    assert checks == [
        (
            "emoji",
            "every fusion model >= the best single modality (`name only` 70.0%) within noise (2 std, at least 1 point)",
            True,
        )
    ]  # the variant's 60% tfn is not checked
    report = (tmp_path / "R.md").read_text()
    assert "| `tiny-lr` | `learning_rate=1e-05` | best fusion `gmu` | 1 | 65.0 ± 0.0 |" in report
    assert "| `tiny-lr` | `learning_rate=1e-05` | best unimodal `name only` | 1 | 50.0 ± 0.0 |" in report
    # the with/without column: the same row under the protocol (none for gmu, which the protocol lacks)
    assert "| best fusion `gmu` | 1 | 65.0 ± 0.0 | - |" in report
    assert "| best unimodal `name only` | 1 | 50.0 ± 0.0 | 70.0 ± 0.0 (1 seeds) |" in report


def test_moving_mnist_rows_load_the_protocols_clips_and_check_the_hard_target(monkeypatch, tmp_path):
    """Both Moving MNIST + FSDD protocols load (here from the dummy data) and get AV-MNIST's targets."""
    monkeypatch.setenv("MMZOO_CACHE", str(tmp_path))
    splits = accuracy.load_splits("moving_mnist_fsdd_hard", 0, DUMMY)
    loader = accuracy.DATASETS["moving_mnist_fsdd_hard"]["loader_options"]
    clip, voice = splits.inputs
    assert clip.shape == (loader["frames"], loader["frame_size"], loader["frame_size"], 1)
    assert voice.num_mel_bins == loader["audio_options"]["num_mel_bins"]
    rows = [r[0] for r in accuracy.candidates(splits.inputs)]
    assert rows[-2:] == ["clip only", "voice only"] and "voice only (transformer)" not in rows  # only when named
    named = accuracy.candidates(splits.inputs, ["voice only (transformer)", "gmu"])
    assert named == [("gmu", "gmu", ["clip", "voice"]), ("voice only (transformer)", "transformer", ["voice"])]
    record = _record(
        "moving_mnist_fsdd_hard",
        [("gmu", "fusion", 0, 0.50), ("clip only", "unimodal", 0, 0.30), ("voice only", "unimodal", 0, 0.42)],
    )
    ((text, met),) = accuracy_report.targets("moving_mnist_fsdd_hard", accuracy_report.summarize(record))
    assert met and "`voice only`" in text and "+8.0 points" in text
    record["dataset"] = "moving_mnist_fsdd"
    ((text, met),) = accuracy_report.targets("moving_mnist_fsdd", accuracy_report.summarize(record))
    assert met and text.startswith("every fusion model >= the best single modality (`voice only` 42.0%)")
