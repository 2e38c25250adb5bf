"""infer_inputs, string labels in mmzoo.data, adapt on DataFrames, class names on the model."""

import glob
import os

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.data import decode, from_csv, from_dataframe
from mmzoo.data.infer import describe_spec
from mmzoo.tasks.infer import infer_task
from tests.conftest import DATA_DIR, requires_data


def write_png(path, height, width, channels=3, value=0):
    tf.io.write_file(str(path), tf.io.encode_png(np.full((height, width, channels), value, "uint8")))


def write_wav(path, seconds, rate=8000):
    samples = np.zeros((int(rate * seconds), 1), "float32")
    tf.io.write_file(str(path), tf.audio.encode_wav(samples, rate))


@pytest.fixture
def images(tmp_path):
    for i in range(5):
        write_png(tmp_path / f"{i}.png", 16, 12)
    write_png(tmp_path / "small.png", 8, 8)
    return [f"{i}.png" for i in range(5)] + ["small.png"]


def test_each_kind_of_column_gets_its_spec_and_a_reason(tmp_path, images, capsys):
    df = pd.DataFrame(
        {
            "poster": images,
            "caption": ["a red dot", "two cats", "sky", "x y z", "a", "b c"],
            "year": [1999, 2001, 2003, 1987, 2010, 2011],
            "emb": [[0.1, 0.2]] * 6,
            "id": range(6),
            "label": list("abcabc"),
        }
    )
    inputs = mmzoo.infer_inputs(df, "label", base_dir=tmp_path)
    specs = {spec.name: spec for spec in inputs}
    assert sorted(specs) == ["caption", "emb", "poster", "year"]
    assert specs["poster"].shape == (16, 12, 3)  # the most common size (5 of 6)
    assert isinstance(specs["caption"], mmzoo.Text) and specs["caption"].sequence_length == 3
    assert specs["year"].shape == (1,) and specs["emb"].shape == (2,)
    table = capsys.readouterr().out
    assert "16x12 in 5" in table and "8x8: 1" in table and "resized" in table
    assert "integer id" in table and "skipped rows: none" in table
    # the specs feed the data pipeline and a model as they are
    mmzoo.adapt(inputs, df.rename(columns={}))
    ds = from_dataframe(
        df,
        list(inputs),
        label="label",
        base_dir=tmp_path,
        class_names=["a", "b", "c"],
        resize_images=True,
        batch_size=6,
    )
    x, y = next(iter(ds))
    assert tuple(x["poster"].shape) == (6, 16, 12, 3) and y.numpy().tolist() == [0, 1, 2, 0, 1, 2]


@requires_data
def test_audio_duration_is_a_high_percentile_of_the_real_fsdd_clip_lengths():
    files = sorted(glob.glob(os.path.join(DATA_DIR, "fsdd", "recordings", "*_jackson_*.wav")))[:200]
    df = pd.DataFrame({"voice": files, "digit": [os.path.basename(f)[0] for f in files]})
    inputs = mmzoo.infer_inputs(df, "digit", verbose=False)
    lengths = [decode.read_wav_header(f).num_frames / 8000 for f in files]
    (voice,) = inputs
    assert voice.sample_rate == 8000
    assert np.percentile(lengths, 95) <= voice.seconds <= np.percentile(lengths, 95) + 0.01
    assert "95th percentile" in inputs.rows[0].why


def test_overrides_replace_fields_take_specs_and_drop_columns(tmp_path, images):
    df = pd.DataFrame({"poster": images, "note": list("uvwxyz"), "My Score": np.arange(6.0), "y": [0, 1] * 3})
    given = mmzoo.Text("note", vocabulary_size=50, sequence_length=2)
    inputs = mmzoo.infer_inputs(
        df,
        "y",
        base_dir=tmp_path,
        verbose=False,
        overrides={"poster": {"shape": (8, 8, 1)}, "note": given, "My Score": None},
    )
    assert [describe_spec(s) for s in inputs] == [
        "Image(shape=(8, 8, 1))",
        "Text(vocabulary_size=50, sequence_length=2)",
    ]
    assert inputs[1] is given and [r.kind for r in inputs.rows] == ["image", "text", "dropped"]
    forced = mmzoo.infer_inputs(
        df,
        "y",
        base_dir=tmp_path,
        verbose=False,
        overrides={"My Score": {"kind": "text"}, "note": None, "poster": None},
    )
    assert forced.columns == {"My_Score": "My Score"} and isinstance(forced[0], mmzoo.Text)
    with pytest.raises(ValueError, match=r"overrides\['nope'\].*input columns are: poster, note, My Score"):
        mmzoo.infer_inputs(df, "y", overrides={"nope": None}, verbose=False)
    with pytest.raises(ValueError, match=r"overrides\['poster'\].*Image takes shape, dtype"):
        mmzoo.infer_inputs(df, "y", base_dir=tmp_path, overrides={"poster": {"rate": 2}}, verbose=False)


