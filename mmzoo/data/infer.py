"""Input specs inferred from a table's columns: image and WAV paths, free text, numbers.

`infer_inputs(df, label)` looks at every column but the label and picks a
spec for it, saying why: image paths (by extension; a sample of the files is
decoded for height, width and channels), video paths (MP4, WebM, AVI, MKV,
MOV, animated GIF; a sample is opened for frames and size), WAV paths (every header is read, no
samples: sample rate and clip lengths), numbers or lists of numbers
(`Features`), and any other strings (`Text`). Every choice can be overridden
per column. Files that are missing or unreadable are listed as skipped rows.
"""

import collections
import dataclasses
import json
import keyword
import os
import re

import numpy as np
import pandas as pd

from mmzoo.data import decode
from mmzoo.data.labels import is_missing
from mmzoo.specs import Audio, Features, Image, Spec, Text, Video

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
AUDIO_EXTENSIONS = (".wav",)
VIDEO_EXTENSIONS = (".mp4", ".webm", ".avi", ".mkv", ".mov")  # and animated .gif (see `_Reader.images`)
MAX_FRAMES = 16  # the most frames an inferred Video spec takes (the median clip length, up to this)
_OTHER_MEDIA = (
    ".mp3",
    ".flac",
    ".ogg",
    ".m4a",
    ".aac",
    ".opus",
    ".tif",
    ".tiff",
    ".webp",
    ".heic",
    ".svg",
)
_KINDS = {"image": Image, "audio": Audio, "video": Video, "text": Text, "features": Features}
_PROGRESS_ROWS = 1000  # show a progress bar when checking at least this many files


@dataclasses.dataclass
class InferredColumn:
    """How one column was read: its kind ("image", "audio", "video", "text", "features" or "dropped"), spec and why."""

    column: str
    kind: str
    spec: Spec
    why: str


class InferredInputs(list):
    """The inferred specs (a list, usable wherever `inputs` are) plus how each was chosen.

    Attributes:
        columns: `{spec_name: column}` (names are the columns made into Python identifiers).
        rows: one `InferredColumn` per column looked at, in table order.
        skipped: `{row index label: [(column, reason, detail), ...]}` for rows whose
            file is missing or unreadable (the data pipeline raises on them
            or, with `on_error="skip"`, drops them).
        base_dir: the folder relative paths were resolved against.
        label: the label column(s).
    """

    def __init__(self, specs, columns, rows, skipped, base_dir, label):
        super().__init__(specs)
        self.columns, self.rows, self.skipped = columns, rows, skipped
        self.base_dir, self.label = base_dir, label

    def table(self):
        """The table of columns, kinds, specs and reasons, with the skipped-row summary."""
        lines = [["column", "kind", "spec", "why"]]
        for row in self.rows:
            name = row.column if row.spec is None or row.spec.name == row.column else f"{row.column} -> {row.spec.name}"
            lines.append([name, row.kind, "-" if row.spec is None else describe_spec(row.spec), row.why])
        widths = [max(len(line[i]) for line in lines) for i in range(3)]
        text = "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line[:3], widths)) + "  " + line[3] for line in lines
        )
        return text + "\n" + self.skipped_summary()

    def skipped_summary(self):
        """One line: how many rows have unusable files, why, and an example."""
        if not self.skipped:
            return "skipped rows: none"
        reasons = collections.Counter(p[1] for problems in self.skipped.values() for p in problems)
        row, problems = next(iter(self.skipped.items()))
        why = ", ".join(f"{reason}: {n}" for reason, n in sorted(reasons.items()))
        column, reason, detail = problems[0]
        return (
            f"skipped rows: {len(self.skipped)} ({why}); first: row {row!r} (DataFrame index), "
            f"column '{column}': {reason}: {detail}"
        )

    def __str__(self):
        return self.table()


def describe_spec(spec):
    """`Image(shape=(64, 64, 3))`: the spec's class and the fields that differ from a default spec's."""
    default = type(spec)(name=spec.name)
    parts = [
        f"{'shape' if f.name == 'frame_shape' else f.name}={getattr(spec, f.name)!r}"  # Video(shape=) is frame_shape
        for f in dataclasses.fields(spec)
        if f.name != "name" and getattr(spec, f.name) != getattr(default, f.name)
    ]
    return f"{type(spec).__name__}({', '.join(parts)})"


