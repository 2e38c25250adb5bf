"""A SavedModel is a program: mmzoo.load runs one it did not write only with trust=True."""

import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.artifacts.safety import UnsafeArtifactError
from tests.helpers import small_inputs


class Doubler(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec((None,), tf.float32)])
    def __call__(self, x):
        return 2.0 * x


def test_foreign_savedmodel_needs_trust(tmp_path):
    path = str(tmp_path / "foreign")
    tf.saved_model.save(Doubler(), path)
    with pytest.raises(UnsafeArtifactError) as info:
        mmzoo.load(path)
    message = str(info.value)
    assert "a savedmodel is a program" in message.lower()
    assert path in message and "trust=True" in message and "mmzoo.json" in message
    loaded = mmzoo.load(path, trust=True)
    np.testing.assert_allclose(loaded(tf.constant([1.0, 3.0])).numpy(), [2.0, 6.0])


def test_mmzoo_savedmodel_loads_without_trust(tmp_path):
    specs, x, n = small_inputs(("image", "features"))
    model = mmzoo.build_model(
        "early_fusion",
        specs,
        mmzoo.Classification(num_classes=2),
        encoders={"image": ("cnn", {"filters": (4,), "units": 4})},
    )
    path = mmzoo.export(model, str(tmp_path / "exported"))
    serve = mmzoo.load(path).signatures["serve"]
    out = serve(**{k: tf.constant(v) for k, v in x.items()})["probabilities"].numpy()
    np.testing.assert_allclose(out, model.predict(x, verbose=0), atol=1e-5)


def test_directory_that_is_not_a_savedmodel_is_refused_even_with_trust(tmp_path):
    (tmp_path / "config.json").write_text("{}")  # a Keras directory format, not a SavedModel
    for trust in (False, True):
        with pytest.raises(ValueError, match="not a SavedModel"):
            mmzoo.load(str(tmp_path), trust=trust)
