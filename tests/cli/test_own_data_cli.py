"""Your own CSV on the command line: `train --data`, a `data:` config, `evaluate --data`, `predict --data`.

The data are real: Twemoji artwork written as PNG files beside the CSVs,
their CLDR names as a text column, and the Unicode category as a string label.
"""

import contextlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import yaml

from mmzoo.cli.commands import main
from tests.helpers import run_cli

CATEGORIES = ("Flags", "Food & Drink", "Smileys & Emotion")  # class names with spaces and "&"
TRAIN_ROWS, TEST_ROWS = 6, 2  # per category
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(p for p in [os.getcwd(), os.environ.get("PYTHONPATH")] if p),
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def _emoji():
    path = os.path.join(os.environ.get("MMZOO_DATA", ""), "emoji", "emoji_twitter64.npz")
    if not os.path.isfile(path):
        pytest.skip(f"real emoji data not found at {path} (set MMZOO_DATA)")
    return np.load(path, allow_pickle=True)


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    """train.csv, test.csv and new.csv (no label, columns reordered, an extra column) of emoji PNGs + names."""
    data = _emoji()
    folder = tmp_path_factory.mktemp("own_data")
    (folder / "images").mkdir()
    rows = {"train": [], "test": []}
    categories = list(data["categories"])
    for category in CATEGORIES:
        picked = np.flatnonzero(data["label"] == categories.index(category))[: TRAIN_ROWS + TEST_ROWS]
        for k, i in enumerate(picked):
            path = f"images/{i}.png"  # relative to the CSV's folder
            tf.io.write_file(str(folder / path), tf.io.encode_png(data["images"][i]))
            split = "train" if k < TRAIN_ROWS else "test"
            rows[split].append({"picture": path, "name": str(data["text"][i]), "category": category})
    for split, records in rows.items():
        pd.DataFrame(records).to_csv(folder / f"{split}.csv", index=False)
    new = pd.DataFrame(rows["test"]).drop(columns="category")
    new.insert(0, "id", [f"e{i}" for i in range(len(new))])
    new[["name", "id", "picture"]].to_csv(folder / "new.csv", index=False)
    return folder


def _cli(*args):
    """`python -m mmzoo ARGS` in this process, for module fixtures (no capsys): `(code, stdout, stderr)`."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
            err.write(str(exit_.code))
    return code, out.getvalue(), err.getvalue()


TRAIN_FLAGS = ["--label", "category", "--epochs", "1", "--batch-size", "8", "--validation", "0.2"]


@pytest.fixture(scope="module")
def run(csvs):
    """A run folder trained end to end by `python -m mmzoo train --data ... --label ...` in a new process."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmzoo",
            "train",
            "--data",
            str(csvs / "train.csv"),
            "--test",
            str(csvs / "test.csv"),
            *TRAIN_FLAGS,
            "--output",
            str(csvs / "runs"),
            "--run-name",
            "cli",
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return csvs / "runs" / "cli", result.stdout


def test_train_data_writes_a_run_with_class_names(run):
    folder, out = run
    assert "Test metrics: accuracy=" in out and f"Artifacts in {folder}/" in out
    for name in ("model.keras", "savedmodel", "config.yaml", "config.json", "inputs.txt"):
        assert (folder / name).exists(), name
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert "dataset" not in config and config["data"]["label"] == "category"
    assert os.path.isabs(config["data"]["csv"])  # the saved config repeats the run from any folder
    task = json.loads((folder / "savedmodel" / "assets.extra" / "mmzoo.json").read_text())["task"]
    assert task["class_names"] == list(CATEGORIES)


def test_yaml_data_section_trains_the_same_way(csvs, run, capsys):
    config = csvs / "experiment.yaml"  # csv and test relative to the YAML file's folder
    config.write_text(
        "data: {csv: train.csv, label: category, test: test.csv, validation: 0.2}\n"
        "training: {epochs: 1, batch_size: 8}\n"
    )
    code, out, err = run_cli(
        "train", "--config", str(config), "--output", str(csvs / "runs"), "--run-name", "yaml", capsys=capsys
    )
    assert code == 0, err
    assert "Test metrics: accuracy=" in out
    by_yaml, by_flags = (yaml.safe_load((csvs / "runs" / n / "config.yaml").read_text()) for n in ("yaml", "cli"))
    by_yaml["export"].pop("run_name"), by_flags["export"].pop("run_name")
    assert by_yaml == by_flags


def test_evaluate_data_prints_metrics_and_a_labelled_confusion_matrix(csvs, run, capsys):
    folder, _ = run
    code, out, err = run_cli(
        "evaluate", "--model", str(folder), "--data", str(csvs / "test.csv"), capsys=capsys
    )  # the label column is the run's
    assert code == 0, err
    shown = json.loads(out[: out.index("Written to")])
    assert shown["num_examples"] == TEST_ROWS * len(CATEGORIES) and 0 <= shown["accuracy"] <= 1
    written = folder / "evaluation-test"
    metrics = json.loads((written / "metrics.json").read_text())
    assert metrics["class_names"] == list(CATEGORIES)
    assert np.asarray(metrics["confusion_matrix"]).sum(axis=1).tolist() == [TEST_ROWS] * len(CATEGORIES)
    assert (written / "confusion_matrix.png").stat().st_size > 1000


