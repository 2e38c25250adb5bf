"""Artifacts reload in a fresh process: .keras with mmzoo, the SavedModel with neither mmzoo nor Keras."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mmzoo
from tests.helpers import small_inputs

KERAS_CLIENT = """
import json, sys, numpy as np, keras
import mmzoo  # registers mmzoo layers; no custom_objects needed
x = dict(np.load(sys.argv[2], allow_pickle=True))
model = keras.saving.load_model(sys.argv[1])
print(json.dumps(model.predict(x, verbose=0).tolist()))
"""

SAVEDMODEL_CLIENT = """
import sys
# Block Keras and mmzoo outright: `import tensorflow` alone would pull Keras in lazily.
for name in ("keras", "tf_keras", "mmzoo"):
    sys.modules[name] = None
import json, numpy as np, tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serve"]
outs = []
for path in sys.argv[2:]:  # one batch per file
    x = dict(np.load(path, allow_pickle=True))
    outs.append(serve(**{k: tf.constant(v) for k, v in x.items()})["probabilities"].numpy().tolist())
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "mmzoo") and sys.modules[m] is not None)
print(json.dumps({"outs": outs, "leaked": leaked}))
"""


def _run(code, *args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_keras_and_savedmodel_reload_in_fresh_processes(tmp_path):
    specs, x, n = small_inputs()
    model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(num_classes=3))
    model.fit(x, np.arange(n) % 3, epochs=2, verbose=0)
    # include words outside the vocabulary: the OOV mapping must survive too
    x["text"] = np.array(list(x["text"][:-1]) + ["completely unseen words"], dtype=object)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "model.keras")
    mmzoo.export(model, str(tmp_path / "savedmodel"))
    np.savez(tmp_path / "x.npz", **x)

    reloaded = np.array(_run(KERAS_CLIENT, str(tmp_path / "model.keras"), str(tmp_path / "x.npz")))
    np.testing.assert_allclose(reloaded, expected, atol=1e-6)

    # the vocabulary is in the graph: different texts give different outputs there too
    other = {**x, "text": np.array(["bad"] * n, dtype=object)}
    np.savez(tmp_path / "other.npz", **other)
    served = _run(SAVEDMODEL_CLIENT, str(tmp_path / "savedmodel"), str(tmp_path / "x.npz"), str(tmp_path / "other.npz"))
    assert served["leaked"] == [], f"the SavedModel client imported {served['leaked']}"
    assert np.max(np.abs(np.array(served["outs"][0]) - expected)) <= 1e-5
    np.testing.assert_allclose(np.array(served["outs"][1]), model.predict(other, verbose=0), atol=1e-5)