def infer_inputs(df, label, overrides=None, base_dir=None, sample=32, verbose=True):
    """Infers one input spec per column of `df` (all but the label) and prints why.

    - Image paths (.png .jpg .jpeg .gif .bmp): the first `sample` files are
      decoded; the most common height x width is used (the data pipeline
      resizes the others when asked), channels 1 if all are grey, else 3.
    - Video paths (.mp4 .webm .avi .mkv .mov, and .gif when animated): the
      first `sample` files are opened (PyAV; GIF with TensorFlow): `frames`
      is the median frame count up to 16, the most common frame size is
      used, RGB.
    - Audio paths (.wav): every header is read (no samples): the most common
      sample rate; `seconds` is the 95th percentile of the clip lengths
      (longer clips are cropped, shorter ones zero-padded).
    - Numbers, or lists of numbers (cells as lists or JSON text): `Features`
      of the most common shape. An integer column named like an id ("id",
      "*_id") whose values are all distinct is left out.
    - Other strings: `Text`; `sequence_length` is the 95th percentile of
      the word counts; the vocabulary is adapted later, on training rows.

    A column mixing image and audio paths is an error naming it.

    Args:
        df: a pandas DataFrame, or the path of a CSV file.
        label: the label column, or a list of label columns; left out.
        overrides: `{column: spec | dict | None}`: a spec is used as given, a
            dict replaces inferred fields (`{"shape": (32, 32, 3)}`; a "kind"
            key forces "image", "audio", "text" or "features"), None leaves
            the column out.
        base_dir: folder relative paths resolve against (default: the CSV's
            folder for a path, else the current directory).
        sample: how many image files to decode per column for the size.
        verbose: print the table (and a progress bar over thousands of files).

    Returns:
        An `InferredInputs`: the list of specs, with `.columns` (spec name ->
        column), `.rows` (the table), `.skipped` (rows with unusable files)
        and `.table()`.

    Raises:
        ValueError: no rows, a label or override column that does not exist
            (the message lists the columns), a column mixing image and audio
            paths, or files of a kind mmzoo does not read.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"review": ["a fine film", "dull", "great fun"],
        ...                    "length": [98, 120, 87], "liked": ["yes", "no", "yes"]})
        >>> inputs = infer_inputs(df, label="liked", verbose=False)
        >>> [describe_spec(spec) for spec in inputs]
        ['Text(vocabulary_size=8, sequence_length=3)', 'Features(shape=(1,))']
    """
    if isinstance(df, (str, os.PathLike)):
        base_dir = os.path.dirname(os.path.abspath(df)) if base_dir is None else base_dir
        df = read_table(df)
    source = "the DataFrame"
    base_dir = os.path.abspath(os.path.expanduser(base_dir if base_dir is not None else os.getcwd()))
    labels = [label] if isinstance(label, str) else list(label)
    have = ", ".join(map(str, df.columns)) or "(none)"
    for column in labels:
        if column not in df.columns:
            raise ValueError(
                f"Label column '{column}' is not in {source}; its columns are: {have}. Pass label=<one of them>."
            )
    if len(df) == 0:
        raise ValueError(f"{source} has no rows (columns: {have}); expected one row per example.")
    overrides = dict(overrides or {})
    for column in overrides:
        if column not in df.columns or column in labels:
            what = "is the label" if column in labels else "is not a column"
            raise ValueError(
                f"overrides['{column}']: '{column}' {what}; input columns are: "
                f"{', '.join(c for c in map(str, df.columns) if c not in labels)}."
            )
    reader = _Reader(df, base_dir, sample, verbose)
    rows, specs, columns, used = [], [], {}, set()
    for column in [c for c in df.columns if c not in labels]:
        override = overrides.get(column, "infer")
        if override is None:
            rows.append(InferredColumn(column, "dropped", None, "overrides: None"))
            continue
        if isinstance(override, Spec):
            spec, why = override, "given in overrides"
        else:
            spec, why = reader.infer(column, _identifier(column, used), override)
        used.add(spec.name if spec is not None else "")
        rows.append(InferredColumn(column, spec.modality if spec is not None else "dropped", spec, why))
        if spec is not None:
            specs.append(spec)
            columns[spec.name] = column
    if not specs:
        raise ValueError(
            f"No input column is left in {source} besides the label ({', '.join(labels)}): "
            f"columns are {have}. Add a column of texts, file paths or numbers."
        )
    skipped = {row: reader.skipped[row] for row in reader.index if row in reader.skipped}  # row order
    result = InferredInputs(specs, columns, rows, skipped, base_dir, label)
    if verbose:
        print(result.table())
    return result


