import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

DATA_DIR = os.environ.get("MMZOO_DATA")
HAVE_DATA = bool(DATA_DIR) and os.path.isdir(DATA_DIR)
requires_data = pytest.mark.skipif(
    not HAVE_DATA, reason="real data not available: set MMZOO_DATA to the shared data folder"
)


@pytest.fixture(autouse=True)
def _clear_keras_session():
    import keras

    keras.utils.clear_session()
    yield


def pytest_collection_modifyitems(config, items):
    """The end-to-end (`slow`) tests first, each group in collection order.

    pytest-xdist hands tests out in this order, so the minute-long runs start
    while the short tests can still fill the other worker; collected last, one
    of them could leave a worker idle for minutes at the end of the run.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