@pytest.mark.parametrize("artifact", ["", "savedmodel"])
def test_predict_data_writes_one_row_per_input_with_class_names(csvs, run, capsys, artifact):
    folder, _ = run
    target = csvs / f"predictions{artifact}.csv"
    code, out, err = run_cli(
        "predict",
        "--model",
        str(folder / artifact),
        "--data",
        str(csvs / "new.csv"),
        "--output",
        str(target),
        capsys=capsys,
    )
    assert code == 0, err
    table = pd.read_csv(target)
    new = pd.read_csv(csvs / "new.csv")
    assert len(table) == len(new) and table["id"].tolist() == new["id"].tolist()  # the CSV's rows, in order
    probabilities = table[[f"probability_{c}" for c in CATEGORIES]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert table["predicted"].tolist() == [CATEGORIES[i] for i in probabilities.argmax(axis=1)]
    assert f"{len(new)} predictions written" in out and f"row 0: {table['predicted'][0]}" in out

    # columns by name: the same rows in another column order predict the same
    same = csvs / "train_reordered.csv"
    pd.read_csv(csvs / "test.csv")[["category", "picture", "name"]].to_csv(same, index=False)
    code, out, err = run_cli("predict", "--model", str(folder / artifact), "--data", str(same), capsys=capsys)
    assert code == 0, err
    printed = pd.read_csv(io.StringIO(out))
    np.testing.assert_allclose(printed[[f"probability_{c}" for c in CATEGORIES]].to_numpy(), probabilities, atol=1e-5)


SERVE = """
import sys
for name in ("keras", "tf_keras", "mmzoo"):  # blocked: the names must come from the SavedModel's graph alone
    sys.modules[name] = None
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1])
png = tf.io.read_file(sys.argv[2])
out = served.signatures["serve_bytes"](picture=tf.stack([png, png]), name=tf.constant(["flag", "pizza"]))
pixels = served.signatures["serve"].structured_input_signature[1]["picture"]
raw = served.signatures["serve"](picture=tf.cast(tf.io.decode_png(png)[None], pixels.dtype), name=tf.constant(["flag"]))
print(out["top_class"].numpy()[0].decode(), raw["top_class"].numpy()[0].decode(),
      int(tf.argmax(out["probabilities"][0])), [n.decode() for n in out["top_k_classes"].numpy()[0]], sep="|")
"""


def test_savedmodel_signatures_return_class_names_without_mmzoo(csvs, run):
    folder, _ = run
    image = next(p for p in sorted((csvs / "images").iterdir()))
    result = subprocess.run(
        [sys.executable, "-c", SERVE, str(folder / "savedmodel"), str(image)],
        env={**ENV, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    top, top_raw, argmax, ranked = result.stdout.strip().splitlines()[-1].split("|")
    assert top == CATEGORIES[int(argmax)] and top_raw in CATEGORIES
    assert sorted(eval(ranked)) == sorted(CATEGORIES) and eval(ranked)[0] == top  # noqa: S307 - a printed list


def test_help_shows_own_data_first(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    examples = [line.strip() for line in text.splitlines() if line.strip().startswith("python -m mmzoo train")]
    assert examples[0].startswith("python -m mmzoo train --data train.csv --label")
    assert text.index("--data CSV") < text.index("--dataset DATASET")


def _error(capsys, *args):
    code, out, err = run_cli(*args, capsys=capsys)
    assert code != 0
    return err


def test_missing_label_column_is_named_with_the_columns(csvs, capsys):
    err = _error(
        capsys,
        "train",
        "--data",
        str(csvs / "train.csv"),
        "--label",
        "kind",
        "--output",
        str(csvs / "bad"),
        "--run-name",
        "label",
    )
    assert "--label kind: no such column in" in err and "train.csv" in err
    assert "'picture', 'name', 'category'" in err
    assert not (csvs / "bad" / "label").exists()  # no empty run folder left behind


@pytest.mark.parametrize("text, message", [("", "is empty"), ("picture,name,category\n", "no rows")])
def test_empty_csv_is_an_error_naming_the_file(csvs, capsys, text, message):
    path = csvs / "empty.csv"
    path.write_text(text)
    err = _error(capsys, "train", "--data", str(path), "--label", "category", "--output", str(csvs / "bad"))
    assert message in err and f"--data {path}" in err
    err = _error(capsys, "predict", "--model", "unused.keras", "--data", str(path))
    assert message in err


def test_data_and_dataset_together_are_refused(csvs, capsys):
    err = _error(
        capsys, "train", "--data", str(csvs / "train.csv"), "--label", "category", "--dataset", "avmnist_sample"
    )
    assert "--data and --dataset are both given" in err
    config = csvs / "both.yaml"
    config.write_text("data: {csv: train.csv, label: category}\ndataset: {name: avmnist_sample}\n")
    err = _error(capsys, "train", "--config", str(config))
    assert "data and dataset: both are set" in err and "both.yaml" in err


def test_predict_data_without_an_input_column_names_it(csvs, run, capsys):
    folder, _ = run
    path = csvs / "no_picture.csv"
    pd.read_csv(csvs / "new.csv").drop(columns="picture").to_csv(path, index=False)
    err = _error(capsys, "predict", "--model", str(folder), "--data", str(path))
    assert "'picture' (image)" in err and "'name', 'id'" in err


def test_evaluate_data_with_an_unknown_class_names_the_row(csvs, run, capsys):
    folder, _ = run
    path = csvs / "unknown_class.csv"
    table = pd.read_csv(csvs / "test.csv")
    table.loc[1, "category"] = "Dinosaurs"
    table.to_csv(path, index=False)
    err = _error(capsys, "evaluate", "--model", str(folder), "--data", str(path), "--label", "category")
    assert "Dinosaurs" in err and "row 1" in err
