"""`strategy="mirrored"` over 2 logical CPU devices gives the weights of one device (and "one_device" too).

The logical devices must exist before TensorFlow initialises, so the
training runs in `tests/training/distribute/mirrored_script.py`, a process of its own.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests import paths

ROOT = str(paths.ROOT)


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_matches_one_device():
    result = subprocess.run(
        [sys.executable, "-m", "tests.training.distribute.mirrored_script"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("REPORT "))
    report = json.loads(line[len("REPORT ") :])

    assert report["auto_replicas"] == 1  # "auto" on CPUs: one device, however many logical CPUs
    assert report["auto"]["same_object"]  # ... and the model is trained as it is
    assert report["one_device"]["strategy"] == "OneDeviceStrategy" and not report["one_device"]["same_object"]
    mirrored = report["mirrored"]
    assert mirrored["strategy"] == "MirroredStrategy" and mirrored["replicas"] == 2
    assert not mirrored["same_object"]  # rebuilt inside the strategy's scope; weights copied back
    assert report["one_device"]["max_diff"] <= 1e-6
    assert mirrored["max_diff"] <= 1e-5
    for key, values in report["auto"]["history"].items():
        np.testing.assert_allclose(mirrored["history"][key], values, rtol=1e-5, atol=1e-6, err_msg=key)
