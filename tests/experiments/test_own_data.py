"""mmzoo.fit on your own CSVs: real emoji images and FSDD recordings, and the errors users meet first."""

import glob
import json
import os

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.datasets.emoji import stratified_split
from tests.conftest import DATA_DIR, requires_data

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# the encoder of the emoji benchmark's protocol (benchmarks/accuracy.py, SMALL_CNN)
SMALL_CNN = ("cnn", {"filters": (16, 32), "units": 64})


def emoji_csvs(folder):
    """train/validation/test CSVs (image path, name, category string) with the benchmark's 70/15/15 split."""
    with np.load(os.path.join(DATA_DIR, "emoji", "emoji_twitter64.npz")) as data:
        images, text, labels = data["images"], data["text"], data["label"]
        categories = [str(c) for c in data["categories"]]
    os.makedirs(folder / "images")
    for i, pixels in enumerate(images):
        tf.io.write_file(str(folder / "images" / f"{i}.png"), tf.io.encode_png(pixels))
    df = pd.DataFrame(
        {
            "image": [f"images/{i}.png" for i in range(len(images))],
            "name": text.astype(str),
            "category": [categories[k] for k in labels],
        }
    )
    split = stratified_split(labels, 0.15, 0.15, seed=0)
    paths = {}
    for name in ("train", "validation", "test"):
        paths[name] = str(folder / f"{name}.csv")
        df[split == name].to_csv(paths[name], index=False)
    return paths, categories


@pytest.mark.slow
@requires_data
def test_emoji_csv_trains_to_the_benchmark_accuracy(tmp_path):
    paths, categories = emoji_csvs(tmp_path)
    model, result = mmzoo.fit(
        paths["train"],
        "category",
        validation=paths["validation"],
        test=paths["test"],
        epochs=20,
        patience=5,
        encoders={"image": SMALL_CNN},
        verbose=0,
    )
    assert [type(s).__name__ for s in result.inputs] == ["Image", "Text"]
    assert model.class_names == sorted(categories) and result.sizes == {"train": 1332, "validation": 287, "test": 287}
    test = pd.read_csv(paths["test"])
    majority = test["category"].value_counts(normalize=True).iloc[0]
    accuracy = result.metrics["test"]["accuracy"]
    # benchmarks/RESULTS.md, emoji, early_fusion: 65.4 +- 2.2 % over 5 seeds (same split, encoder, 20 epochs,
    # patience 5); the lower end of its 2-std range is 61.0 %, far above the majority class (~20 %).
    assert accuracy >= 0.61 > majority + 0.3, (accuracy, majority)
    predicted = model.predict_classes(
        {
            "image": np.stack(
                [tf.io.decode_png(tf.io.read_file(str(tmp_path / p))).numpy() for p in test["image"][:4]]
            ),
            "name": test["name"][:4].to_numpy(object),
        }
    )
    assert set(predicted) <= set(categories)


def fsdd_frame(speakers, takes, seed):
    """FSDD recordings with a noisy transcript: the spoken word half the time, a random digit word otherwise."""
    rng = np.random.default_rng(seed)
    rows = []
    for path in sorted(glob.glob(os.path.join(DATA_DIR, "fsdd", "recordings", "*.wav"))):
        digit, speaker, take = os.path.basename(path)[:-4].split("_")
        if speaker in speakers and int(take) in takes:
            heard = DIGITS[int(digit)] if rng.random() < 0.5 else DIGITS[rng.integers(10)]
            rows.append({"voice": path, "transcript": f"i heard {heard}", "digit": DIGITS[int(digit)]})
    return pd.DataFrame(rows)


@pytest.mark.slow
@requires_data
def test_spoken_digits_with_noisy_transcripts_train_well_above_chance_and_save_a_run(tmp_path):
    speakers = ("jackson", "nicolas", "theo")
    train = fsdd_frame(speakers, range(5, 25), seed=0)
    test = fsdd_frame(speakers, range(0, 5), seed=1)
    model, result = mmzoo.fit(
        train, "digit", test=test, validation=0.15, epochs=8, patience=3, output=str(tmp_path / "run"), verbose=0
    )
    assert [type(s).__name__ for s in result.inputs] == ["Audio", "Text"]
    assert result.inputs[0].sample_rate == 8000 and model.class_names == sorted(DIGITS)
    # chance is 10 %; the transcript alone is right half the time
    assert result.metrics["test"]["accuracy"] >= 0.4, result.metrics
    run = tmp_path / "run"
    for name in ("model.keras", "savedmodel", "metrics.json", "config.json", "inputs.txt"):
        assert (run / name).exists(), name
    config = json.loads((run / "config.json").read_text())
    assert config["task"]["class_names"] == sorted(DIGITS) and config["columns"] == {
        "voice": "voice",
        "transcript": "transcript",
    }
    assert "95th percentile" in (run / "inputs.txt").read_text()
    reloaded = keras.saving.load_model(str(run / "model.keras"))
    assert reloaded.class_names == sorted(DIGITS)


# --- errors ------------------------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path):
    for i in range(6):
        tf.io.write_file(str(tmp_path / f"{i}.png"), tf.io.encode_png(np.full((8, 8, 3), 30 * i, "uint8")))
    return tmp_path


def write_csv(path, df):
    df.to_csv(path, index=False)
    return str(path)


def frame(n=6):
    return pd.DataFrame({"picture": [f"{i}.png" for i in range(n)], "kind": ["cat", "dog"] * (n // 2)})


def test_a_missing_file_names_the_file_and_row(folder):
    csv = write_csv(folder / "train.csv", frame().replace({"picture": {"3.png": "lost.png"}}))
    with pytest.raises(FileNotFoundError, match=r"lost.png', row 3 of '.*train.csv', column 'picture'"):
        mmzoo.fit(csv, "kind", validation=None, epochs=1, verbose=0)


def test_a_label_unseen_in_training_names_the_label_and_row(folder):
    train = write_csv(folder / "train.csv", frame())
    test = write_csv(folder / "test.csv", frame().replace({"kind": {"dog": "cow"}}))
    with pytest.raises(
        ValueError,
        match=r"the label 'cow' \(line 3 of the CSV file\) is not one of the 2 class "
        r"names \('cat', 'dog'\).*row 1 of '.*test.csv', column 'kind'",
    ):
        mmzoo.fit(train, "kind", test=test, validation=None, epochs=1, verbose=0)


def test_a_column_mixing_images_and_audio_is_named(folder):
    csv = write_csv(folder / "train.csv", frame().assign(picture=["0.png", "a.wav"] * 3))
    with pytest.raises(ValueError, match=r"Column 'picture' mixes image files"):
        mmzoo.fit(csv, "kind", epochs=1, verbose=0)


def test_a_label_column_that_does_not_exist_is_named_with_the_columns(folder):
    csv = write_csv(folder / "train.csv", frame())
    with pytest.raises(
        ValueError,
        match=r"Label column 'category' is not in the train data; its columns are: "
        r"picture, kind",
    ):
        mmzoo.fit(csv, "category", epochs=1, verbose=0)


def test_an_empty_csv_is_an_error(folder):
    (folder / "empty.csv").write_text("")
    with pytest.raises(ValueError, match=r"empty.csv' is empty"):
        mmzoo.fit(str(folder / "empty.csv"), "kind", epochs=1, verbose=0)
    header_only = write_csv(folder / "header.csv", frame().iloc[:0])
    with pytest.raises(ValueError, match=r"The train data has no rows \(columns: picture, kind\)"):
        mmzoo.fit(header_only, "kind", epochs=1, verbose=0)
