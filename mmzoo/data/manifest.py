"""tf.data pipelines from a manifest: a DataFrame or CSV of texts, file paths and features.

Each spec reads one column: Text columns hold strings, Image columns PNG/JPEG
paths, Audio columns 16-bit PCM WAV paths (or video files, whose audio track
is read), Video columns GIF/MP4/WebM/AVI/MKV/MOV paths (`mmzoo.data.video`),
Features columns per-row arrays.
Before a dataset is returned every row is checked once: cheap checks in
Python (missing files, empty text, WAV headers: rate, channels, length), then
one decoding pass over every image and WAV through a parallel tf.data map
(corrupt files, image sizes). Bad rows raise (`on_error="raise"`) or are
dropped and reported (`on_error="skip"`). Training then decodes inside
`tf.data` with a parallel `map`.
"""

import json
import os
import warnings

import numpy as np
import pandas as pd
import tensorflow as tf

from mmzoo.data import decode, video, video_rows
from mmzoo.data.labels import is_missing as _is_missing
from mmzoo.data.labels import label_names as _label_names
from mmzoo.data.labels import read_labels as _read_labels
from mmzoo.data.order import DataOrder, with_order
from mmzoo.data.pipeline import AUTOTUNE, finalize
from mmzoo.data.report import ManifestReport, Problem
from mmzoo.specs import Spec

_SKIP_HINT = "Or pass on_error='skip' to drop such rows (with_report=True lists them)."


def from_dataframe(
    df,
    inputs,
    label=None,
    base_dir=None,
    columns=None,
    batch_size=32,
    shuffle=False,
    seed=None,
    cache=False,
    drop_remainder=False,
    resample=False,
    resize_images=False,
    long_audio="crop",
    on_error="raise",
    num_parallel_calls=AUTOTUNE,
    with_report=False,
    class_names=None,
    task=None,
    source=None,
    frame_sampling=None,
):
    """A batched `tf.data.Dataset` of `({input_name: tensor}, label)` from a DataFrame.

    Every row is checked before the dataset is returned (see the module
    docstring); decoding then runs inside tf.data, `num_parallel_calls` wide.
    Images come out as `spec.shape` in `spec.dtype` (uint8 as stored, float32
    scaled to [0, 1]); audio as mono float32 `int16 / 32768` waveforms of
    `spec.num_samples`, zero-padded at the end or cropped to their start.

    Args:
        df: a pandas DataFrame, one row per example.
        inputs: list of mmzoo specs; each reads the column named like it.
        label: label column (ints or floats; strings with `class_names`), a
            list of 0/1 label columns (multi-label, float32 multi-hot), or
            None for features-only elements.
        base_dir: directory relative file paths resolve against (default: the
            current directory, resolved now).
        columns: `{spec_name: column}` for columns named otherwise.
        batch_size, shuffle, seed, cache, drop_remainder: see
            `mmzoo.data.finalize`. Without `cache`, the rows are shuffled before
            decoding, so the shuffle buffer holds paths, not pixels.
        resample: resample WAVs at another rate to the spec's rate (FFT,
            band-limited) instead of rejecting them.
        resize_images: resize images of another height/width to the spec's
            (bilinear, antialiased; dtype kept) instead of rejecting them.
        long_audio: "crop" keeps the start of longer clips (with a warning
            giving the count) or "error" rejects them.
        on_error: "raise" (default) raises on the first check that finds bad
            rows, listing them; "skip" drops every bad row (missing, empty or
            corrupt file, empty text, wrong sample rate or channels, wrong image
            size, long clip under `long_audio="error"`, bad features, missing
            label), warns with the count and reasons, and records them in the
            report.
        num_parallel_calls: parallelism of the decoding map and the check pass.
        with_report: also return a `ManifestReport`.
        class_names: names of the classes, in class-id order: the label
            column then holds names (ints are matched by their text, "3"),
            mapped to their ids. A label that is not a class name is a bad row
            ("unknown label", named with its row).
        task: a `Classification` (its `class_names`) or `MultiLabel` (its
            `label_names`) to take the names from instead. With a MultiLabel
            task each label cell holds a set of names: a list, or a string
            of names joined by "|" ("cat|dog"; "" is the empty set); labels
            come out as float32 multi-hot vectors.
        source: how messages name the data (default "the DataFrame"; e.g.
            "'train.csv'" for a DataFrame read from that file).
        frame_sampling: how Video clips get `spec.frames` frames: "uniform"
            (segment centres) or "random" (a random offset each time a clip is
            read); default "random" when `shuffle` else "uniform". Shorter
            clips repeat their last frame. `resize_images` also resizes frames.
            With `cache`, the frames of the first pass are the ones cached.

    Returns:
        The dataset, or `(dataset, report)` with `with_report=True`.

    Raises:
        ValueError: for an empty DataFrame, a missing column (the message
            lists the columns) and, with `on_error="raise"`, bad rows: the
            message names the modality, input, file, row and the fix.
        FileNotFoundError: when every bad row is a missing file.

    Example:
        >>> import os, tempfile
        >>> import numpy as np, pandas as pd, tensorflow as tf, mmzoo
        >>> root = tempfile.mkdtemp()
        >>> for i in range(3):
        ...     pixels = np.full((8, 8, 3), 40 * i, "uint8")
        ...     tf.io.write_file(os.path.join(root, f"{i}.png"), tf.io.encode_png(pixels))
        >>> df = pd.DataFrame({"caption": ["a red dot", "two cats", "sky"],
        ...                    "poster": ["0.png", "1.png", "2.png"], "y": [0, 1, 0]})
        >>> inputs = [mmzoo.Text("caption"), mmzoo.Image("poster", shape=(8, 8, 3))]
        >>> ds = from_dataframe(df, inputs, label="y", base_dir=root, batch_size=2)
        >>> x, y = next(iter(ds))
        >>> tuple(x["poster"].shape), x["poster"].dtype.name, y.numpy().tolist()
        ((2, 8, 8, 3), 'uint8', [0, 1])
    """
    base_dir = os.getcwd() if base_dir is None else base_dir
    return _build(
        df,
        inputs,
        label,
        base_dir,
        columns,
        source or "the DataFrame",
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        cache=cache,
        drop_remainder=drop_remainder,
        resample=resample,
        resize_images=resize_images,
        long_audio=long_audio,
        on_error=on_error,
        num_parallel_calls=num_parallel_calls,
        with_report=with_report,
        class_names=class_names,
        task=task,
        frame_sampling=frame_sampling,
    )


