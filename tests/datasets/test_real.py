"""Real-dataset loaders (AV-MNIST, MOSI, emoji, TFDS) and the evaluation metrics.

Always run on the tiny dummy copies in tests/dummy_data (same formats as the
real files); the `slow` tests run on the real data when MMZOO_DATA points to
the shared data folder.
"""

import os
import re
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.analysis.evaluation import (
    classification_metrics,
    evaluate,
    mosi_metrics,
    multilabel_metrics,
    regression_metrics,
    weighted_f1,
)
from mmzoo.datasets.avmnist import avmnist, load_avmnist_arrays
from mmzoo.datasets.emoji import emoji, load_emoji_arrays
from mmzoo.datasets.mosi import MOSIRegression, load_mosi_arrays, mosi
from mmzoo.datasets.tfds import from_tfds
from mmzoo.plots.evaluation import plot_confusion_matrix, plot_regression_scatter
from tests import paths

DUMMY = paths.DUMMY
DATA_DIR = os.environ.get("MMZOO_DATA")
HAS_DATA = bool(DATA_DIR) and Path(DATA_DIR).is_dir()
real_data = pytest.mark.skipif(
    not HAS_DATA,
    reason="real data not available: set MMZOO_DATA to the shared data folder (mnist/, fsdd/, mosi/, emoji/)",
)
SEC = 0.025  # dummy clips are 80-240 samples: 200-sample clips crop some and pad the others
AV = dict(data_dir=DUMMY, seconds=SEC, pairs_per_recording=2)


def _wav(path):
    with wave.open(str(path), "rb") as f:
        return np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float64) / 32768.0


def _take(file):
    return int(file[:-4].split("_")[2])


def _snr_db(arrays, split, folder, files=None):
    """Measured SNR of every (or the listed) recordings: clean samples read back from the wav files."""
    out = []
    for i, file in enumerate(arrays[split]["files"][:files]):
        length = arrays[split]["lengths"][i]
        clean = _wav(folder / file)[:length]
        noise = arrays[split]["recordings"][i, :length] - clean
        out.append(10 * np.log10(np.mean(clean**2) / np.mean(noise**2)))
    return np.array(out)


def _energy(arrays, mnist_path):
    """(energy kept by the train reconstructions about the train mean, cumulative PCA ratios)."""
    with np.load(mnist_path) as mnist:
        x = mnist["x_train"][arrays["train"]["mnist_index"]].reshape(-1, 784) / 255.0
    mean = x.mean(0)
    reduced = arrays["train"]["digit"].reshape(len(x), -1).astype(np.float64)
    kept = np.sum((reduced - mean) ** 2) / np.sum((x - mean) ** 2)
    # tf rather than NumPy: OpenBLAS's eigh can take seconds on 2 busy cores
    values = tf.linalg.eigvalsh(tf.constant((x - mean).T @ (x - mean))).numpy()[::-1]
    return kept, np.cumsum(values) / values.sum()


def _check_avmnist_structure(arrays, info, k):
    files = {s: set(arrays[s]["files"].tolist()) for s in arrays}
    seen = files["train"] | files["validation"]
    assert not files["train"] & files["validation"] and not seen & files["test"]
    assert all(_take(f) < 5 for f in files["test"]) and all(_take(f) >= 5 for f in seen)
    used_images = np.concatenate([arrays[s]["mnist_index"] for s in ("train", "validation")])
    assert len(np.unique(used_images)) == len(used_images)  # no MNIST image in two pairs
    for split, a in arrays.items():
        uses = np.bincount(a["pair_recording"])
        assert np.array_equal(uses, np.full(len(a["files"]), k))  # every recording used k times
        digits = np.array([int(f[0]) for f in a["files"]])
        assert np.array_equal(a["labels"], digits[a["pair_recording"]])
        assert a["labels"].dtype == np.int64 and a["digit"].shape[1:] == (28, 28, 1)
        assert info["pairs"][split] == len(a["labels"]) == k * len(a["files"])


