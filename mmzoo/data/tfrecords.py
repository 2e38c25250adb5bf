"""Sharded TFRecord files for datasets larger than memory: `to_tfrecords` / `from_tfrecords`.

Each example becomes one `tf.train.Example` whose features hold
`tf.io.serialize_tensor` bytes (`x/<input name>`, and `y` for the label), so
every modality round-trips exactly: strings, uint8 and float32 pixels,
float32 waveforms, feature vectors and sequences, int and float labels of any
shape. Records go to the shards round robin (record i to shard i % N), and a
JSON sidecar `<prefix>.json` records the specs (with adapted vocabularies and
normalization statistics), the label dtype and shape, the records per shard
and the compression. Reading interleaves the shards in parallel; unshuffled,
it returns the records in the order they were written.

Every record is checked as it is read: each tensor's dtype and shape against
the sidecar, and each shard's record count; an error names the input, the
record and the shard file.
"""

import os

import tensorflow as tf

from mmzoo.data.pipeline import AUTOTUNE, finalize
from mmzoo.data.tfrecord_sidecar import (
    COMPRESSIONS,
    fsync,
    previous_shards,
    read_sidecar,
    sidecar_path,
    spec_entry,
    write_sidecar,
)

_END = b"\xffmmzoo: end of shard"  # not a valid tf.train.Example, so never a real record


def _dtype_name(enum):
    try:
        return tf.dtypes.as_dtype(enum).name
    except TypeError:
        return f"DataType {enum}"


# DataType enum -> name, for error messages about a record's tensor (0: no tensor at all).
_DTYPE_NAMES = ["missing"] + [_dtype_name(i) for i in range(1, 32)]


def _tf_dtype(name):
    return tf.string if name == "string" else tf.as_dtype(name)


def _split(element_spec, where):
    """`(features_spec, label_spec or None)` of a dataset's element."""
    if isinstance(element_spec, dict):
        return element_spec, None
    if (
        isinstance(element_spec, tuple)
        and len(element_spec) == 2
        and isinstance(element_spec[0], dict)
        and isinstance(element_spec[1], tf.TensorSpec)
    ):
        return element_spec
    raise ValueError(
        f"{where}: expected a dataset of ({{input_name: tensor}}, label) or {{input_name: tensor}} "
        f"with a single label tensor; received elements {element_spec}."
    )


def _check_element_spec(dataset, inputs, where):
    """Unbatches `dataset` if it is batched; checks names and dtypes. Returns `(dataset, has_label)`."""
    features, label = _split(dataset.element_spec, where)
    names = [spec.name for spec in inputs]
    ranks = set()
    for spec in inputs:
        what = f"{spec.modality.capitalize()} input '{spec.name}'"
        if spec.name not in features:
            raise ValueError(f"{where}: {what} is missing from the dataset; it yields {sorted(features)}.")
        got = features[spec.name]
        if got.dtype != _tf_dtype(spec.dtype) or got.shape.rank not in (len(spec.shape), len(spec.shape) + 1):
            raise ValueError(
                f"{where}: {what} expects {spec.describe()}; the dataset yields "
                f"{got.dtype.name} of shape {got.shape}. Build it with the spec's dtype "
                f"(e.g. mmzoo.data.from_arrays(..., inputs=inputs))."
            )
        ranks.add(got.shape.rank - len(spec.shape))
    extra = sorted(set(features) - set(names))
    if extra:
        raise ValueError(
            f"{where}: the dataset yields inputs {extra} that `inputs` has no spec for; "
            f"pass their specs or drop them from the dataset."
        )
    if len(ranks) > 1:
        raise ValueError(f"{where}: some inputs are batched and others are not ({dataset.element_spec}).")
    return (dataset.unbatch() if ranks == {1} else dataset), label is not None


