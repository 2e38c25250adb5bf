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
