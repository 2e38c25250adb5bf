"""MultiWorkerMirroredStrategy: two worker processes on localhost train one model with `mmzoo.train`.

Each worker runs `tests/training/distribute/worker_script.py` with its own TF_CONFIG.
Checked: both train (identical weights and logs), every global batch is split
into disjoint halves, one per worker, the chief alone writes the run's
artifacts, each worker keeps its own checkpoints, and the result equals
single-process training on the same data and seed.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import mmzoo
from mmzoo.data.pipeline import set_epoch
from mmzoo.training.trainer import train
from tests import paths
from tests.training.distribute.workload import BATCH, build, data, ids, weights

ROOT = str(paths.ROOT)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(out, count=2, timeout=300):
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(count)]}
    processes = []
    for index in range(count):
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        }
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.training.distribute.worker_script", str(out)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    logs = []
    try:
        for process in processes:
            logs.append(process.communicate(timeout=timeout)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for index, (process, log) in enumerate(zip(processes, logs)):
        assert process.returncode == 0, f"worker {index} failed:\n{log[-4000:]}"
    return [json.loads((out / f"worker-{i}.json").read_text()) for i in range(count)]


@pytest.mark.slow
def test_two_workers_shard_the_data_and_match_single_process_training(tmp_path):
    reports = _run_workers(tmp_path)
    assert [r["chief"] for r in reports] == [True, False]
    assert all(r["replicas"] == 2 for r in reports)

    # sharded: each global batch of 16 is split into two disjoint halves of 8, one per worker
    order = ids()
    set_epoch(order, 0)
    expected = [sorted(int(i) for i in batch[0]["id"].numpy()) for batch in order]
    first, second = reports[0]["seen"], reports[1]["seen"]
    assert len(first) == len(second) == len(expected) == 4
    for a, b, batch in zip(first, second, expected):
        assert len(a) == len(b) == BATCH // 2 and not set(a) & set(b)
        assert sorted(a + b) == batch

    # both trained, in lockstep: identical weights and logs
    chief, worker = (np.load(tmp_path / f"worker-{i}.npz") for i in (0, 1))
    chief = [chief[k] for k in sorted(chief.files, key=lambda k: int(k.split("_")[1]))]
    worker = [worker[k] for k in sorted(worker.files, key=lambda k: int(k.split("_")[1]))]
    assert all(np.array_equal(a, b) for a, b in zip(chief, worker))
    assert reports[0]["history"] == reports[1]["history"]

    # the same as one process training on the whole batches
    train_data, validation, inputs = data()
    model = build(inputs)
    history = train(model, train_data, validation, epochs=2, seed=0, verbose=0)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(weights(model), chief)) <= 1e-5
    assert not all(np.allclose(a, b) for a, b in zip(weights(build(inputs)), chief))  # it did train
    for key, values in history.history.items():
        np.testing.assert_allclose(reports[0]["history"][key], values, rtol=1e-5, atol=1e-6, err_msg=key)

    # only the chief wrote the artifacts, holding the trained weights; every worker has its own checkpoints
    assert sorted(os.listdir(tmp_path / "run")) == ["curves.png", "metrics.json", "model.keras", "savedmodel"]
    saved = mmzoo.load(str(tmp_path / "run" / "model.keras"))
    assert all(np.array_equal(a, b) for a, b in zip(weights(saved), chief))
    assert sorted(p for p in os.listdir(tmp_path) if not p.startswith("worker-")) == ["checkpoints", "run"]
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["epoch-0001", "epoch-0002", "run_config.json", "worker-1"]
    assert sorted(os.listdir(tmp_path / "checkpoints" / "worker-1")) == ["epoch-0001", "epoch-0002", "run_config.json"]
