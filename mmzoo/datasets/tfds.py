"""Any prepared TensorFlow Datasets (TFDS) dataset as mmzoo splits.

`from_tfds` reads a dataset that TFDS has already prepared under a data
directory (`tfds.builder(name, data_dir=...)`, `as_dataset`), maps its
features onto mmzoo input specs, and yields `({input_name: x}, label)`.
Nothing is downloaded unless `download=True`. Splits the dataset lacks
(often "validation") are carved from its train split with a seed.
"""

import numpy as np
import tensorflow as tf

from mmzoo.data.decode import fit_image, fit_length
from mmzoo.data.pipeline import finalize
from mmzoo.data.resample import resample
from mmzoo.datasets.base import Splits
from mmzoo.tasks.task import Classification


def _pairs(inputs):
    """`[(spec, feature_key)]` from `{feature_key: spec}` or a list of specs (or `(spec, key)` pairs)."""
    if isinstance(inputs, dict):
        return [(spec, key) for key, spec in inputs.items()]
    return [item if isinstance(item, tuple) else (item, item.name) for item in inputs]


def _lookup(tree, key, name):
    """`tree[key]`, where "a/b" may also mean `tree["a"]["b"]`."""
    if key in tree:
        return tree[key]
    node = tree
    for part in key.split("/"):
        if not hasattr(node, "keys") or part not in node.keys():
            raise ValueError(f"TFDS dataset '{name}' has no feature '{key}'; its features are {sorted(tree.keys())}.")
        node = node[part]
    return node


def _check(spec, key, feature, name, resize_images, resample_audio):
    """Raises a `ValueError` naming the feature if it cannot become `spec`'s input."""
    shape, dtype = tuple(feature.shape), tf.as_dtype(feature.tf_dtype)
    where = f"TFDS feature '{key}' of '{name}' ({dtype.name}, shape {shape})"
    problem = None
    if spec.modality == "text" and not spec.token_ids:
        problem = None if dtype == tf.string and shape == () else "needs scalar strings"
    elif dtype == tf.string:
        problem = "holds strings"
    elif spec.modality == "image":
        if len(shape) != 3 or shape[-1] not in (1, 3):
            problem = "is not an image of shape (height, width, 1 or 3)"
        elif shape[:2] != spec.shape[:2] and not resize_images:
            problem = f"has height and width {shape[:2]}; pass resize_images=True to resize"
    elif spec.modality == "audio":
        rate = getattr(feature, "sample_rate", None)
        if len(shape) != 1 and not (len(shape) == 2 and shape[-1] == 1):
            problem = "is not a mono waveform"
        elif rate and rate != spec.sample_rate and not resample_audio:
            problem = f"is sampled at {rate} Hz; pass resample_audio=True to resample"
    elif None in shape or int(np.prod(shape)) != int(np.prod(spec.shape)):
        problem = f"cannot be reshaped to {spec.shape}"
    if problem:
        raise ValueError(
            f"{where} cannot feed {spec.modality} input '{spec.name}', which expects {spec.describe()}: it {problem}."
        )


def _convert(spec, x, feature):
    """Casts and reshapes one example's feature `x` to `spec`'s shape and dtype (graph mode)."""
    if spec.modality == "image":
        if x.shape[-1] != spec.shape[-1]:
            x = tf.image.grayscale_to_rgb(x) if spec.shape[-1] == 3 else tf.image.rgb_to_grayscale(x)
        x = tf.image.convert_image_dtype(x, tf.as_dtype(spec.dtype), saturate=True)
        return fit_image(x, spec, resize=tuple(x.shape[:2]) != spec.shape[:2])
    if spec.modality == "audio":
        x = tf.reshape(x, (-1,))
        x = tf.cast(x, tf.float32) / (32768.0 if x.dtype.is_integer else 1.0)
        rate = getattr(feature, "sample_rate", None)
        if rate and rate != spec.sample_rate:
            x = resample(x, rate, spec.sample_rate)
        return fit_length(x, spec.num_samples)
    if spec.dtype == "string":
        return x
    return tf.reshape(tf.cast(x, spec.dtype), spec.shape)


def _carve(train_size, fractions, seed):
    """Disjoint random index sets carved from train: `{split: bool mask}`, plus the train mask."""
    order = np.random.default_rng(seed).permutation(train_size)
    masks, start = {}, 0
    for split, fraction in fractions.items():
        count = int(round(fraction * train_size))
        if count < 1:
            raise ValueError(
                f"Carving '{split}' from {train_size} train examples with fraction {fraction} leaves it empty."
            )
        mask = np.zeros(train_size, bool)
        mask[order[start : start + count]] = True
        masks[split], start = mask, start + count
    masks["__train__"] = ~np.logical_or.reduce(list(masks.values()))
    return masks


def _select(ds, mask):
    keep = tf.constant(mask)
    return ds.enumerate().filter(lambda i, _: tf.gather(keep, i)).map(lambda _, example: example)


