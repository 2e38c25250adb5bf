"""A plugin as a user would write one, outside the package: a dataset and an export format.

Used by `tests/house/test_extension_points.py` through the Python API, a YAML config
and the command line (`python -m mmzoo --plugin tests.house.extension_plugin ...`).
"""

import json
import os

import numpy as np

from mmzoo.artifacts.formats import ExportFormat
from mmzoo.data import from_arrays
from mmzoo.datasets.base import Splits
from mmzoo.registry import register_dataset, register_export_format
from mmzoo.specs import Features
from mmzoo.tasks import Classification


@register_dataset("toy_xor", paper="two noisy features whose sign pattern is the class")
def toy_xor(batch_size=32, seed=0, noise=0.1):
    """XOR of the signs of two features: linearly inseparable, learnable by a small MLP."""
    rng = np.random.default_rng(seed)

    def split(n):
        x = rng.uniform(-1, 1, (n, 2)).astype("float32")
        y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype("int32")
        x += noise * rng.standard_normal(x.shape).astype("float32")
        return from_arrays({"point": x}, y, batch_size=batch_size)

    return Splits(
        split(512),
        split(128),
        split(128),
        [Features("point", shape=(2,), normalize=False)],
        Classification(num_classes=2, class_names=["same", "different"]),
    )


@register_export_format("weights_json", paper="the weights as JSON lists, for a test")
class WeightsJSON(ExportFormat):
    extension = ".weights.json"

    def export(self, model, path, indent=None):
        with open(path, "w") as f:
            json.dump([w.tolist() for w in model.get_weights()], f, indent=indent)
        return path

    def predict(self, path, inputs, trust=False):
        raise NotImplementedError("weights_json holds weights only")

    def detect(self, path):
        return os.path.isfile(path) and path.endswith(self.extension)
