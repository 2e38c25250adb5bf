import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

# modules of the test suite that are not tests: --doctest-modules would import them, and the scripts
# (run as processes of their own) and the plugin (which registers toy entries) must not run on import
collect_ignore = [
    "dummy_data/make_dummy.py",
    "helpers.py",
    "house/extension_plugin.py",
    "paths.py",
    "training/distribute/mirrored_script.py",
    "training/distribute/worker_script.py",
    "training/distribute/workload.py",
    "training/faults/helpers.py",
]

DATA_DIR = os.environ.get("MMZOO_DATA")
HAVE_DATA = bool(DATA_DIR) and os.path.isdir(DATA_DIR)
requires_data = pytest.mark.skipif(
    not HAVE_DATA, reason="real data not available: set MMZOO_DATA to the shared data folder"
)


# TensorFlow, Keras and mmzoo leave ~450k objects behind at import. A full garbage collection walks all of
# them (0.3 s alone, 1-3 s per test with two xdist workers on 2 cores); it ran before every test through
# `clear_session()` and cost a quarter of the suite's time. `gc.freeze()` moves what imports made to the
# permanent generation, so collections (automatic ones included) only walk what the tests create; and the
# per-test reset below leaves collection to Python's own thresholds.
import gc  # noqa: E402

import keras  # noqa: E402

import mmzoo  # noqa: E402,F401

gc.collect()
gc.freeze()


@pytest.fixture(autouse=True)
def _clear_keras_session():
    keras.utils.clear_session(free_memory=False)
    yield


@pytest.hookimpl(trylast=True)  # after `-m`/`-k` have deselected: the shares are of the tests that run
def pytest_collection_modifyitems(config, items):
    """Each xdist worker's share of the suite starts with its half of the end-to-end (`slow`) tests.

    setup.cfg runs the suite with `--dist worksteal`: worker k first gets the k-th contiguous share of this
    list, and a worker that runs out steals the tail of the other's queue (short tests). Collected in one
    block, every minute-long test would fall in the first worker's share and run one after another there
    while the other worker finished early; dealt out alternately, each worker starts with its half of them
    and the short tests even out the end. Without xdist the slow tests simply run first.
    """
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    fast = [item for item in items if item.get_closest_marker("slow") is None]
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    ordered, rest, remaining = [], iter(fast), len(items)
    for k in range(workers):
        size = remaining // (workers - k)  # worksteal's first split: the pending tests shared evenly, in order
        share = slow[k::workers]
        ordered += share + [next(rest) for _ in range(max(0, size - len(share)))]
        remaining -= size
    ordered += list(rest)
    assert len(ordered) == len(items)
    items[:] = ordered