def test_a_column_mixing_images_and_audio_is_an_error_naming_it(tmp_path):
    df = pd.DataFrame({"media": ["a.png", "b.wav", "c.png"], "y": [0, 1, 0]})
    with pytest.raises(
        ValueError,
        match=r"Column 'media' mixes image files \(2 rows, e.g. 'a.png'\) and audio "
        r"files \(1 rows, e.g. 'b.wav'\).*Split it",
    ):
        mmzoo.infer_inputs(df, "y", verbose=False)
    with pytest.raises(ValueError, match=r"Column 'song' holds .mp3 files.*does not read"):
        mmzoo.infer_inputs(pd.DataFrame({"song": ["a.mp3"], "y": [1]}), "y", verbose=False)


def test_missing_and_broken_files_are_summarised_as_skipped_rows(tmp_path, images):
    write_wav(tmp_path / "ok.wav", 0.5)
    (tmp_path / "broken.wav").write_bytes(b"not a wav")
    df = pd.DataFrame(
        {"poster": images[:2] + ["gone.png"], "voice": ["ok.wav", "broken.wav", "ok.wav"], "y": [0, 1, 0]},
        index=["r1", "r2", "r3"],
    )
    inputs = mmzoo.infer_inputs(df, "y", base_dir=tmp_path, verbose=False)
    assert set(inputs.skipped) == {"r2", "r3"}
    summary = inputs.skipped_summary()
    assert "skipped rows: 2" in summary and "missing file" in summary and "unreadable WAV" in summary
    assert "row 'r2' (DataFrame index)" in summary


def test_label_and_table_errors_name_what_is_wrong(tmp_path):
    df = pd.DataFrame({"text": ["a", "b"], "y": [0, 1]})
    with pytest.raises(ValueError, match=r"Label column 'category' is not in .*its columns are: text, y"):
        mmzoo.infer_inputs(df, "category", verbose=False)
    with pytest.raises(ValueError, match="has no rows"):
        mmzoo.infer_inputs(df.iloc[:0], "y", verbose=False)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match=r"empty.csv' is empty: expected a header line"):
        mmzoo.infer_inputs(str(tmp_path / "empty.csv"), "y", verbose=False)


@pytest.mark.parametrize(
    "values,kind,names",
    [
        (["cat", "dog", "cat"], "classification", ["cat", "dog"]),
        ([3, 1, 2, 1], "classification", ["1", "2", "3"]),
        ([0.5, 1.25, 3.0], "regression", None),
        (["a|b", "b", ""], "multilabel", ["a", "b"]),
        ([["x"], ["x", "y"], []], "multilabel", ["x", "y"]),
    ],
)
def test_the_task_follows_the_label_values(values, kind, names):
    task, _ = infer_task(pd.DataFrame({"y": values}), "y")
    assert task.kind == kind
    assert (getattr(task, "class_names", None) or getattr(task, "label_names", None)) == names


def test_string_labels_map_to_class_ids_and_an_unseen_one_names_label_and_row(tmp_path):
    df = pd.DataFrame({"text": ["a", "b", "c"], "y": ["dog", "cat", "dog"]})
    spec = mmzoo.Text("text", vocabulary=["a", "b", "c"])
    task = mmzoo.Classification(num_classes=2, class_names=["cat", "dog"])
    _, y = next(iter(from_dataframe(df, [spec], label="y", task=task)))
    assert y.numpy().tolist() == [1, 0, 1]
    df.loc[1, "y"] = "cow"
    with pytest.raises(
        ValueError,
        match=r"the label 'cow' is not one of the 2 class names \('cat', 'dog'\) "
        r"\(row 1 of the DataFrame",
    ):
        from_dataframe(df, [spec], label="y", class_names=["cat", "dog"])
    df.to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(ValueError, match=r"'cow' \(line 3 of the CSV file\).*row 1 of '.*test.csv'"):
        from_csv(str(tmp_path / "test.csv"), [spec], label="y", class_names=["cat", "dog"])
    ds, report = from_dataframe(df, [spec], label="y", class_names=["cat", "dog"], on_error="skip", with_report=True)
    assert report.skipped_rows == [1] and report.reasons() == {"unknown label": 1}


def test_label_sets_and_label_columns_give_multi_hot_vectors():
    spec = mmzoo.Text("text", vocabulary=["a"])
    df = pd.DataFrame({"text": ["a"] * 3, "tags": ["x|y", "", "y"], "x": [1, 0, 0], "y": [1, 0, 1]})
    task = mmzoo.MultiLabel(num_labels=2, label_names=["x", "y"])
    _, from_sets = next(iter(from_dataframe(df, [spec], label="tags", task=task)))
    _, from_columns = next(iter(from_dataframe(df, [spec], label=["x", "y"])))
    assert from_sets.numpy().tolist() == from_columns.numpy().tolist() == [[1, 1], [0, 0], [0, 1]]
    with pytest.raises(ValueError, match=r"the label 'z'"):
        from_dataframe(df.assign(tags=["x|z", "", "y"]), [spec], label="tags", task=task)
