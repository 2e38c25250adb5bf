"""One worker of a multi-worker run: `python -m tests.training.distribute.worker_script OUT` with TF_CONFIG set.

Trains the workload with `mmzoo.train(strategy="multi_worker")` and a
checkpoint folder, writes the run's artifacts only on the chief (as the CLI
does), and records what this worker saw in `OUT/worker-<index>.json/.npz`.
"""

import json
import os
import sys

import mmzoo.training.distribute as distribute

strategy = distribute.get_strategy("multi_worker")  # first: before TensorFlow runs anything

import numpy as np  # noqa: E402

from mmzoo.data.pipeline import set_epoch  # noqa: E402
from mmzoo.experiments.artifacts import save_artifacts  # noqa: E402
from mmzoo.training.trainer import train  # noqa: E402
from tests.training.distribute.workload import build, data, ids, weights  # noqa: E402

out = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
precision = sys.argv[3] if len(sys.argv) > 3 else None
task_type, index = distribute.worker_task(strategy)

# The examples this worker gets in epoch 0, through the distribution train() uses.
order = ids()
set_epoch(order, 0)
seen = [
    [int(i) for t in strategy.experimental_local_results(batch[0]["id"]) for i in t.numpy()]
    for batch in distribute.distribute_dataset(strategy, order)
]

train_data, validation, inputs = data()
model = build(inputs)
history = train(
    model,
    train_data,
    validation,
    epochs=epochs,
    seed=0,
    verbose=0,
    strategy="multi_worker",
    checkpoint_dir=os.path.join(out, "checkpoints"),
    precision=precision,
)
if distribute.is_chief(strategy):
    save_artifacts(model, os.path.join(out, "run"), history=history)
np.savez(os.path.join(out, f"worker-{index}.npz"), *weights(model))
with open(os.path.join(out, f"worker-{index}.json"), "w") as f:
    json.dump(
        {
            "chief": distribute.is_chief(strategy),
            "replicas": strategy.num_replicas_in_sync,
            "seen": seen,
            "history": history.history,
        },
        f,
    )
