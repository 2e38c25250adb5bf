"""Finds a real dataset's files under the data directory, or says how to get them.

Every loader in `mmzoo.datasets` reads local files below one data directory:
the `data_dir` argument, else the `MMZOO_DATA` environment variable. The
layout is the one of the shared data folder (see its PROVENANCE.md):

    DIR/mnist/mnist.npz                      MNIST, Keras layout
    DIR/fsdd/recordings/*.wav                Free Spoken Digit Dataset
    DIR/mosi/mosi_bclstm_utterances.npz      CMU-MOSI, bc-LSTM utterance features
    DIR/emoji/emoji_twitter64.npz            Twemoji 64 px + CLDR names

A missing file is a `FileNotFoundError` naming the path, where the data
directory came from, and how to obtain the file.
"""

import os
from pathlib import Path

ENV_VAR = "MMZOO_DATA"

_TFDS_NOTE = (
    "(`download_and_prepare` needs the `importlib_resources` package with TFDS 4.9.10; "
    "`pip install importlib_resources`.)"
)

SOURCES = {
    "mnist/mnist.npz": (
        "MNIST in the Keras layout: an .npz with x_train (60000, 28, 28) uint8, y_train, "
        "x_test (10000, 28, 28) uint8 and y_test, such as the ~/.keras/datasets/mnist.npz that "
        "`keras.datasets.mnist.load_data()` downloads on a machine with network; copy it here."
    ),
    "fsdd/recordings": (
        "the Free Spoken Digit Dataset: copy the `recordings/` folder of "
        "https://github.com/Jakobovski/free-spoken-digit-dataset (`git clone` on a machine with "
        "network, v1.0.10 or later) here; files are {digit}_{speaker}_{take}.wav, 8 kHz mono "
        "16-bit, takes 0-4 form the test split."
    ),
    "mosi/mosi_bclstm_utterances.npz": (
        "the CMU-MOSI utterance file: run `build_mosi_npz.py` (kept beside it in the shared data "
        "folder's mosi/) next to the bc-LSTM feature pickles unimodal_mosi_2way.pickle and "
        "audio_2way.pickle (Poria et al. 2017; GitHub declare-lab/contextual-utterance-level-"
        "multimodal-sentiment-analysis) and the CMU-MOSI OpinionLevelSentiment.csv and "
        "cmu_mosi_std_folds.py (CMU-MultimodalSDK), or copy the shared data folder's mosi/ here."
    ),
    "emoji/emoji_twitter64.npz": (
        "the emoji file built by `build_emoji_npz.py` (shipped beside it in the shared data "
        "folder) from the `emoji-datasource-twitter` 16.0.0 npm package (`npm pack "
        "emoji-datasource-twitter@16.0.0` on a machine with network); copy the shared data "
        "folder's emoji/ here."
    ),
}

AVMNIST_TFDS_ROUTE = (
    "On a machine with network, TFDS has both parts: run "
    "`tfds.builder('mnist').download_and_prepare()` and "
    "`tfds.builder('spoken_digit').download_and_prepare()`, then write the mnist train/test "
    "images and labels to mnist/mnist.npz (`np.savez(path, x_train=..., y_train=..., "
    "x_test=..., y_test=...)`, images (n, 28, 28) uint8) and each spoken_digit example's "
    "'audio' (int16 samples at 8 kHz) to fsdd/recordings/<its 'audio/filename'> as a 16-bit "
    "wav (`tf.audio.encode_wav`, or the `wave` module). " + _TFDS_NOTE
)


def resolve_data_dir(data_dir=None, dataset="this dataset", needs=None):
    """The data directory: `data_dir` if given, else `$MMZOO_DATA`.

    Args:
        data_dir: a folder, or None to use the environment variable.
        dataset: dataset name, for the error message.
        needs: relative paths the dataset reads, for the error message.

    Returns:
        `(Path, source)`, where `source` says where the folder came from.

    Raises:
        FileNotFoundError: neither is set, or the folder does not exist.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> resolve_data_dir(folder)[1]
        'data_dir argument'
    """
    needs = ", ".join(needs or [])
    if data_dir is not None:
        root, source = Path(data_dir).expanduser(), "data_dir argument"
    elif os.environ.get(ENV_VAR):
        root, source = Path(os.environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"
    else:
        raise FileNotFoundError(
            f"{dataset} reads {needs} from a data directory, but none was given. Pass "
            f"data_dir='/path/to/data' or set the environment variable {ENV_VAR} to the folder "
            f"holding {needs}."
        )
    if not root.is_dir():
        raise FileNotFoundError(
            f"{dataset}: the data directory {root} (from the {source}) does not exist. It must hold {needs}."
        )
    return root, source


def locate(relative, dataset, data_dir=None, extra=""):
    """The path of `relative` under the data directory, checked to exist.

    Args:
        relative: a path inside the data directory, a key of `SOURCES`.
        dataset: dataset name, for the error message.
        data_dir: the data directory, or None for `$MMZOO_DATA`.
        extra: more advice appended to the error message.

    Returns:
        The `Path` of the file or folder.

    Raises:
        FileNotFoundError: naming the missing path, the data directory and
            how to obtain the file.

    Example:
        >>> import tempfile
        >>> try:
        ...     locate("emoji/emoji_twitter64.npz", "emoji", tempfile.mkdtemp())
        ... except FileNotFoundError as error:
        ...     "emoji_twitter64.npz is missing" in str(error)
        True
    """
    root, source = resolve_data_dir(data_dir, dataset, [relative])
    path = root / relative
    if not path.exists():
        how = SOURCES.get(relative, "")
        raise FileNotFoundError(
            f"{dataset}: {path} is missing (data directory {root}, from the {source}). Put there {how} {extra}".strip()
        )
    return path