def read_table(path):
    """A CSV as a DataFrame: empty cells are missing, "NA" stays text.

    Raises:
        FileNotFoundError: no such file. ValueError: the file is empty.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"CSV file '{path}' does not exist (working directory: {os.getcwd()}).")
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"CSV file '{path}' is empty: expected a header line naming the columns and one line per example."
        ) from None


def _identifier(column, used):
    name = re.sub(r"\W", "_", str(column).strip()) or "column"
    if not (name[0].isalpha() or name[0] == "_") or keyword.iskeyword(name):
        name = f"x_{name}"
    base, k = name, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    return name


class _Reader:
    """Looks at one column at a time; collects rows with unusable files."""

    def __init__(self, df, base_dir, sample, verbose):
        self.df, self.base_dir, self.sample, self.verbose = df, base_dir, sample, verbose
        self.index = list(df.index)
        self.skipped = {}

    def skip(self, position, column, reason, detail=""):
        self.skipped.setdefault(self.index[position], []).append((column, reason, detail))

    def infer(self, column, name, override):
        options = dict(override) if isinstance(override, dict) else {}
        forced = options.pop("kind", None)
        if forced is not None and forced not in _KINDS:
            raise ValueError(f"overrides['{column}']['kind'] must be one of {sorted(_KINDS)}; received {forced!r}.")
        kind, fields, why = self.kind_of(column, forced)
        if kind is None:
            return None, why
        fields = {**fields, **options}
        try:
            spec = _KINDS[kind](name=name, **fields)
        except TypeError as error:
            allowed = [f.name for f in dataclasses.fields(_KINDS[kind]) if f.name != "name"]
            raise ValueError(
                f"overrides['{column}']: {error}; a {_KINDS[kind].__name__} takes {', '.join(allowed)}."
            ) from None
        return spec, why + (f"; overrides: {options}" if options else "")

    def kind_of(self, column, forced):
        series = self.df[column]
        values = [
            (i, v) for i, v in enumerate(series) if not is_missing(v) and not (isinstance(v, str) and not v.strip())
        ]
        if not values:
            return None, {}, "every cell is empty"
        numeric = pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
        if forced in (None, "features") and numeric:
            return self.numbers(column, series)
        kinds = collections.Counter(_cell_kind(v) for _, v in values)
        if forced is None:
            forced = _pick_kind(column, kinds, values)
        if forced == "image":
            return self.images(column, values)
        if forced == "audio":
            return self.audio(column, values)
        if forced == "video":
            return self.video(column, values)
        if forced == "features":
            return self.arrays(column, values)
        return self.text(values)

    def numbers(self, column, series):
        integer = pd.api.types.is_integer_dtype(series)
        id_like = str(column).lower() in ("id", "index", "unnamed: 0") or str(column).lower().endswith("_id")
        if integer and id_like and series.is_unique:
            return (
                None,
                {},
                (
                    f"an integer id (all {len(series)} values distinct); pass "
                    f"overrides={{'{column}': {{'kind': 'features'}}}} to use it"
                ),
            )
        return "features", {"shape": (1,)}, f"numbers ({series.dtype})"

    def arrays(self, column, values):
        shapes = {}
        for i, value in values:
            try:
                shapes[i] = np.asarray(json.loads(value) if isinstance(value, str) else value, "float32").shape
            except (ValueError, TypeError):
                shapes[i] = None
        common, count = (
            collections.Counter(s for s in shapes.values() if s is not None).most_common(1)[0]
            if any(s is not None for s in shapes.values())
            else (None, 0)
        )
        if common is None or len(common) not in (1, 2):
            raise ValueError(
                f"Column '{column}' is read as lists of numbers but holds no list of shape (dim,) "
                f"or (steps, dim) (e.g. {values[0][1]!r}). Pass overrides={{'{column}': None}} to "
                f"leave it out, or {{'kind': 'text'}} to read it as text."
            )
        for i, shape in shapes.items():
            if shape != common:
                self.skip(
                    i,
                    column,
                    "bad features",
                    "not a list of numbers" if shape is None else f"shape {shape}, not {common}",
                )
        return "features", {"shape": common}, f"lists of numbers; shape {common} in {count} of {len(values)} rows"

    def text(self, values):
        words = [re.findall(r"\w+", str(v).lower()) for _, v in values]
        counts = np.array([len(w) for w in words])
        distinct = len({w for ws in words for w in ws})
        length = max(1, int(np.ceil(np.percentile(counts, 95))))
        return (
            "text",
            {"vocabulary_size": min(20_000, distinct + 2), "sequence_length": length},
            (
                f"free text: {distinct} distinct words, {counts.min()}-{counts.max()} words a row; "
                f"sequence_length = 95th percentile; vocabulary adapted on training rows"
            ),
        )

    def paths(self, column, values, kind):
        """`[(position, absolute path)]` of the files that exist; the others are skipped."""
        found = []
        progress = _progress(len(values), self.verbose, f"checking {kind} files of '{column}'")
        for n, (i, value) in enumerate(values):
            path = os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(str(value).strip())))
            if os.path.isfile(path):
                found.append((i, path))
            else:
                self.skip(i, column, "missing file", f"'{path}'")
            if progress is not None and (n + 1) % 256 == 0:
                progress.update(n + 1)
        if progress is not None:
            progress.update(len(values), finalize=True)
        if not found:
            raise FileNotFoundError(
                f"Column '{column}': none of its {len(values)} {kind} files exists (e.g. "
                f"'{os.path.join(self.base_dir, str(values[0][1]))}'). Relative paths resolve "
                f"against '{self.base_dir}'; pass base_dir= to change that."
            )
        return found

    def images(self, column, values):
        import tensorflow as tf

        shapes, found = [], self.paths(column, values, "image")
        if all(path.lower().endswith(".gif") for _, path in found[: self.sample]) and any(
            _frames(tf, path) > 1 for _, path in found[: self.sample]
        ):
            return self.video(column, values)
        for i, path in found[: self.sample]:
            try:
                image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
                shapes.append(tuple(int(d) for d in image.shape))
            except (tf.errors.OpError, ValueError) as error:
                self.skip(i, column, "corrupt image", f"'{path}' ({str(error).splitlines()[0][:80]})")
        if not shapes:
            raise ValueError(
                f"Column '{column}': none of the first {self.sample} image files decodes; "
                f"expected PNG, JPEG, GIF or BMP images."
            )
        sizes = collections.Counter(s[:2] for s in shapes)
        (height, width), count = sizes.most_common(1)[0]
        channels = 1 if all(s[2] in (1, 2) for s in shapes) else 3
        why = f"image paths; {len(shapes)} files decoded: {height}x{width} in {count}"
        if len(sizes) > 1:
            others = ", ".join(f"{h}x{w}: {n}" for (h, w), n in sizes.most_common()[1:4])
            why += f" (also {others}; the most common size is used, the others resized)"
        why += ", grey" if channels == 1 else ", RGB" + (" (alpha dropped)" if any(s[2] == 4 for s in shapes) else "")
        return "image", {"shape": (height, width, channels)}, why

    def video(self, column, values):
        from mmzoo.data.video import probe_video

        infos = []
        for i, path in self.paths(column, values, "video")[: self.sample]:
            try:
                infos.append(probe_video(path))
            except (ValueError, ImportError) as error:
                self.skip(i, column, "unreadable video", f"'{path}' ({str(error).splitlines()[0][:120]})")
        if not infos:
            raise ValueError(
                f"Column '{column}': none of the first {self.sample} video files opens; expected MP4, "
                f'WebM, AVI, MKV, MOV or animated GIF files (MP4 and the others need pip install "mmzoo[video]").'
            )
        counts = np.array([info.num_frames for info in infos])
        frames = int(min(MAX_FRAMES, max(1, np.median(counts))))
        sizes = collections.Counter((info.height, info.width) for info in infos)
        (height, width), count = sizes.most_common(1)[0]
        why = (
            f"video paths; {len(infos)} files opened: {height}x{width} in {count}, {counts.min()}-{counts.max()} "
            f"frames; frames = median up to {MAX_FRAMES} (clips sampled or padded to it)"
        )
        if len(sizes) > 1:
            why += "; the most common size is used, the others resized"
        return "video", {"frames": frames, "shape": (height, width, 3)}, why

    def audio(self, column, values):
        headers = []
        for i, path in self.paths(column, values, "audio"):
            try:
                header = decode.read_wav_header(path)
            except (OSError, ValueError) as error:
                self.skip(i, column, "unreadable WAV", f"'{path}' ({error})")
                continue
            if header.format_tag != 1 or header.bits != 16 or header.channels != 1 or not header.num_frames:
                self.skip(i, column, "unsupported WAV", f"'{path}' is not a mono 16-bit PCM WAV with samples")
                continue
            headers.append(header)
        if not headers:
            raise ValueError(
                f"Column '{column}': no file is a mono 16-bit PCM WAV; convert them "
                f"(e.g. `sox in.wav -c 1 -b 16 out.wav`)."
            )
        rate, count = collections.Counter(h.sample_rate for h in headers).most_common(1)[0]
        seconds = np.array([h.num_frames / h.sample_rate for h in headers])
        duration = max(0.05, float(np.ceil(np.percentile(seconds, 95) * 100) / 100))
        why = (
            f"WAV paths; {len(headers)} headers read: {rate} Hz in {count}, clips {seconds.min():.2f}-"
            f"{seconds.max():.2f} s (median {np.median(seconds):.2f}); seconds = 95th percentile, "
            f"longer clips cropped"
        )
        return "audio", {"sample_rate": int(rate), "seconds": duration}, why


def _cell_kind(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return "features"
    text = str(value).strip()
    if "\n" not in text and len(text) < 4096:
        extension = os.path.splitext(text)[1].lower()
        if extension in IMAGE_EXTENSIONS:
            return "image"
        if extension in AUDIO_EXTENSIONS:
            return "audio"
        if extension in VIDEO_EXTENSIONS:
            return "video"
        if extension in _OTHER_MEDIA:
            return extension
    if text.startswith("[") and text.endswith("]"):
        try:
            np.asarray(json.loads(text), "float32")
            return "features"
        except (ValueError, TypeError):
            pass
    return "text"


def _pick_kind(column, kinds, values):
    def example(kind):
        return next(str(v) for _, v in values if _cell_kind(v) == kind)

    if kinds["image"] and kinds["audio"]:
        raise ValueError(
            f"Column '{column}' mixes image files ({kinds['image']} rows, e.g. '{example('image')}') and audio "
            f"files ({kinds['audio']} rows, e.g. '{example('audio')}'); a column holds one modality. Split it "
            f"into an image column and an audio column, or pass overrides={{'{column}': None}} to leave it out."
        )
    kind, count = kinds.most_common(1)[0]
    if kind.startswith("."):
        raise ValueError(
            f"Column '{column}' holds {kind} files (e.g. '{example(kind)}'), which mmzoo does not read: expected "
            f"images ({' '.join(IMAGE_EXTENSIONS)}) or 16-bit PCM WAV. Convert them, or pass "
            f"overrides={{'{column}': None}} to leave the column out."
        )
    for media in ("image", "audio", "video"):
        if kinds[media] * 2 >= len(values):
            return media
    return "features" if kinds["features"] * 2 >= len(values) else "text"


def _frames(tf, path):
    """Frames in a GIF file (0 if it does not decode)."""
    try:
        return int(tf.io.decode_gif(tf.io.read_file(path)).shape[0])
    except (tf.errors.OpError, ValueError):
        return 0


def _progress(total, verbose, title):
    if not verbose or total < _PROGRESS_ROWS:
        return None
    import keras

    print(title)
    return keras.utils.Progbar(total, unit_name="row")
