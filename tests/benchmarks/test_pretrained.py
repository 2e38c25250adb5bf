"""`benchmarks.pretrained`: both sides are the same network, and the report says whether the target was met."""

import importlib.util

import numpy as np
import pytest

from benchmarks.pretrained import models, report

# Found, not imported: collection would load PyTorch into every test worker beside TensorFlow, and
# their thread pools slow each other's tests down; the tests that need it import it.
MISSING = [name for name in ("keras_hub", "torch", "transformers") if importlib.util.find_spec(name) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"needs {', '.join(MISSING)}: pip install 'mmzoo[hub]' -r benchmarks/requirements.txt"
)


def test_benchmark_configuration_has_equal_parameters_on_both_sides():
    """The benchmark's own configuration: KerasHub's classifier and transformers' have the same parameters."""
    keras_params = models.build_keras(config=models.CONFIG).count_params()
    torch_params = sum(p.numel() for p in models.build_torch(models.CONFIG).parameters())
    assert keras_params == torch_params > 10_000_000
    models.check_params(keras_params, torch_params)
    with pytest.raises(SystemExit, match="Parameter counts differ"):
        models.check_params(keras_params, torch_params + 1)


def test_both_sides_compute_the_same_function(tmp_path):
    """transformers' BERT, written as a Hugging Face checkpoint and loaded by KerasHub's own converter,
    gives the same outputs: same GELU, layer-norm epsilon, masking and pooler on both sides."""
    import keras_hub

    config = {**models.TINY_CONFIG, "max_sequence_length": 64}
    classifier = models.build_torch(config).eval()
    classifier.bert.bert.save_pretrained(tmp_path)
    backbone = keras_hub.models.BertBackbone.from_preset(str(tmp_path))
    x, _ = models.arrays(4, 64, config["vocabulary_size"])
    assert 0 < x["padding_mask"].mean() < 1  # rows of several lengths: the masks matter
    out = backbone(x)
    import torch

    with torch.no_grad():
        ref = classifier.bert.bert(
            input_ids=torch.from_numpy(x["token_ids"]).long(),
            token_type_ids=torch.from_numpy(x["segment_ids"]).long(),
            attention_mask=torch.from_numpy(x["padding_mask"]).long(),
        )
    np.testing.assert_allclose(out["pooled_output"].numpy(), ref.pooler_output.numpy(), atol=1e-5)
    valid = x["padding_mask"].astype(bool)
    np.testing.assert_allclose(out["sequence_output"].numpy()[valid], ref.last_hidden_state.numpy()[valid], atol=1e-5)


def test_report_states_the_target_from_the_numbers(tmp_path):
    record = {
        "date": "2026-01-01T00:00:00+00:00",
        "duration_s": 1.0,
        "machine": {"threads": 2, "cpu": "cpu", "cores": 2, "memory_gib": 1.0},
        "settings": {
            "config": models.CONFIG,
            "sequence_length": 128,
            "batch": 32,
            "classes": 2,
            "optimizer": "AdamW",
            "train_steps": 5,
            "warmup": 2,
            "infer_batches": 4,
            "rounds": 3,
        },
        "params": {"mmzoo, jit_compile=False": 7, "PyTorch eager": 7},
        "train": {"mmzoo, jit_compile=False": {"samples_per_s": 9.0, "runs": [9.0]}, "PyTorch eager": {}},
        "infer": {"mmzoo, jit_compile=False": {"samples_per_s": 30.0}, "PyTorch eager": {"samples_per_s": 20.0}},
    }
    record["train"]["PyTorch eager"] = {"samples_per_s": 10.0, "runs": [10.0]}
    record["train"]["PyTorch compile"] = {"samples_per_s": 12.0, "runs": [12.0]}
    record["infer"]["PyTorch compile"] = {"samples_per_s": 15.0}
    for part in ("train", "infer"):  # another optimizer: in the table, never the like-for-like ratio
        record[part]["mmzoo, default optimizer"] = {"samples_per_s": 99.0, "runs": [99.0]}
    notes = tmp_path / "notes.md"
    notes.write_text("## Measured elsewhere\n\nverbatim line")
    record["summary"] = report.summary(record)
    assert record["summary"]["train"]["ratio"] == pytest.approx(0.75)
    assert record["summary"]["train_target_met"] is False
    text = report.write(record, str(notes))
    assert "missed: mmzoo, jit_compile=False at 0.75x PyTorch compile" in text
    assert "inference mmzoo, jit_compile=False at 1.50x PyTorch eager" in text
    assert "| mmzoo, jit_compile=False | 9.0 (9.0) | 0.75x | 30.0 () | 1.50x | - | - |" in text
    assert text.rstrip().endswith("verbatim line")