def from_csv(path, inputs, label=None, base_dir=None, columns=None, **options):
    """A batched `tf.data.Dataset` of `({input_name: tensor}, label)` from a CSV manifest.

    Like `from_dataframe`, with relative file paths resolved against the CSV's
    directory unless `base_dir` is given. Text and path columns are read as
    strings and only empty cells count as missing ("NA" is text). Features
    cells hold JSON lists, e.g. `"[0.1, 0.2]"`. With class names (`class_names=`
    or `task=`) the label column is read as text. Rows in error messages are
    the DataFrame index of the CSV: row 0 is the first line below the header.

    Args:
        path: the CSV file.
        inputs, label, columns: as in `from_dataframe`.
        base_dir: directory relative paths resolve against (default: the CSV's).
        **options: the other arguments of `from_dataframe`.

    Returns:
        The dataset, or `(dataset, report)` with `with_report=True`.

    Example:
        >>> import os, tempfile
        >>> import numpy as np, tensorflow as tf, mmzoo
        >>> root = tempfile.mkdtemp()
        >>> tf.io.write_file(os.path.join(root, "a.wav"),
        ...                  tf.audio.encode_wav(np.zeros((600, 1), "float32"), 8000))
        >>> with open(os.path.join(root, "train.csv"), "w") as f:
        ...     _ = f.write("voice,y\\na.wav,1\\na.wav,0\\n")
        >>> spec = mmzoo.Audio("voice", sample_rate=8000, seconds=0.1)
        >>> ds = from_csv(os.path.join(root, "train.csv"), [spec], label="y")
        >>> x, y = next(iter(ds))
        >>> tuple(x["voice"].shape), y.numpy().tolist()
        ((2, 800), [1, 0])
    """
    specs = _as_specs(inputs)
    names = _column_names(specs, columns)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Manifest CSV '{path}' does not exist (working directory: {os.getcwd()}). Check the path."
        )
    as_text = {names[s.name]: str for s in specs if _kind(s) in ("text", "image", "audio", "video")}
    if isinstance(label, str) and _label_names(options.get("class_names"), options.get("task"))[0]:
        as_text[label] = str
    try:
        df = pd.read_csv(path, dtype=as_text, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError:
        raise ValueError(_not_utf8(path)) from None
    if base_dir is None:
        base_dir = os.path.dirname(os.path.abspath(path))
    return _build(df, specs, label, base_dir, columns, f"'{path}'", **options)


def _not_utf8(path):
    """The message for a CSV that is not UTF-8: the file, the first bad byte's offset and line, the fix.

    Only called after pandas failed, so the file is read a second time on the error path alone.
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        raw.decode("utf-8")
        where = ""
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        where = f" at byte offset {error.start} (line {line}: byte 0x{raw[error.start]:02x}, {error.reason})"
    return (
        f"Manifest CSV '{path}' is not UTF-8 text{where}. Save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 "
        f"in.csv > out.csv`, or df.to_csv(..., encoding='utf-8'))."
    )


# --- the pipeline -------------------------------------------------------------
def _build(
    df,
    inputs,
    label,
    base_dir,
    columns,
    source,
    batch_size=32,
    shuffle=False,
    seed=None,
    cache=False,
    drop_remainder=False,
    resample=False,
    resize_images=False,
    long_audio="crop",
    on_error="raise",
    num_parallel_calls=AUTOTUNE,
    with_report=False,
    class_names=None,
    task=None,
    frame_sampling=None,
):
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; received {on_error!r}.")
    if long_audio not in ("crop", "error"):
        raise ValueError(f"long_audio must be 'crop' or 'error'; received {long_audio!r}.")
    if frame_sampling not in (None, "uniform", "random"):
        raise ValueError(f"frame_sampling must be None, 'uniform' or 'random'; received {frame_sampling!r}.")
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"Expected a pandas DataFrame; received {type(df).__name__}.")
    specs = _as_specs(inputs)
    names = _column_names(specs, columns)
    _check_columns(df, specs, names, label, source)

    rows = _Rows(df, source, os.path.abspath(os.path.expanduser(base_dir)))
    values = {s.name: _CHECKS[_kind(s)](rows, s, names[s.name], resample, long_audio) for s in specs}
    labels = None
    if label is not None:
        labels = _read_labels(rows, df, label, *_label_names(class_names, task))
    rows.settle(on_error)  # Python checks first: fail fast before decoding anything
    for spec in specs:
        if _kind(spec) == "video":
            values[spec.name] = video_rows.check_video(
                rows, spec, names[spec.name], [p for p, _ in values[spec.name]], resize_images
            )
        elif _kind(spec) in ("image", "audio"):
            _probe_files(rows, spec, names[spec.name], values[spec.name], resize_images, num_parallel_calls)
    keep = rows.settle(on_error)

    report = _report(rows, specs, values, keep)
    if report.problems:
        warnings.warn(report.summary(), stacklevel=3)
    _warn_cropped(specs, values, keep, report)

    tensors = {s.name: _stack(s, [values[s.name][i] for i in keep]) for s in specs}
    element = (tensors, labels[keep]) if labels is not None else tensors
    ds = tf.data.Dataset.from_tensor_slices(element)
    shuffle_paths = bool(shuffle and not cache)
    if shuffle_paths:  # shuffle paths, not decoded pixels
        ds = ds.shuffle(len(keep), seed=seed, reshuffle_each_iteration=True)
    training = frame_sampling == "random" or (frame_sampling is None and bool(shuffle))
    pyav = {s.name for s in specs if _kind(s) in ("audio", "video") and video_rows.reads_containers(values[s.name])}
    decoder = _decoder(specs, resize_images, resample, pyav, training, seed)
    ds = ds.map(decoder, num_parallel_calls=num_parallel_calls, deterministic=True)
    if shuffle_paths:
        ds = with_order(ds, DataOrder("per_process"))
    ds = finalize(
        ds,
        batch_size=batch_size,
        shuffle=bool(shuffle and cache),
        seed=seed,
        cache=cache,
        drop_remainder=drop_remainder,
        num_examples=len(keep),
    )
    return (ds, report) if with_report else ds


def _decoder(specs, resize_images, resample, pyav=(), training=False, seed=None):
    """The row decoder; inputs named in `pyav` read video containers with PyAV (which also reads WAV and GIF)."""
    files = [s for s in specs if _kind(s) in ("image", "audio", "video")]

    def decode_row(features, *label):
        features = dict(features)
        for spec in files:
            if spec.modality == "image":
                features[spec.name] = decode.load_image(features[spec.name], spec, resize_images)
            elif spec.modality == "video":
                path, frames = features[spec.name]["path"], features[spec.name]["frames"]
                gif = spec.name not in pyav
                features[spec.name] = video.load_clip(path, frames, spec, training, resize_images, seed, gif=gif)
            elif spec.name in pyav:
                features[spec.name] = video.load_audio_track(features[spec.name], spec)
            else:
                features[spec.name] = decode.load_audio(features[spec.name], spec, resample)
        return (features, label[0]) if label else features

    return decode_row


def _stack(spec, values):
    """The column of kept rows as an array: strings, file paths, or numbers."""
    if _kind(spec) in ("image", "audio"):
        return np.array([path for path, _ in values], dtype=object)
    if _kind(spec) == "video":
        return {
            "path": np.array([path for path, _ in values], dtype=object),
            "frames": np.array([info.num_frames for _, info in values], dtype="int32"),
        }
    if _kind(spec) == "text":
        return np.array(values, dtype=object)
    return np.stack(values).astype(spec.dtype)


# --- specs and columns ---------------------------------------------------------
def _kind(spec):
    if spec.modality == "text":
        return "array" if spec.token_ids else "text"
    if spec.modality == "features":
        return "array"
    if spec.modality in ("image", "audio", "video"):
        return spec.modality
    raise ValueError(
        f"Input '{spec.name}': manifests read Text, Image, Audio, Video and Features "
        f"specs; received modality {spec.modality!r}."
    )


def _as_specs(inputs):
    specs = [inputs] if isinstance(inputs, Spec) else list(inputs)
    if not specs or not all(isinstance(s, Spec) for s in specs):
        raise ValueError(
            f"inputs must be a non-empty list of mmzoo specs (Text, Image, Audio, Features); received {inputs!r}."
        )
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"Input names must be unique; received {names}.")
    return specs


def _column_names(specs, columns):
    columns = dict(columns or {})
    unknown = sorted(set(columns) - {s.name for s in specs})
    if unknown:
        raise ValueError(
            f"columns= maps inputs {unknown} that are not in inputs "
            f"({', '.join(s.name for s in specs)}); keys are spec names."
        )
    return {s.name: columns.get(s.name, s.name) for s in specs}


def _check_columns(df, specs, names, label, source):
    have = ", ".join(map(str, df.columns)) or "(none)"
    for spec in specs:
        if names[spec.name] not in df.columns:
            raise ValueError(
                f"{spec.modality.capitalize()} input '{spec.name}' reads column "
                f"'{names[spec.name]}', which {source} does not have; its columns are: {have}. "
                f"Name a column '{spec.name}' or pass columns={{'{spec.name}': <column>}}."
            )
    for column in [] if label is None else [label] if isinstance(label, str) else label:
        if column not in df.columns:
            raise ValueError(
                f"Label column '{column}' is not in {source}; its columns are: {have}. "
                f"Pass label=<column>, or label=None for unlabeled data."
            )
    if len(df) == 0:
        raise ValueError(f"{source} has no rows (columns: {have}); a manifest needs one row per example.")


# --- row checks ------------------------------------------------------------------
class _Rows:
    """A manifest's rows and the problems found in them."""

    def __init__(self, df, source, base_dir):
        self.df, self.source, self.base_dir = df, source, base_dir
        self.labels = [i.item() if hasattr(i, "item") else i for i in df.index]
        self.problems = []

    def __len__(self):
        return len(self.labels)

    def add(self, position, spec, column, path, reason, detail, fix):
        name, modality = (spec, "label") if isinstance(spec, str) else (spec.name, spec.modality)
        self.problems.append(
            Problem(self.labels[position], position, name, modality, column, path, reason, detail, fix, self.source)
        )

    def bad(self):
        return {p.position for p in self.problems}

    def settle(self, on_error):
        """Raises on problems (`on_error="raise"`), else returns the good positions."""
        self.problems.sort(key=lambda p: p.position)
        if self.problems and on_error == "raise":
            _raise(self.problems)
        bad = self.bad()
        if len(bad) == len(self):
            raise ValueError(
                f"Every row of {self.source} is bad ({len(bad)} rows); nothing "
                f"is left to train on. First: {self.problems[0].message()}"
            )
        return [i for i in range(len(self)) if i not in bad]


def _raise(problems):
    lines = [problems[0].message()]
    if len(problems) > 1:
        lines.append(f"{len(problems) - 1} more bad record(s):")
        lines += [f"  - {p.message()}" for p in problems[1:10]]
        if len(problems) > 10:
            lines.append(f"  ... and {len(problems) - 10} more.")
    lines.append(_SKIP_HINT)
    missing = all(p.reason == "missing file" for p in problems)
    raise (FileNotFoundError if missing else ValueError)("\n".join(lines))


def _check_text(rows, spec, column, *_):
    values = []
    fix = f"Fill in the text or drop the row (df.dropna(subset=['{column}']))."
    for i, value in enumerate(rows.df[column]):
        if _is_missing(value) or (isinstance(value, str) and not value.strip()):
            what = "missing (NaN)" if _is_missing(value) else "empty"
            rows.add(i, spec, column, None, "empty text", f"the text is {what}", fix)
        elif not isinstance(value, str):
            rows.add(
                i,
                spec,
                column,
                None,
                "not text",
                f"expects a string; received {type(value).__name__} {value!r}",
                f"Convert the column to strings (df['{column}'].astype(str)).",
            )
        values.append(value)
    return values


def _check_paths(rows, spec, column):
    """Resolved paths of existing files (None where the row has a problem)."""
    paths = []
    for i, value in enumerate(rows.df[column]):
        path = None
        given = isinstance(value, (str, os.PathLike)) and str(value).strip()
        if not given:
            rows.add(
                i,
                spec,
                column,
                None,
                "missing file",
                f"the row has no file path ({value!r})",
                "Fill in the path or drop the row.",
            )
        else:
            path = os.path.join(rows.base_dir, os.path.expanduser(os.fspath(value)))
            path = os.path.normpath(path)
            if not os.path.isfile(path):
                what = "is a directory" if os.path.isdir(path) else "does not exist"
                rows.add(
                    i,
                    spec,
                    column,
                    path,
                    "missing file",
                    f"the file {what}",
                    f"Check the path; relative paths resolve against '{rows.base_dir}' "
                    f"(pass base_dir= to change that).",
                )
                path = None
        paths.append(path)
    return paths


def _check_image(rows, spec, column, *_):
    return [[path, None] for path in _check_paths(rows, spec, column)]  # [path, decoded shape]


def _check_audio(rows, spec, column, resample, long_audio):
    """`[path, WavHeader]` per row, from the WAV headers alone (no decoding)."""
    entries = []
    for i, path in enumerate(_check_paths(rows, spec, column)):
        header = None
        if path is not None and video.is_container(path):
            header = video_rows.audio_track_header(rows, i, spec, column, path, resample, long_audio)
        elif path is not None:
            header = _wav_header(rows, i, spec, column, path, resample, long_audio)
        entries.append([path if header else None, header])
    return entries


def _wav_header(rows, i, spec, column, path, resample, long_audio):
    try:
        header = decode.read_wav_header(path)
    except (OSError, ValueError) as error:
        rows.add(
            i,
            spec,
            column,
            path,
            "corrupt file",
            f"the WAV cannot be read: {error}",
            "Re-encode the file as 16-bit PCM WAV or drop the row.",
        )
        return None
    problem = decode.check_wav(header, spec, resample, long_audio)
    if problem:
        rows.add(i, spec, column, path, *problem)
        return None
    return header


def _check_array(rows, spec, column, *_):
    values = []
    for i, value in enumerate(rows.df[column]):
        array, detail = None, None
        try:
            if _is_missing(value):
                detail = "the row has no value"
            else:
                array = np.asarray(json.loads(value) if isinstance(value, str) else value, dtype=spec.dtype)
        except (ValueError, TypeError) as error:
            detail = f"the value cannot be read as {spec.dtype} numbers ({error})"
        if array is not None and array.shape == () and tuple(spec.shape) == (1,):
            array = array.reshape(1)  # a number in a Features(shape=(1,)) column
        if array is not None and array.shape != tuple(spec.shape):
            detail = f"expects shape {tuple(spec.shape)}; received shape {array.shape}"
        elif array is not None and not np.isfinite(array).all():
            detail = "the value has NaN or Inf entries"
        if detail:
            rows.add(
                i,
                spec,
                column,
                None,
                "bad value",
                detail,
                f"Give every row a list or array of shape {tuple(spec.shape)} (a JSON list in CSVs) or drop the row.",
            )
            array = None
        values.append(array)
    return values


_CHECKS = {
    "text": _check_text,
    "image": _check_image,
    "video": _check_image,  # paths now; the files are opened once the Python checks pass
    "audio": _check_audio,
    "array": _check_array,
}


# --- the decoding pass ---------------------------------------------------------------
def _probe_files(rows, spec, column, entries, resize_images, num_parallel_calls):
    """Decodes every image or WAV once; records corrupt files and wrong image sizes."""
    if spec.modality == "audio":
        wavs = [[None if path is None or video.is_container(path) else path, h] for path, h in entries]
        _probe(
            rows, spec, column, wavs, lambda contents: tf.shape(tf.audio.decode_wav(contents)[0]), num_parallel_calls
        )
        return
    found = _probe(
        rows, spec, column, entries, lambda contents: tf.shape(decode.decode_image(contents, spec)), num_parallel_calls
    )
    height, width, _ = spec.shape
    for i, shape in found.items():
        entries[i][1] = shape
        if tuple(shape[:2]) != (height, width) and not resize_images:
            rows.add(
                i,
                spec,
                column,
                entries[i][0],
                "wrong image size",
                f"expects {height}x{width} images; the file is {shape[0]}x{shape[1]}",
                "Pass resize_images=True to resize in the pipeline, resize the file, "
                "or declare the size in Image(shape=...).",
            )


def _probe(rows, spec, column, entries, decode_fn, num_parallel_calls):
    """Decodes each distinct good file once; records failures; `{position: result}`."""
    bad = rows.bad()
    positions = [i for i, (path, _) in enumerate(entries) if path is not None and i not in bad]
    paths = sorted({entries[i][0] for i in positions})
    results = dict(zip(paths, decode.probe(paths, decode_fn, num_parallel_calls)))
    found = {}
    for i in positions:
        value, error = results[entries[i][0]]
        if error is None:
            found[i] = value
        else:
            rows.add(
                i,
                spec,
                column,
                entries[i][0],
                "corrupt file",
                f"the {spec.modality} file cannot be decoded: {error}",
                "Re-encode or replace the file, or drop the row.",
            )
    return found


# --- reporting --------------------------------------------------------------------------
def _report(rows, specs, values, keep):
    report = ManifestReport(rows.source, len(rows), len(keep), list(rows.problems))
    for spec in specs:
        if _kind(spec) == "audio":
            headers = [values[spec.name][i][1] for i in keep]
            lengths = [decode.clip_length(h, spec) for h in headers]
            report.cropped[spec.name] = sum(n > spec.num_samples for n in lengths)
            report.padded[spec.name] = sum(n < spec.num_samples for n in lengths)
            report.resampled[spec.name] = sum(h.sample_rate != spec.sample_rate for h in headers)
        elif _kind(spec) == "image":
            shapes = [values[spec.name][i][1] for i in keep]
            report.resized[spec.name] = sum(tuple(s[:2]) != spec.shape[:2] for s in shapes)
        elif _kind(spec) == "video":
            infos = [values[spec.name][i][1] for i in keep]
            report.sampled[spec.name] = sum(info.num_frames > spec.frames for info in infos)
            report.padded[spec.name] = sum(info.num_frames < spec.frames for info in infos)
            report.resized[spec.name] = sum((info.height, info.width) != spec.frame_shape[:2] for info in infos)
    return report


def _warn_cropped(specs, values, keep, report):
    for spec in specs:
        count = report.cropped.get(spec.name, 0)
        if count:
            example = next(
                values[spec.name][i][0]
                for i in keep
                if decode.clip_length(values[spec.name][i][1], spec) > spec.num_samples
            )
            warnings.warn(
                f"Audio input '{spec.name}': {count} of {len(keep)} clips are longer than "
                f"{spec.seconds} s ({spec.num_samples} samples at {spec.sample_rate} Hz) and "
                f"were cropped to their start (e.g. '{example}'). Pass long_audio='error' to "
                f"refuse them, or raise Audio(seconds=...).",
                stacklevel=4,
            )
