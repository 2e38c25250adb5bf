"""Trains the workload on one device, "one_device" and "mirrored" over 2 logical CPUs; prints JSON.

Run as `python -m tests.training.distribute.mirrored_script` (logical devices must be
configured before TensorFlow initialises, hence a process of its own).
"""

import json

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402

from mmzoo.training.distribute import get_strategy  # noqa: E402
from mmzoo.training.trainer import train  # noqa: E402
from tests.training.distribute.workload import build, data, weights  # noqa: E402

report = {"auto_replicas": get_strategy("auto").num_replicas_in_sync}
reference = None
for strategy in ("auto", "one_device", "mirrored"):
    train_data, validation, inputs = data()
    model = build(inputs)
    history = train(model, train_data, validation, epochs=2, seed=0, verbose=0, strategy=strategy)
    trained = weights(model)
    reference = reference or trained
    report[strategy] = {
        "replicas": history.model.distribute_strategy.num_replicas_in_sync,
        "strategy": type(history.model.distribute_strategy).__name__,
        "same_object": history.model is model,
        "history": history.history,
        "max_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(reference, trained)),
    }
print("REPORT " + json.dumps(report))
