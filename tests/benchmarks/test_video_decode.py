"""`python -m benchmarks.video_decode` end to end in a tiny configuration (no timing assertions), so it cannot rot."""

import json

import pytest

from benchmarks import video_decode

pytest.importorskip("av", reason='PyAV is the video extra: pip install "mmzoo[video]"')


def test_tiny_run_writes_json_and_report(tmp_path):
    out, report = tmp_path / "video_decode.json", tmp_path / "VIDEO_DECODE.md"
    args = ["--clips", "3", "--length", "8", "--frames", "4", "--size", "32", "--repeats", "1"]
    video_decode.main(args + ["--out", str(out), "--report", str(report)])
    results = json.loads(out.read_text())
    assert results["same_frames"] is True  # both sides return the same uniformly sampled frames
    assert results["settings"]["clips"] == 3 and results["ratio"] > 0
    assert "Pipeline / PyAV" in report.read_text()