def _serialized(dataset, inputs, has_label):
    """Serializes every tensor inside tf.data (parallel); yields bytes plus the shapes to check."""

    def serialize(features, label=None):
        out = {f"x/{s.name}": tf.io.serialize_tensor(features[s.name]) for s in inputs}
        shapes = {s.name: tf.shape(features[s.name], out_type=tf.int64) for s in inputs}
        if has_label:
            out["y"] = tf.io.serialize_tensor(label)
            shapes["y"] = tf.shape(label, out_type=tf.int64)
        return out, shapes

    return dataset.map(serialize, num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)


def to_tfrecords(dataset, path_prefix, inputs, num_shards=1, compression="GZIP"):
    """Writes an mmzoo dataset to `<prefix>-0000i-of-0000N.tfrecord` shards and a `<prefix>.json` sidecar.

    The dataset may be batched or not, with labels `({name: x}, y)` or
    without `{name: x}`; it is streamed, so it may be larger than memory.
    Record i goes to shard `i % num_shards`. Shards are written under
    temporary names and renamed when complete, and the sidecar is written
    last (temporary file + `os.replace`): a reader finds the previous
    complete version, no sidecar, or the new complete version.

    Args:
        dataset: a `tf.data.Dataset` whose tensors have the specs' dtypes and shapes.
        path_prefix: local path prefix of the files, e.g. "data/train".
        inputs: the specs of the dataset's inputs (Text vocabularies and
            Features statistics are kept in the sidecar).
        num_shards: number of shard files (read in parallel).
        compression: "GZIP", "ZLIB" or None.

    Returns:
        The sidecar's path.

    Example:
        >>> import tempfile, os, numpy as np, mmzoo
        >>> from mmzoo.data.arrays import from_arrays
        >>> spec = mmzoo.Features("x", shape=(3,), normalize=False)
        >>> ds = from_arrays({"x": np.eye(3, dtype="float32")}, np.arange(3), inputs=[spec])
        >>> sidecar = to_tfrecords(ds, os.path.join(tempfile.mkdtemp(), "train"), [spec], num_shards=2)
        >>> sorted(os.listdir(os.path.dirname(sidecar)))
        ['train-00000-of-00002.tfrecord', 'train-00001-of-00002.tfrecord', 'train.json']
    """
    where = f"to_tfrecords('{path_prefix}')"
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(
            f"{where}: expected a tf.data.Dataset; received {type(dataset).__name__}. "
            f"Wrap arrays with mmzoo.data.from_arrays(features, labels, inputs=inputs)."
        )
    if compression not in COMPRESSIONS:
        raise ValueError(f"{where}: compression must be one of {COMPRESSIONS}; received {compression!r}.")
    if not isinstance(num_shards, int) or num_shards < 1:
        raise ValueError(f"{where}: num_shards must be a positive int; received {num_shards!r}.")
    inputs = list(inputs)
    dataset, has_label = _check_element_spec(dataset, inputs, where)
    directory, stem = os.path.split(os.path.abspath(path_prefix))
    os.makedirs(directory, exist_ok=True)
    sidecar = sidecar_path(os.path.abspath(path_prefix))
    names = [f"{stem}-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]
    temps = [os.path.join(directory, f".{name}.tmp-{os.getpid()}") for name in names]
    counts, label_shape = [0] * num_shards, None
    options = tf.io.TFRecordOptions(compression_type=compression or "")
    writers = [tf.io.TFRecordWriter(path, options) for path in temps]
    try:
        for index, (record, shapes) in enumerate(_serialized(dataset, inputs, has_label).as_numpy_iterator()):
            for spec in inputs:
                shape = tuple(int(d) for d in shapes[spec.name])
                if shape != tuple(spec.shape):
                    raise ValueError(
                        f"{where}: {spec.modality.capitalize()} input '{spec.name}' of record "
                        f"{index} has shape {shape}; it expects {spec.describe()}."
                    )
            if has_label:
                got = tuple(int(d) for d in shapes["y"])
                label_shape = got if label_shape is None else label_shape
                if got != label_shape:
                    raise ValueError(
                        f"{where}: the label of record {index} has shape {got}; record 0's "
                        f"has shape {label_shape}. Labels need one shape."
                    )
            example = tf.train.Example(
                features=tf.train.Features(
                    feature={
                        key: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
                        for key, value in record.items()
                    }
                )
            )
            writers[index % num_shards].write(example.SerializeToString())
            counts[index % num_shards] += 1
        if not sum(counts):
            raise ValueError(f"{where}: the dataset is empty; nothing to write.")
        for writer in writers:
            writer.close()
        previous = previous_shards(sidecar)
        if os.path.exists(sidecar):
            os.remove(sidecar)  # old sidecar out first: it must never describe the new shards
        for temp, name in zip(temps, names):
            fsync(temp)
            os.replace(temp, os.path.join(directory, name))
    finally:
        for writer, temp in zip(writers, temps):
            writer.close()
            if os.path.exists(temp):
                os.remove(temp)
    label_spec = _split(dataset.element_spec, where)[1]
    entries = [spec_entry(spec) for spec in inputs]
    write_sidecar(
        sidecar,
        {
            "compression": compression,
            "inputs": [config for config, _ in entries],
            "state": {spec.name: state for spec, (_, state) in zip(inputs, entries) if state},
            "label": None if not has_label else {"dtype": label_spec.dtype.name, "shape": list(label_shape)},
            "num_records": sum(counts),
            "shards": [{"file": name, "records": count} for name, count in zip(names, counts)],
        },
    )
    for old in previous - set(names):
        if os.path.exists(os.path.join(directory, old)):
            os.remove(os.path.join(directory, old))
    return sidecar


def _read_shard(path, expected, compression, sidecar):
    """The records of one shard with their index; fails (naming the file) on a count the sidecar does not list."""
    records = tf.data.TFRecordDataset(path, compression_type=compression or "")
    records = records.concatenate(tf.data.Dataset.from_tensors(tf.constant(_END)))

    def check(index, record):
        is_end = tf.equal(record, _END)
        ok = tf.where(is_end, tf.equal(index, expected), tf.less(index, expected))
        found = tf.where(is_end, tf.strings.as_string(index), "more than " + tf.strings.as_string(expected))
        with tf.control_dependencies(
            [
                tf.debugging.Assert(
                    ok,
                    [
                        "TFRecord file",
                        path,
                        "holds",
                        found,
                        f"records; its sidecar {sidecar} lists",
                        expected,
                        ". Rewrite the shards and sidecar together with mmzoo.data.to_tfrecords.",
                    ],
                )
            ]
        ):
            return tf.logical_not(is_end)

    return records.enumerate().filter(check).map(lambda index, record: (path, index, record))


def _decode(serialized, dtype, shape, what, path, index):
    """`tf.io.parse_tensor` after checking the stored dtype, then the shape; errors name input, record, file.

    (TensorFlow escapes quotes in assertion messages, hence `name` in backticks.)
    """
    header = tf.io.decode_proto(tf.reshape(serialized, [1]), "tensorflow.TensorProto", ["dtype"], [tf.int32])
    stored = tf.reduce_sum(header.values[0])  # DataType enum; 0 when the feature is missing
    where = [what, "in record", index, "of TFRecord file", path]
    expected = f"expects {dtype.name} of shape {tuple(shape)}; the record holds"
    with tf.control_dependencies(
        [
            tf.debugging.Assert(
                tf.equal(stored, dtype.as_datatype_enum),
                where
                + [expected, tf.gather(tf.constant(_DTYPE_NAMES), tf.clip_by_value(stored, 0, len(_DTYPE_NAMES) - 1))],
            )
        ]
    ):
        tensor = tf.io.parse_tensor(serialized, dtype)
    got = tf.strings.reduce_join(tf.strings.as_string(tf.shape(tensor)), separator=",")
    with tf.control_dependencies(
        [tf.debugging.Assert(tf.equal(got, ",".join(str(d) for d in shape)), where + [expected, "shape (", got, ")"])]
    ):
        return tf.ensure_shape(tf.identity(tensor), shape)


def from_tfrecords(
    path,
    batch_size=32,
    shuffle=False,
    seed=None,
    cache=False,
    drop_remainder=False,
    shuffle_buffer=None,
    cycle_length=None,
):
    """Reads shards written by `to_tfrecords` back into a batched dataset; returns `(dataset, inputs)`.

    Shards are read in parallel (`interleave`, one record from each in
    turn); unshuffled, the order is the order they were written in when
    `cycle_length >= num_shards` (the default up to 64 shards), and
    deterministic in any case. Every record is checked against the sidecar
    as it is read (see the module docstring).

    Args:
        path: the path prefix given to `to_tfrecords`, or the sidecar's path.
        batch_size, shuffle, seed, cache, drop_remainder: see `mmzoo.data.finalize`.
        shuffle_buffer: records in the shuffle buffer (default up to 10,000,
            so that a dataset larger than memory stays out of memory).
        cycle_length: shards open at once (default `min(num_shards, 64)`).

    Returns:
        `(dataset, inputs)`: a dataset of `({name: x}, y)` (or `{name: x}` when
        written without labels) in the stored dtypes and shapes, and the specs
        rebuilt from the sidecar (Text vocabularies and Features statistics included).

    Example:
        >>> import tempfile, os, numpy as np, mmzoo
        >>> from mmzoo.data.arrays import from_arrays
        >>> spec = mmzoo.Features("x", shape=(3,), normalize=False)
        >>> prefix = os.path.join(tempfile.mkdtemp(), "train")
        >>> _ = to_tfrecords(from_arrays({"x": np.eye(3, dtype="float32")}, np.arange(3)), prefix, [spec])
        >>> ds, inputs = from_tfrecords(prefix, batch_size=3)
        >>> x, y = next(iter(ds)); x["x"].numpy().tolist() == np.eye(3).tolist(), y.numpy().tolist()
        (True, [0, 1, 2])
    """
    meta, inputs, paths = read_sidecar(path)
    sidecar = os.path.abspath(sidecar_path(path))
    label = meta["label"]
    keys = [f"x/{spec.name}" for spec in inputs] + (["y"] if label else [])
    parse_spec = {key: tf.io.FixedLenFeature([], tf.string, default_value="") for key in keys}

    def parse(shard, index, record):
        parsed = tf.io.parse_single_example(record, parse_spec)
        features = {
            spec.name: _decode(
                parsed[f"x/{spec.name}"],
                _tf_dtype(spec.dtype),
                tuple(spec.shape),
                f"{spec.modality.capitalize()} input `{spec.name}`",
                shard,
                index,
            )
            for spec in inputs
        }
        if not label:
            return features
        return features, _decode(
            parsed["y"], tf.as_dtype(label["dtype"]), tuple(label["shape"]), "The label", shard, index
        )

    counts = [shard["records"] for shard in meta["shards"]]
    files = tf.data.Dataset.from_tensor_slices((paths, tf.constant(counts, tf.int64)))
    records = files.interleave(
        lambda shard, count: _read_shard(shard, count, meta["compression"], sidecar),
        cycle_length=cycle_length or min(len(paths), 64),
        block_length=1,
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    ds = records.map(parse, num_parallel_calls=AUTOTUNE, deterministic=True)
    ds = ds.apply(tf.data.experimental.assert_cardinality(meta["num_records"]))
    ds = finalize(
        ds,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        cache=cache,
        drop_remainder=drop_remainder,
        num_examples=meta["num_records"],
        shuffle_buffer=shuffle_buffer or min(meta["num_records"], 10_000),
    )
    return ds, inputs
