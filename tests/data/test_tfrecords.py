"""Sharded TFRecords: exact round trip of every modality and label kind, sharding, atomic rewrites,
and errors that name the file and the input (missing shard, sidecar that does not match the records,
record of the wrong dtype or shape)."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.data.arrays import from_arrays
from mmzoo.data.tfrecords import from_tfrecords, to_tfrecords

N = 11


def every_modality(rng):
    """Specs and arrays for every modality and dtype the zoo takes, Text specs adapted."""
    text = np.array(["a good film", "", "ünïcode wörds ✓", "bad bad film"] * 3, dtype=object)[:N]
    inputs = [
        mmzoo.Text("review", vocabulary_size=32, sequence_length=5),
        mmzoo.Text("bag", vocabulary_size=32, output_mode="tf_idf"),
        mmzoo.Text("tokens", sequence_length=4, token_ids=True),
        mmzoo.Image("photo", shape=(6, 5, 3)),
        mmzoo.Image("depth", shape=(4, 4, 1), dtype="float32"),
        mmzoo.Audio("voice", sample_rate=1000, seconds=0.05),
        mmzoo.Features("acoustic", shape=(5,)),
        mmzoo.Features("frames", shape=(3, 2), normalize=False),
    ]
    x = {
        "review": text,
        "bag": text,
        "tokens": rng.integers(0, 30, (N, 4)).astype("int32"),
        "photo": rng.integers(0, 256, (N, 6, 5, 3)).astype("uint8"),
        "depth": rng.random((N, 4, 4, 1)).astype("float32"),
        "voice": rng.uniform(-1, 1, (N, 50)).astype("float32"),
        "acoustic": rng.standard_normal((N, 5)).astype("float32"),
        "frames": rng.standard_normal((N, 3, 2)).astype("float32"),
    }
    for spec in inputs:
        spec.adapt(x[spec.name])
    return inputs, x


def collect(ds):
    """All batches of `ds` concatenated: ({name: array}, labels) or {name: array}."""
    batches = list(ds.as_numpy_iterator())
    join = lambda parts: np.concatenate(parts)  # noqa: E731
    if isinstance(batches[0], dict):
        return {k: join([b[k] for b in batches]) for k in batches[0]}
    return {k: join([b[0][k] for b in batches]) for k in batches[0][0]}, join([b[1] for b in batches])


def test_every_modality_round_trips_exactly_in_written_order(tmp_path):
    inputs, x = every_modality(np.random.default_rng(0))
    y = np.arange(N, dtype="int64")
    ds = from_arrays(x, y, inputs=inputs, batch_size=4)
    sidecar = to_tfrecords(ds, str(tmp_path / "train"), inputs, num_shards=3)
    assert sidecar == str(tmp_path / "train.json")
    read, specs = from_tfrecords(str(tmp_path / "train"), batch_size=5)
    assert int(read.cardinality()) == 3  # known: Keras sizes epochs from it
    features, labels = collect(read)
    assert labels.dtype == np.int64 and np.array_equal(labels, y)  # unshuffled: the written order
    for spec in inputs:
        got = features[spec.name]
        if spec.dtype == "string":
            assert got.dtype == object and list(got) == [s.encode() for s in x[spec.name]]
        else:
            assert got.dtype == x[spec.name].dtype and np.array_equal(got, x[spec.name]), spec.name
    for old, new in zip(inputs, specs):
        assert type(new) is type(old) and new.name == old.name and new.shape == old.shape
    review, bag, acoustic = specs[0], specs[1], specs[6]
    assert review.get_vocabulary() == inputs[0].get_vocabulary() and review.adapted
    assert bag.get_vocabulary() == inputs[1].get_vocabulary()
    sample = tf.constant(["good film", ""])
    np.testing.assert_array_equal(bag._vectorize_layer()(sample), inputs[1]._vectorize_layer()(sample))
    np.testing.assert_array_equal(review._vectorize_layer()(sample), inputs[0]._vectorize_layer()(sample))
    np.testing.assert_array_equal(acoustic._normalizer(x["acoustic"]), inputs[6]._normalizer(x["acoustic"]))


@pytest.mark.parametrize("kind", ["multi_hot", "regression", "features_only"])
def test_label_kinds_round_trip(tmp_path, kind):
    rng = np.random.default_rng(1)
    spec = mmzoo.Features("x", shape=(2,), normalize=False)
    x = {"x": rng.standard_normal((7, 2)).astype("float32")}
    y = {
        "multi_hot": (rng.random((7, 4)) > 0.5).astype("float32"),
        "regression": rng.standard_normal(7).astype("float32"),
        "features_only": None,
    }[kind]
    to_tfrecords(from_arrays(x, y, batch_size=3), str(tmp_path / "d"), [spec], num_shards=2, compression=None)
    read, _ = from_tfrecords(str(tmp_path / "d.json"), batch_size=7)
    if y is None:
        got = collect(read)
        assert isinstance(read.element_spec, dict)
    else:
        got, labels = collect(read)
        assert labels.dtype == y.dtype and labels.shape == y.shape and np.array_equal(labels, y)
    assert np.array_equal(got["x"], x["x"])


def test_shards_hold_every_record_exactly_once(tmp_path):
    spec = mmzoo.Features("id", shape=(1,), normalize=False)
    ids = np.arange(10, dtype="float32")[:, None]
    unbatched = tf.data.Dataset.from_tensor_slices(({"id": ids}, np.arange(10)))  # unbatched input works too
    to_tfrecords(unbatched, str(tmp_path / "s"), [spec], num_shards=4)
    meta = json.loads((tmp_path / "s.json").read_text())
    assert [s["records"] for s in meta["shards"]] == [3, 3, 2, 2] and meta["num_records"] == 10
    seen = []
    for shard in meta["shards"]:  # each file on its own, parsed without mmzoo
        for record in tf.data.TFRecordDataset(str(tmp_path / shard["file"]), compression_type="GZIP"):
            example = tf.train.Example.FromString(record.numpy())
            value = example.features.feature["x/id"].bytes_list.value[0]
            seen.append(float(tf.io.parse_tensor(value, tf.float32)[0]))
    assert sorted(seen) == list(range(10))
    read, _ = from_tfrecords(str(tmp_path / "s"), batch_size=4, shuffle=True, seed=3)
    features, labels = collect(read)
    assert sorted(labels) == list(range(10)) and np.array_equal(features["id"][:, 0], labels)
    assert list(labels) != list(range(10))  # shuffled


def test_rewrite_replaces_old_shards_and_failed_write_keeps_previous(tmp_path):
    spec = mmzoo.Features("v", shape=(2,), normalize=False)
    prefix = str(tmp_path / "r")
    to_tfrecords(from_arrays({"v": np.ones((6, 2), "float32")}, np.arange(6)), prefix, [spec], num_shards=3)
    to_tfrecords(from_arrays({"v": np.zeros((4, 2), "float32")}, np.arange(4)), prefix, [spec], num_shards=2)
    assert sorted(os.listdir(tmp_path)) == ["r-00000-of-00002.tfrecord", "r-00001-of-00002.tfrecord", "r.json"]
    # A record of the wrong shape, found only while streaming (the static shape is unknown).
    gen = tf.data.Dataset.from_generator(
        lambda: iter([np.zeros(2, "float32"), np.zeros(3, "float32")]),
        output_signature=tf.TensorSpec([None], tf.float32),
    )
    with pytest.raises(ValueError, match=r"Features input 'v' of record 1 has shape \(3,\)"):
        to_tfrecords(gen.map(lambda v: {"v": v}), prefix, [spec], num_shards=2)
    assert sorted(os.listdir(tmp_path)) == ["r-00000-of-00002.tfrecord", "r-00001-of-00002.tfrecord", "r.json"]
    _, labels = collect(from_tfrecords(prefix, batch_size=8)[0])
    assert list(labels) == [0, 1, 2, 3]


def test_write_errors_name_the_input(tmp_path):
    spec = mmzoo.Image("img", shape=(2, 2, 1))
    wrong = tf.data.Dataset.from_tensor_slices({"img": np.zeros((3, 2, 2, 1), "float32")})
    with pytest.raises(ValueError, match=r"Image input 'img' expects uint8.*yields float32"):
        to_tfrecords(wrong, str(tmp_path / "w"), [spec])
    with pytest.raises(ValueError, match=r"Image input 'img' is missing from the dataset"):
        to_tfrecords(tf.data.Dataset.from_tensor_slices({"other": np.zeros(3)}), str(tmp_path / "w"), [spec])
    assert not os.path.exists(tmp_path / "w.json")


@pytest.fixture
def written(tmp_path):
    inputs = [mmzoo.Image("img", shape=(2, 2, 1)), mmzoo.Features("f", shape=(3,), normalize=False)]
    x = {"img": np.zeros((5, 2, 2, 1), "uint8"), "f": np.ones((5, 3), "float32")}
    to_tfrecords(from_arrays(x, np.arange(5), inputs=inputs), str(tmp_path / "e"), inputs, num_shards=2)
    return tmp_path


def edit_sidecar(folder, change):
    meta = json.loads((folder / "e.json").read_text())
    change(meta)
    (folder / "e.json").write_text(json.dumps(meta))


def iterate(folder):
    for _ in from_tfrecords(str(folder / "e"), batch_size=2)[0]:
        pass


def test_missing_shard_is_named(written):
    os.remove(written / "e-00001-of-00002.tfrecord")
    with pytest.raises(FileNotFoundError, match=r"shard '.*e-00001-of-00002\.tfrecord'.*sidecar '.*e\.json'"):
        from_tfrecords(str(written / "e"))


def test_record_of_wrong_dtype_names_input_and_file(written):
    edit_sidecar(written, lambda m: m["inputs"][0].update(dtype="float32"))
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"(?s)Image input `img`.*e-00000-of-00002\.tfrecord.*float32.*uint8"
    ):
        iterate(written)


def test_record_of_wrong_shape_names_input_and_file(written):
    edit_sidecar(written, lambda m: m["inputs"][1].update(shape=[4]))
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"(?s)Features input `f`.*e-00000-of-00002\.tfrecord.*shape \(4,\).*3"
    ):
        iterate(written)


@pytest.mark.parametrize("records,found", [(2, "more than 2"), (4, "3")])
def test_record_count_that_does_not_match_the_sidecar_names_the_file(written, records, found):
    def change(meta):
        meta["shards"][0]["records"] = records  # shard 0 holds 3 records
        meta["num_records"] = records + meta["shards"][1]["records"]

    edit_sidecar(written, change)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=rf"(?s)e-00000-of-00002\.tfrecord.*holds.*{found}.*records; its sidecar"
    ):
        iterate(written)


def test_malformed_sidecar_is_named(written):
    edit_sidecar(written, lambda m: m["inputs"][0].update(modality="smell"))
    with pytest.raises(ValueError, match=r"sidecar '.*e\.json'.*Unknown input modality 'smell'"):
        from_tfrecords(str(written / "e"))
    (written / "e.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"sidecar '.*e\.json' is not valid JSON"):
        from_tfrecords(str(written / "e"))