# --- missing data -----------------------------------------------------------------------------
def test_missing_data_messages_name_the_file_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("MMZOO_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="MMZOO_DATA"):
        mosi()
    with pytest.raises(FileNotFoundError) as error:
        avmnist(data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path / "mnist" / "mnist.npz") in message and "keras.datasets.mnist.load_data" in message
    assert "tfds.builder('mnist')" in message and "spoken_digit" in message
    (tmp_path / "mnist").mkdir()
    shutil.copy(DUMMY / "mnist" / "mnist.npz", tmp_path / "mnist")
    monkeypatch.setenv("MMZOO_DATA", str(tmp_path))
    with pytest.raises(
        FileNotFoundError,
        match=r"fsdd/recordings is missing .*\$MMZOO_DATA.*"
        r"free-spoken-digit",
    ):
        avmnist()
    with pytest.raises(
        FileNotFoundError,
        match=r"mosi_bclstm_utterances\.npz is missing.*"
        r"build_mosi_npz\.py",
    ):
        mosi()
    with pytest.raises(FileNotFoundError, match=r"emoji_twitter64\.npz is missing.*emoji-datasource-twitter"):
        emoji()


# --- AV-MNIST on dummy data ---------------------------------------------------------------------
def test_avmnist_dummy_pairs_splits_cropping_and_determinism():
    arrays, info = load_avmnist_arrays(**AV)
    _check_avmnist_structure(arrays, info, 2)
    assert info["recordings"] == {"train": 50, "validation": 10, "test": 40}  # 1 of 6 train takes per digit
    folder = DUMMY / "fsdd" / "recordings"
    for split, a in arrays.items():
        lengths = np.array([len(_wav(folder / f)) for f in a["files"]])
        assert info["cropped"][split] == int(np.sum(lengths > 200))
        assert a["recordings"].shape == (len(lengths), 200) and a["recordings"].dtype == np.float32
        assert np.all(a["recordings"][np.arange(200)[None, :] >= np.minimum(lengths, 200)[:, None]] == 0)
        assert a["digit"].dtype == np.uint8
    again, _ = load_avmnist_arrays(**AV)
    other, _ = load_avmnist_arrays(**AV, seed=1)
    for split in arrays:
        for key in ("files", "mnist_index", "digit", "recordings"):
            assert np.array_equal(arrays[split][key], again[split][key])
    assert set(other["validation"]["files"]) != set(arrays["validation"]["files"])


def test_avmnist_dummy_hard_keeps_25_percent_energy_and_target_snr():
    clean, _ = load_avmnist_arrays(**AV)
    hard, info = load_avmnist_arrays(**AV, variant="hard", snr_db=5.0)
    _check_avmnist_structure(hard, info, 2)
    for split in hard:  # same pairs as the clean variant: only the degradation differs
        assert np.array_equal(hard[split]["mnist_index"], clean[split]["mnist_index"])
        assert hard[split]["digit"].dtype == np.float32
    kept, cumulative = _energy(hard, DUMMY / "mnist" / "mnist.npz")
    assert abs(kept - 0.25) < 0.02 and abs(info["image_energy_kept"] - kept) < 1e-4
    k = info["pca_components"]
    assert cumulative[k - 1] >= 0.25 and (k == 1 or cumulative[k - 2] < 0.25)
    centered = hard["test"]["digit"].reshape(len(hard["test"]["digit"]), -1) - hard["train"]["digit"].reshape(
        len(hard["train"]["digit"]), -1
    ).mean(0)  # test images lie in the train PCA span of rank k
    singular = tf.linalg.svd(tf.constant(centered, tf.float64), compute_uv=False).numpy()
    assert np.sum(singular > 1e-3 * singular[0]) <= k
    for split in hard:
        snr = _snr_db(hard, split, DUMMY / "fsdd" / "recordings")
        assert np.all(np.abs(snr - 5.0) < 0.5), snr


def test_avmnist_dummy_tf_data():
    splits = avmnist(**AV, batch_size=16, variant="hard")
    assert [s.name for s in splits.inputs] == ["digit", "voice"]
    assert splits.inputs[0].dtype == "float32" and splits.inputs[1].num_samples == 200
    assert splits.task.num_classes == 10 and splits.task.class_names[3] == "three"
    features, labels = next(iter(splits.test))
    assert features["digit"].shape == (16, 28, 28, 1) and features["voice"].shape == (16, 200)
    assert features["voice"].dtype == tf.float32 and labels.dtype == tf.int64
    arrays, _ = load_avmnist_arrays(**AV, variant="hard")
    test = arrays["test"]
    assert np.allclose(features["voice"].numpy(), test["recordings"][test["pair_recording"][:16]])
    epochs = [np.concatenate([y.numpy() for _, y in splits.train]) for _ in range(2)]
    assert len(epochs[0]) == 100 and not np.array_equal(epochs[0], epochs[1])  # reshuffled
    assert np.array_equal(np.sort(epochs[0]), np.sort(arrays["train"]["labels"]))


# --- MOSI and emoji on dummy data -----------------------------------------------------------------
def test_mosi_dummy_validation_by_video_and_train_only_statistics():
    arrays = load_mosi_arrays(DUMMY, audio_raw=True)
    videos = {s: set(v.tolist()) for s, (_, _, v) in arrays.items()}
    assert len(videos["validation"]) == 1 and len(videos["train"]) == 5 and len(videos["test"]) == 3
    assert not videos["train"] & videos["validation"]
    assert not videos["test"] & (videos["train"] | videos["validation"])
    assert sum(len(y) for _, y, _ in arrays.values()) == 31
    for x, y, _ in arrays.values():
        assert y.dtype == np.float32 and y.shape[1:] == (1,) and np.all(np.abs(y) <= 3)
        assert x["text"].shape[1:] == (50,) and x["audio_raw"].shape[1:] == (73,)
    assert videos["validation"] == set(load_mosi_arrays(DUMMY)["validation"][2].tolist())
    splits = mosi(DUMMY, batch_size=8, features=("text",), audio_raw=True)
    assert [s.name for s in splits.inputs] == ["text", "audio_raw"]
    assert isinstance(splits.task, MOSIRegression)
    mean = np.asarray(splits.inputs[0]._normalizer.mean).ravel()
    assert np.allclose(mean, arrays["train"][0]["text"].mean(0), atol=1e-5)
    features, y = next(iter(splits.test))
    assert sorted(features) == ["audio_raw", "text"] and y.shape == (8, 1)
    with pytest.raises(ValueError, match="'text', 'audio', 'video'"):
        mosi(DUMMY, features=("words",))


def test_emoji_names_first_keeps_the_name_alone_in_the_same_split():
    full, _ = load_emoji_arrays(DUMMY)
    first, _ = load_emoji_arrays(DUMMY, names="first")
    for split in full:
        assert np.array_equal(first[split][0]["image"], full[split][0]["image"])
        assert [t.split(" ; ")[0] for t in full[split][0]["name"]] == first[split][0]["name"].tolist()
    with pytest.raises(ValueError, match="Emoji names must be one of \\['all', 'first'\\]; received 'last'"):
        load_emoji_arrays(DUMMY, names="last")


def test_emoji_dummy_stratified_split_and_train_vocabulary():
    arrays, categories = load_emoji_arrays(DUMMY)
    assert len(categories) == 9
    counts = {s: np.bincount(y, minlength=9) for s, (_, y) in arrays.items()}
    assert np.all(counts["test"] == 1) and np.all(counts["validation"] == 1) and np.all(counts["train"] == 2)
    names = {s: set(x["name"].tolist()) for s, (x, _) in arrays.items()}
    assert not names["train"] & names["test"] and not names["train"] & names["validation"]
    again, _ = load_emoji_arrays(DUMMY)
    assert all(np.array_equal(again[s][0]["image"], arrays[s][0]["image"]) for s in arrays)
    splits = emoji(DUMMY, batch_size=4)
    train_words = {w for text in names["train"] for w in re.sub(r"[^\w\s]|_", "", text.lower()).split()}
    assert set(splits.inputs[1].get_vocabulary()[2:]) <= train_words
    features, labels = next(iter(splits.validation))
    assert features["image"].shape == (4, 64, 64, 3) and features["image"].dtype == tf.uint8
    assert features["name"].dtype == tf.string and splits.task.class_names == categories


# --- TFDS -----------------------------------------------------------------------------------------
def _tfds_builder():
    import tensorflow_datasets as tfds

    class MmzooTinyTfds(tfds.core.GeneratorBasedBuilder):
        """A tiny local dataset: train 40 and test 10 examples, no validation split."""

        VERSION = tfds.core.Version("1.0.0")
        code_path = None  # TFDS 4.9.10 looks its code path up with importlib_resources otherwise

        def _info(self):
            return self.dataset_info_from_configs(
                features=tfds.features.FeaturesDict(
                    {
                        "image": tfds.features.Image(shape=(8, 8, 1)),
                        "audio": tfds.features.Audio(shape=(None,), sample_rate=8000),
                        "caption": tfds.features.Text(),
                        "id": tfds.features.Tensor(shape=(), dtype=np.int64),
                        "label": tfds.features.ClassLabel(names=["even", "odd"]),
                    }
                )
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(0, 40), "test": self._generate_examples(40, 50)}

        def _generate_examples(self, start, stop):
            for i in range(start, stop):
                yield (
                    i,
                    {
                        "image": np.full((8, 8, 1), 5 * i, np.uint8),
                        "audio": np.full(100 + 10 * i, 1000 + i, np.int64),
                        "caption": f"item {i} {'odd' if i % 2 else 'even'}",
                        "id": i,
                        "label": i % 2,
                    },
                )

    return tfds, MmzooTinyTfds


@pytest.fixture(scope="module")
def tiny_tfds(tmp_path_factory):
    tfds, builder_class = _tfds_builder()
    data_dir = tmp_path_factory.mktemp("tfds")
    builder_class(data_dir=str(data_dir)).download_and_prepare()  # offline: nothing to download
    return tfds, data_dir


def test_from_tfds_maps_features_and_carves_validation(tiny_tfds):
    tfds, data_dir = tiny_tfds
    specs = {
        "image": mmzoo.Image("picture", shape=(8, 8, 3), dtype="float32"),
        "audio": mmzoo.Audio("voice", sample_rate=8000, seconds=0.05),
        "caption": mmzoo.Text("caption", vocabulary_size=100, sequence_length=4),
        "id": mmzoo.Features("id", shape=(1,), normalize=False),
    }
    splits = from_tfds("mmzoo_tiny_tfds", specs, data_dir=data_dir, batch_size=64, val_fraction=0.25)
    assert splits.task.num_classes == 2 and splits.task.class_names == ["even", "odd"]
    ids = {}
    for name, ds in zip(("train", "validation", "test"), splits[:3]):
        features, labels = next(iter(ds))
        ids[name] = features["id"].numpy().ravel().astype(int)
        assert np.array_equal(labels.numpy(), ids[name] % 2)
        assert np.allclose(features["picture"].numpy()[:, 0, 0, :], (5 * ids[name] / 255.0)[:, None])
        voice = features["voice"].numpy()
        assert voice.shape[1:] == (400,) and voice.dtype == np.float32
        for row, i in zip(voice, ids[name]):  # int16 samples / 32768, zero-padded or cropped to 400
            n = min(100 + 10 * i, 400)
            assert np.allclose(row[:n], (1000 + i) / 32768.0) and not row[n:].any()
    assert [len(ids[s]) for s in ("train", "validation", "test")] == [30, 10, 10]
    assert set(ids["train"]) | set(ids["validation"]) == set(range(40))
    assert not set(ids["train"]) & set(ids["validation"])
    assert set(ids["test"]) == set(range(40, 50))
    vocabulary = set(specs["caption"].get_vocabulary())  # adapted on the train split only
    assert {str(i) for i in ids["train"]} <= vocabulary
    assert not {str(i) for i in ids["validation"]} & vocabulary
    again = from_tfds(
        "mmzoo_tiny_tfds",
        [mmzoo.Features("id", shape=(1,), normalize=False)],
        data_dir=data_dir,
        batch_size=64,
        val_fraction=0.25,
    )
    assert set(next(iter(again.validation))[0]["id"].numpy().ravel().astype(int)) == set(ids["validation"])
    single = from_tfds(
        "mmzoo_tiny_tfds",
        [mmzoo.Features("id", shape=(1,), normalize=False)],
        data_dir=data_dir,
        split="test",
        batch_size=64,
    )
    assert int(next(iter(single))[1].shape[0]) == 10


def test_from_tfds_errors(tiny_tfds, tmp_path):
    _, data_dir = tiny_tfds
    with pytest.raises(
        ValueError,
        match=r"'image' of 'mmzoo_tiny_tfds' \(uint8, shape \(8, 8, 1\)\).*"
        r"resize_images=True",
    ):
        from_tfds("mmzoo_tiny_tfds", {"image": mmzoo.Image("picture", shape=(16, 16, 1))}, data_dir=data_dir)
    with pytest.raises(ValueError, match=r"no feature 'pixels'; its features are \['audio', 'caption'"):
        from_tfds("mmzoo_tiny_tfds", [mmzoo.Image("pixels", shape=(8, 8, 1))], data_dir=data_dir)
    with pytest.raises(ValueError, match=r"feature 'caption'.*features input 'caption'.*holds strings"):
        from_tfds("mmzoo_tiny_tfds", [mmzoo.Features("caption", shape=(1,))], data_dir=data_dir)
    with pytest.raises(FileNotFoundError, match=r"not prepared under .*download=True"):
        from_tfds("mmzoo_tiny_tfds", [mmzoo.Features("id", shape=(1,))], data_dir=tmp_path)


# --- metrics and evaluate ---------------------------------------------------------------------------
def test_mosi_metrics_against_hand_computed_values():
    y_true = np.array([-2.6, -0.4, 0.0, 0.0, 1.5, 2.5, 3.0, -1.0])
    y_pred = np.array([-3.8, 0.3, -0.2, 0.6, 0.5, 2.4, 2.2, -1.4])
    m = mosi_metrics(y_true, y_pred)
    # has0: true >= 0 -> [F F T T T T T F], pred >= 0 -> [F T F T T T T F]: 6 of 8 agree
    assert m["acc2_has0"] == pytest.approx(6 / 8)
    # non0 drops the two true zeros: true > 0 [F F T T T F], pred > 0 [F T T T T F]: 5 of 6
    assert m["acc2_non0"] == pytest.approx(5 / 6)
    # weighted F1, non0: negative F1 = 2*2/(2*2+0+1) = 0.8 (support 3),
    # positive 2*3/(2*3+1+0) = 6/7 (support 3)
    assert m["f1_non0"] == pytest.approx((3 * 0.8 + 3 * 6 / 7) / 6)
    # has0: negative (support 3): tp 2, fn 1, fp 1 -> 2/3; non-negative (support 5): tp 4, fp 1, fn 1 -> 0.8
    assert m["f1_has0"] == pytest.approx((3 * 2 / 3 + 5 * 0.8) / 8)
    # acc7: clip then round half to even: true [-3 -0 0 0 2 2 3 -1], pred [-3 0 -0 1 0 2 2 -1] -> 5 of 8
    assert m["acc7"] == pytest.approx(5 / 8)
    assert m["mae"] == pytest.approx(np.mean(np.abs(y_true - y_pred)))
    assert m["corr"] == pytest.approx(np.corrcoef(y_true, y_pred)[0, 1])
    assert weighted_f1([1, 1, 1, 0], [1, 1, 0, 0]) == pytest.approx((3 * 0.8 + 2 / 3) / 4)


def test_classification_regression_multilabel_metrics():
    probs = np.eye(3)[[0, 1, 2, 2, 1, 0]]
    m = classification_metrics([0, 1, 2, 1, 1, 2], probs, 3)
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 2, 1], [1, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_f1"] == pytest.approx(np.mean([2 / 3, 0.8, 0.5]))
    binary = classification_metrics([1, 0, 1, 1], [1, 0, 0, 1], 2)
    assert binary["binary_f1"] == pytest.approx(0.8) and "binary_f1" not in m
    r = regression_metrics(np.array([[1.0], [2.0], [4.0]]), np.array([1.5, 1.0, 4.0]))
    assert (r["mae"], r["mse"]) == (pytest.approx(0.5), pytest.approx(1.25 / 3))
    assert r["corr"] == pytest.approx(np.corrcoef([1, 2, 4], [1.5, 1, 4])[0, 1])
    ml = multilabel_metrics([[1, 0], [1, 1], [0, 1]], [[0.9, 0.2], [0.4, 0.8], [0.6, 0.7]])
    assert ml["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))  # tp 3, fp 1, fn 1
    assert ml["macro_f1"] == pytest.approx(np.mean([0.5, 1.0]))


class _LabelEcho:
    """A stand-in model predicting the label stored in the features (to test pairing and the math)."""

    task = mmzoo.Classification(3)

    def predict(self, x, verbose=0):
        return np.eye(3)[np.asarray(x["hint"]).astype(int)]


def test_evaluate_keeps_pairs_on_a_reshuffling_dataset_and_scores_mosi(tmp_path):
    labels = np.arange(30) % 3
    ds = mmzoo.data.from_arrays({"hint": labels.astype("float32")}, labels, batch_size=7, shuffle=True, seed=1)
    result = evaluate(_LabelEcho(), ds)
    assert result["accuracy"] == 1.0 and result["num_examples"] == 30
    assert result["confusion_matrix"] == (10 * np.eye(3, dtype=int)).tolist()

    splits = mosi(DUMMY, batch_size=8, features=("text", "audio"))
    model = mmzoo.build_model("early_fusion", splits.inputs, task=splits.task)
    scores = evaluate(model, splits.test, task=splits.task)
    x, y, _ = load_mosi_arrays(DUMMY, features=("text", "audio"))["test"]
    expected = mosi_metrics(y, model.predict(x, verbose=0))
    assert {k: scores[k] for k in expected} == pytest.approx(expected)
    assert scores["mse"] == pytest.approx(np.mean((model.predict(x, verbose=0) - y) ** 2), rel=1e-5)
    assert "acc7" not in evaluate(model, splits.test)  # model.task is a plain Regression
    assert "acc7" in evaluate(model, splits.test, metrics="mosi")

    fig = plot_confusion_matrix(result["confusion_matrix"], ["a", "b", "c"], tmp_path / "cm.png")
    assert (tmp_path / "cm.png").stat().st_size > 0 and fig.axes[0].get_xlabel() == "predicted"
    fig = plot_regression_scatter(y, model.predict(x, verbose=0), tmp_path / "scatter.png")
    assert (tmp_path / "scatter.png").stat().st_size > 0 and "MAE" in fig.axes[0].get_title()


# --- real data --------------------------------------------------------------------------------------
@pytest.mark.slow
@real_data
def test_real_avmnist_hard():
    arrays, info = load_avmnist_arrays(DATA_DIR, variant="hard")
    _check_avmnist_structure(arrays, info, 4)
    assert info["recordings"] == {"train": 2430, "validation": 270, "test": 300}
    assert info["pairs"] == {"train": 9720, "validation": 1080, "test": 1200}
    speakers = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
    expected = {f"{d}_{s}_{t}.wav" for d in range(10) for s in speakers for t in range(5)}
    assert set(arrays["test"]["files"]) == expected
    kept, cumulative = _energy(arrays, Path(DATA_DIR) / "mnist" / "mnist.npz")
    assert abs(kept - 0.25) < 0.02
    k = info["pca_components"]
    assert cumulative[k - 1] >= 0.25 > cumulative[k - 2]
    snr = _snr_db(arrays, "test", Path(DATA_DIR) / "fsdd" / "recordings")
    assert np.all(np.abs(snr - info["snr_db"]) < 0.5)
    print("\nAV-MNIST hard:", info, f"energy kept {kept:.4f}, SNR {snr.min():.3f}..{snr.max():.3f} dB")


@pytest.mark.slow
@real_data
def test_real_mosi_and_emoji_counts():
    arrays = load_mosi_arrays(DATA_DIR, audio_raw=True)
    sizes = {s: len(y) for s, (_, y, _) in arrays.items()}
    videos = {s: set(v.tolist()) for s, (_, _, v) in arrays.items()}
    assert sizes["train"] + sizes["validation"] == 1447 and sizes["test"] == 752
    assert len(videos["train"] | videos["validation"]) == 62 and len(videos["test"]) == 31
    assert len(videos["validation"]) == 9 and not videos["train"] & videos["validation"]
    assert not videos["test"] & (videos["train"] | videos["validation"])
    assert all(np.abs(y).max() <= 3 and np.abs(y).max() == 3 for _, y, _ in (arrays["train"], arrays["test"]))
    emoji_arrays, categories = load_emoji_arrays(DATA_DIR)
    labels = np.concatenate([y for _, y in emoji_arrays.values()])
    assert len(labels) == 1906 and len(categories) == 9 and set(labels.tolist()) == set(range(9))
    print("\nMOSI:", sizes, "emoji:", {s: len(y) for s, (_, y) in emoji_arrays.items()})
