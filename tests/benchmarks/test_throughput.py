"""`python -m benchmarks.throughput` end to end in its tiny configuration (no timing assertions), so it cannot rot."""

import importlib.util
import json
import subprocess
import sys

import pytest

from benchmarks.throughput import harness
from benchmarks.throughput import report as throughput_report
from tests import paths

ROOT = paths.ROOT
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _run(tmp_path, *extra):
    command = [
        sys.executable,
        "-m",
        "benchmarks.throughput",
        "--tiny",
        "--models",
        "early_fusion",
        "--modalities",
        "image",
        "--output",
        str(tmp_path / "out"),
        "--report",
        str(tmp_path / "PERFORMANCE.md"),
        *extra,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "FAILED" not in done.stderr, done.stderr[-4000:]
    with open(tmp_path / "out" / "throughput.json") as f:
        return json.load(f), (tmp_path / "PERFORMANCE.md").read_text(), done.stderr


def _positive(entry, key="samples_per_s"):
    return entry.get(key, 0) > 0 and entry.get("peak_rss_mb", 0) > 0


@pytest.mark.slow
def test_throughput_benchmark_end_to_end(tmp_path):
    """One tiny run of every part: mmzoo vs hand-written Keras (and PyTorch eager where torch is installed),
    the input pipeline, the defaults, cost growth, the report and the plot. One run, not one per framework:
    each run starts its own TensorFlow worker and traces the model again."""
    record, report, _ = _run(tmp_path, *(["--torch-configs", "eager"] if HAS_TORCH else ["--no-torch"]))
    model = record["models"]["early_fusion"]
    assert model["params"]["mmzoo"] == model["params"]["keras (hand-written)"]
    labels = ["mmzoo", "keras (hand-written)"] + (["pytorch eager"] if HAS_TORCH else [])
    for label in labels:
        assert _positive(model["train"][label]) and _positive(model["infer"][label])
    assert model["latency"]["mmzoo"]["p50_ms"] > 0 and model["latency"]["mmzoo (Keras predict)"]["p50_ms"] > 0
    folded = "mmzoo (no folded BatchNorm)"  # the folding switched off, measured and in the report
    assert model["latency"][folded]["p50_ms"] > 0 and model["infer"][folded]["samples_per_s"] > 0
    assert "batch-1 p50 ms, unfolded → folded" in report
    pipeline = record["pipeline"]
    assert pipeline["ratio_files_to_cached"] > 0 and pipeline["files_pipeline_alone_samples_per_s"] > 0
    assert all(v > 0 for v in record["defaults"]["train"]["jit_compile=False"].values() if isinstance(v, float))
    # one setting (each starts a worker: ~12 s); slopes are checked in test_report_regenerates_from_json
    assert [(r["axis"], r["value"]) for r in record["growth"]["early_fusion"]] == [("batch", 16)]
    assert all(r["samples_per_s"] > 0 and r["peak_rss_mb"] > 0 for r in record["growth"]["early_fusion"])
    assert (tmp_path / "out" / "growth.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for section in (
        "## Summary per architecture",
        "## Targets",
        "## No abstraction tax",
        "## Input pipeline",
        "## Defaults",
        "## Cost growth",
    ):
        assert section in report
    assert "| `early_fusion` |" in report
    if HAS_TORCH:
        assert abs(model["param_diff"]) < 0.01
        assert model["latency"]["pytorch eager"]["p50_ms"] > 0
        assert model["flops"]["forward_flops"] > 0
        assert record["matmul_peak"]["torch"] > 0
        assert "vs PyTorch" in report
    else:  # torch is a benchmark-only dependency (pip install -r benchmarks/requirements.txt)
        assert record["torch_skipped"] == "--no-torch"
        assert "PyTorch was not measured" in report


def test_report_regenerates_from_json(tmp_path):
    record = {
        "date": "d",
        "quick": False,
        "machine": {"cpu": "cpu", "cores": 2, "threads": 2, "device": "cpu"},
        "settings": {
            "precision": "float32",
            "jit": "auto",
            "rounds": 3,
            "train_steps": 10,
            "infer_batches": 4,
            "latency_calls": 50,
            "matmul": 2048,
        },
        "matmul_peak": {"tensorflow": 1e11},
        "models": {
            "tfn": {
                "params": {"mmzoo": 100, "pytorch eager": 101},
                "param_diff": 0.01,
                "flops": {"forward_flops": 1e8, "train_flops": 3e8, "parts": {"aten.convolution": 9e7}},
                "train": {
                    "mmzoo": {"samples_per_s": 300.0, "peak_rss_mb": 10.0, "rss_before_mb": 5.0},
                    "keras (hand-written)": {"samples_per_s": 300.0, "peak_rss_mb": 10.0, "rss_before_mb": 5.0},
                    "pytorch eager": {"samples_per_s": 100.0, "peak_rss_mb": 9.0, "rss_before_mb": 5.0},
                    "pytorch compile": {"samples_per_s": 150.0, "peak_rss_mb": 9.0, "rss_before_mb": 5.0},
                },
                "infer": {"mmzoo": {"samples_per_s": 900.0, "peak_rss_mb": 1, "rss_before_mb": 1}},
                "latency": {
                    "mmzoo": {"p50_ms": 2.0, "p95_ms": 3.0, "peak_rss_mb": 1, "rss_before_mb": 1},
                    "pytorch eager": {"p50_ms": 2.5, "p95_ms": 3.0, "peak_rss_mb": 1, "rss_before_mb": 1},
                },
            }
        },
        "growth": {
            "tfn": [
                {"axis": "text", "value": 64, "samples_per_s": 100.0, "peak_rss_mb": 20.0, "rss_before_mb": 10.0},
                {"axis": "text", "value": 128, "samples_per_s": 25.0, "peak_rss_mb": 50.0, "rss_before_mb": 10.0},
            ]
        },
    }
    rows, peak = throughput_report.summarise(record)
    assert rows["tfn"]["train_ratio"] == 2.0 and rows["tfn"]["torch_train"] == ("compile", 150.0)
    assert rows["tfn"]["latency_ratio"] == 0.8 and rows["tfn"]["tax_train"] == 1.0
    assert rows["tfn"]["utilisation"] == pytest.approx(3e8 * 300 / 1e11)
    slopes = throughput_report.growth_slopes(record["growth"]["tfn"])
    assert slopes["text"]["time_slope"] == pytest.approx(2.0) and slopes["text"]["memory_slope"] == pytest.approx(2.0)
    throughput_report.write(record, tmp_path / "P.md", str(tmp_path))
    text = (tmp_path / "P.md").read_text()
    assert "2.00x (compile)" in text and "Worse than linear in this run: `tfn` in text" in text


def test_resume_keeps_only_what_matches(tmp_path):
    """--resume keeps the architectures an interrupted run measured without error, on the same settings and
    machine; anything else starts afresh."""
    machine = {"cpu": "cpu", "cores": 2, "threads": 2, "device": "cpu", "load_average_at_start": [1.0]}
    settings = {"rounds": 3, "growth": {"batch": [16, 64]}, "precision": "float32"}
    old = {
        "date": "d1",
        "command": "throughput.py",
        "duration_s": 100.0,
        "quick": False,
        "machine": machine,
        "settings": settings,
        "models": {"tfn": {"params": {}}, "mult": {"error": "worker died"}},
        "pipeline": {"ratio_files_to_cached": 1.0},
    }
    path = tmp_path / "throughput.json"
    path.write_text(json.dumps(old))
    fresh = {
        "date": "d2",
        "command": "throughput.py --resume",
        "quick": False,
        "machine": {**machine, "load_average_at_start": [0.5]},
        "settings": settings,
        "models": {},
    }
    record = harness.resume_record(str(path), fresh)
    assert list(record["models"]) == ["tfn"] and record["pipeline"] == old["pipeline"]
    assert [p["date"] for p in record["parts"]] == ["d1", "d2"] and record["resumed_duration_s"] == 100.0
    harness._save(record, str(path), started=harness.time.time() - 50)
    saved = json.loads(path.read_text())
    assert saved["duration_s"] == pytest.approx(150.0, abs=1) and saved["parts"][1]["duration_s"] == pytest.approx(
        50, abs=1
    )
    harness._save(record, str(path), started=harness.time.time(), ticks=(0, 1))  # ticks since boot
    steal = json.loads(path.read_text())["machine"]["steal_percent"]
    assert 0 <= steal <= 100 and record["parts"][1]["steal_percent"] == steal
    other = {**fresh, "settings": {**settings, "rounds": 2}}
    assert harness.resume_record(str(path), other) is other
    elsewhere = {**fresh, "machine": {**machine, "cores": 16}}
    assert harness.resume_record(str(path), elsewhere) is elsewhere
    assert harness.resume_record(str(tmp_path / "none.json"), fresh) is fresh
