"""The (2+1)D training-step comparison: the PyTorch port is mmzoo's model, and the report reads its record."""

import importlib.util

import pytest

from benchmarks import video_step

HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.skipif(
    not HAS_TORCH, reason="torch is a benchmark-only dependency (pip install -r benchmarks/requirements.txt)"
)
def test_pytorch_port_has_the_parameters_and_outputs_of_mmzoos_r2plus1d_encoder():
    """Layer for layer (BatchNorm statistics included), at a small size; the benchmark checks its own size too."""
    import numpy as np
    import torch

    from benchmarks.throughput import torch_models as T
    from benchmarks.throughput.torch_video import R2Plus1DEncoder
    from mmzoo.encoders.video_conv import R2Plus1DEncoder as KerasR2Plus1D

    clips = np.random.default_rng(0).random((2, 4, 16, 16, 3), dtype=np.float32)
    for sequences in (False, True):
        keras_encoder = KerasR2Plus1D(filters=(4, 8), units=8, return_sequences=sequences)
        out = keras_encoder(clips)
        port = R2Plus1DEncoder(3, filters=(4, 8), units=8, return_sequences=sequences)
        assert T.count_params(port) == keras_encoder.count_params()
        assert tuple(port(torch.from_numpy(clips).permute(0, 4, 1, 2, 3)).shape) == tuple(out.shape)


def test_report_states_each_implementation_against_mmzoo():
    record = {
        "date": "2026-01-01T00:00:00+00:00",
        "command": "python -m benchmarks.video_step",
        "machine": {"cpu": "cpu", "cores": 2, "threads": 2, "load_average_at_start": [1.0, 1.0, 1.0]},
        "versions": {"tensorflow": "2", "torch": "2"},
        "settings": {
            "model": "early_fusion",
            "encoder": ["r2plus1d", {}],
            "clip": [8, 32, 32, 3],
            "batch": 16,
            "rounds": 3,
            "steps": 6,
            "warmup": 3,
            "torch_configs": ["eager"],
        },  # fmt: skip
        "param_diff": 0.0,
        "runs": [
            {
                "threads": 2,
                "params": {"mmzoo": 1000, "pytorch eager": 1000},
                "train": {
                    "mmzoo": {"samples_per_s": 40.0, "runs": [39.0, 40.0, 41.0], "peak_rss_mb": 900.0},
                    "pytorch eager": {"samples_per_s": 20.0, "runs": [20.0], "peak_rss_mb": 400.0},
                },
            }
        ],
    }
    lines = video_step.report(record).splitlines()
    assert "| 2 | mmzoo | 1,000 | 40.0 | 39.0, 40.0, 41.0 | 400 | 1.00x | 900 |" in lines
    assert "| 2 | pytorch eager | 1,000 | 20.0 | 20.0 | 800 | 0.50x | 400 |" in lines