def from_tfds(
    name,
    inputs,
    label="label",
    data_dir=None,
    split=("train", "validation", "test"),
    batch_size=32,
    seed=0,
    val_fraction=0.1,
    test_fraction=0.1,
    download=False,
    task=None,
    adapt=True,
    resize_images=False,
    resample_audio=False,
    cache=False,
    builder_kwargs=None,
):
    """Loads a prepared TFDS dataset as mmzoo splits of `({input_name: x}, label)`.

    Args:
        name: the TFDS name, e.g. "mnist" or "my_dataset:1.0.0".
        inputs: `{feature_key: spec}`, or a list of specs named like the
            features (or of `(spec, feature_key)` pairs). Images are converted
            to the spec's channels and dtype (uint8 to float32 in [0, 1]),
            audio to float32 (integers / 32768), padded or cropped; other
            features are cast and reshaped to the spec.
        label: the label feature key, or None to yield features only.
        data_dir: the TFDS data directory; default TFDS's own (`~/tensorflow_datasets`).
        split: a split name (returns one dataset) or a (train, validation,
            test) triple (returns `Splits`); validation and test splits the
            dataset lacks are carved from train, seeded.
        batch_size: examples per batch.
        seed: seeds the carving and the train shuffle.
        val_fraction, test_fraction: shares of train carved when those splits are missing.
        download: call `download_and_prepare()` first (needs network).
        task: the task; default `Classification` when the label is a `ClassLabel`.
        adapt: adapt specs that need it (Text vocabularies, Features statistics)
            on the train split, unless they already are.
        resize_images: resize images of another height and width.
        resample_audio: resample audio declared at another rate.
        cache: cache the converted elements in memory.
        builder_kwargs: more arguments for `tfds.builder` (e.g. `config`).

    Returns:
        `Splits(train, validation, test, inputs, task)`, or one dataset if `split` is a string.

    Raises:
        FileNotFoundError: the dataset is not prepared in `data_dir`.
        ValueError: a feature cannot feed its spec (the message names it).

    Example:
        >>> splits = from_tfds("mnist", [mmzoo.Image("image", shape=(28, 28, 1))])  # doctest: +SKIP
    """
    import tensorflow_datasets as tfds  # noqa: PLC0415  (heavy; only this loader needs it)

    builder = tfds.builder(name, data_dir=None if data_dir is None else str(data_dir), **(builder_kwargs or {}))
    if download:
        builder.download_and_prepare()
    if not builder.is_prepared():
        raise FileNotFoundError(
            f"TFDS dataset '{name}' is not prepared under {builder.data_dir}. On a machine with "
            f"network pass download=True (or run tfds.builder('{name}').download_and_prepare() there "
            f"and copy its data directory's '{builder.name}/' folder into "
            f"{data_dir or '~/tensorflow_datasets'}), then call from_tfds again."
        )
    features, pairs = builder.info.features, _pairs(inputs)
    for spec, key in pairs:
        _check(spec, key, _lookup(features, key, name), name, resize_images, resample_audio)
    label_feature = None if label is None else _lookup(features, label, name)

    def to_mmzoo(example):
        x = {
            spec.name: _convert(spec, _lookup(example, key, name), _lookup(features, key, name)) for spec, key in pairs
        }
        return x if label is None else (x, _lookup(example, label, name))

    wanted = [split] if isinstance(split, str) else list(split)
    if len(wanted) not in (1, 3):
        raise ValueError(f"split must be a split name or a (train, validation, test) triple; received {split!r}.")
    available = builder.info.splits
    missing = {s: f for s, f in zip(wanted[1:], (val_fraction, test_fraction)) if s not in available}
    if wanted[0] not in available or (isinstance(split, str) and missing):
        raise ValueError(f"TFDS dataset '{name}' has no split '{wanted[0]}'; it has {sorted(available)}.")
    raw = {s: builder.as_dataset(split=s, shuffle_files=False) for s in wanted if s in available}
    if missing:
        masks = _carve(available[wanted[0]].num_examples, missing, seed)
        raw.update({s: _select(raw[wanted[0]], masks[s]) for s in missing})
        raw[wanted[0]] = _select(raw[wanted[0]], masks["__train__"])
    converted = {s: ds.map(to_mmzoo, num_parallel_calls=tf.data.AUTOTUNE) for s, ds in raw.items()}

    specs = [spec for spec, _ in pairs]
    if adapt:
        features_only = converted[wanted[0]].map(lambda *e: e[0]) if label is not None else converted[wanted[0]]
        for spec in specs:
            if spec.needs_adapt and not spec.adapted:
                spec.adapt(features_only.map(lambda x, n=spec.name: x[n]).batch(256))
    shuffled = wanted[0] if len(wanted) == 3 or wanted[0].startswith("train") else None
    datasets = [
        finalize(converted[s], batch_size=batch_size, shuffle=(s == shuffled), seed=seed, cache=cache) for s in wanted
    ]
    if isinstance(split, str):
        return datasets[0]
    if task is None and isinstance(label_feature, tfds.features.ClassLabel) and label_feature.num_classes >= 2:
        task = Classification(num_classes=label_feature.num_classes, class_names=list(label_feature.names))
    return Splits(*datasets, specs, task)
