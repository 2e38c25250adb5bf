"""CMU-MOSI sentiment regression on bc-LSTM utterance features.

CMU-MOSI (Zadeh et al. 2016, "MOSI: Multimodal Corpus of Sentiment Intensity
and Subjectivity Analysis in Online Opinion Videos") scores 2,199 opinion
utterances from 93 YouTube videos in [-3, 3]. The 50-d text, audio and video
vectors per utterance were released with bc-LSTM (Poria et al. 2017,
"Context-Dependent Sentiment Analysis in User-Generated Videos") and were
learned on its train split, so they are used only with that split (train
1,447 utterances / 62 videos, test 752 / 31). Validation is carved from the
train split by video (no video in two splits). `audio_raw` are 73 hand-made
acoustic features. Evaluate with `mmzoo.analysis.evaluation.mosi_metrics`.
"""

import dataclasses

import numpy as np

from mmzoo.data import from_arrays
from mmzoo.datasets.base import Splits
from mmzoo.datasets.locate import locate
from mmzoo.registry import register_dataset
from mmzoo.specs import Features
from mmzoo.tasks.task import Regression

FILE = "mosi/mosi_bclstm_utterances.npz"
FEATURES = {"text": 50, "audio": 50, "video": 50, "audio_raw": 73}
SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class MOSIRegression(Regression):
    """`Regression(units=1)` of a MOSI sentiment score in [-3, 3].

    Trains and serializes exactly as `Regression` (its config is a plain
    regression's); the class only tells `mmzoo.analysis.evaluation.evaluate` to add
    the MOSI metrics (Acc-2, F1, Acc-7, MAE, Corr).

    Example:
        >>> task = MOSIRegression()
        >>> task.units, task.get_config()["kind"], task.evaluation_metrics
        (1, 'regression', 'mosi')
    """

    units: int = 1

    evaluation_metrics = "mosi"


def _feature_names(features, audio_raw):
    names = [features] if isinstance(features, str) else list(features)
    unknown = [n for n in names if n not in ("text", "audio", "video")]
    if unknown:
        raise ValueError(
            f"MOSI features must be among 'text', 'audio', 'video' (plus audio_raw=True); received {unknown}."
        )
    names = names + (["audio_raw"] if audio_raw and "audio_raw" not in names else [])
    if not names:
        raise ValueError("MOSI needs at least one feature set: features=('text', ...) or audio_raw=True.")
    return names


def split_videos(videos, val_fraction, seed):
    """Picks `round(val_fraction * n)` of the distinct `videos` (sorted, then seeded) for validation."""
    distinct = np.array(sorted(set(videos.tolist())))
    count = int(round(val_fraction * len(distinct)))
    if not 0 < count < len(distinct):
        raise ValueError(
            f"MOSI val_fraction={val_fraction} leaves {count} of {len(distinct)} train "
            f"videos for validation; pick a fraction giving at least one for each."
        )
    chosen = np.random.default_rng(seed).choice(distinct, size=count, replace=False)
    return np.isin(videos, chosen)


def load_mosi_arrays(data_dir=None, seed=0, features=("text", "audio", "video"), audio_raw=False, val_fraction=0.15):
    """Loads the MOSI utterances as NumPy arrays, split train / validation / test.

    Args:
        data_dir: folder holding mosi/mosi_bclstm_utterances.npz; default `$MMZOO_DATA`.
        seed: seeds the choice of validation videos.
        features: which 50-d feature sets: "text", "audio", "video".
        audio_raw: also return the 73-d "audio_raw" features.
        val_fraction: share of the train videos kept for validation.

    Returns:
        `{split: (features, scores, video_ids)}`: `features` is `{name:
        float32 (n, dim)}`, `scores` float32 (n, 1) in [-3, 3], `video_ids` (n,).

    Raises:
        FileNotFoundError: the file is missing (the message says how to get it).
    """
    names = _feature_names(features, audio_raw)
    with np.load(locate(FILE, "MOSI", data_dir), allow_pickle=False) as data:
        columns = {name: data[name].astype(np.float32) for name in names}
        score = data["score"].astype(np.float32)[:, None]
        videos, split = data["video_id"].astype(str), data["split"].astype(str)
    in_validation = np.zeros(len(split), bool)
    in_validation[split == "train"] = split_videos(videos[split == "train"], val_fraction, seed)
    masks = {"train": (split == "train") & ~in_validation, "validation": in_validation, "test": split == "test"}
    return {name: ({k: v[m] for k, v in columns.items()}, score[m], videos[m]) for name, m in masks.items()}


@register_dataset("mosi", paper="CMU-MOSI, Zadeh et al. 2016 (bc-LSTM utterance features)")
def mosi(
    data_dir=None,
    batch_size=32,
    seed=0,
    features=("text", "audio", "video"),
    audio_raw=False,
    val_fraction=0.15,
    cache=True,
):
    """Loads CMU-MOSI (bc-LSTM utterance features) as batched `tf.data` splits.

    Sentiment regression in [-3, 3] (Zadeh et al. 2016) on the bc-LSTM split
    (Poria et al. 2017); validation is carved from train by video, seeded.
    Each feature set is one `Features` input whose in-graph normalization is
    adapted on the training split only.

    Args:
        data_dir, seed, features, audio_raw, val_fraction: see `load_mosi_arrays`.
        batch_size: examples per batch.
        cache: cache the elements in memory.

    Returns:
        `Splits(train, validation, test, inputs, task)`: datasets of
        `({name: float32 (b, dim)}, float32 (b, 1))`, inputs
        `[Features("text", shape=(50,)), ...]` and `MOSIRegression()` (a
        `Regression(units=1)` that `mmzoo.analysis.evaluation.evaluate` scores with the
        MOSI metrics).

    Example:
        >>> splits = mosi()  # doctest: +SKIP
        >>> [spec.name for spec in splits.inputs]  # doctest: +SKIP
        ['text', 'audio', 'video']
    """
    arrays = load_mosi_arrays(data_dir, seed, features, audio_raw, val_fraction)
    train_features = arrays["train"][0]
    inputs = []
    for name, values in train_features.items():
        spec = Features(name, shape=(FEATURES[name],))
        spec.adapt(values)
        inputs.append(spec)
    datasets = [
        from_arrays(x, y, inputs=inputs, batch_size=batch_size, shuffle=(name == "train"), seed=seed, cache=cache)
        for name, (x, y, _) in ((n, arrays[n]) for n in SPLITS)
    ]
    return Splits(*datasets, inputs, MOSIRegression())
