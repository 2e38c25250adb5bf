"""What a manifest check found: one `Problem` per bad row, and the `ManifestReport`."""

import collections
import dataclasses


@dataclasses.dataclass(frozen=True)
class Problem:
    """One bad record of a manifest: where it is, what is wrong, and the fix.

    Attributes:
        row: the DataFrame index label of the row.
        position: its 0-based position (`df.iloc[position]`).
        input: the spec name (or the label column's name).
        modality: "text", "image", "audio", "features" or "label".
        column: the column read.
        path: the resolved file path, or None for text, features and labels.
        reason: a short category, e.g. "missing file", "corrupt file".
        detail: what was found.
        fix: how to fix it.
        source: the manifest ("the DataFrame" or the CSV path).
    """

    row: object
    position: int
    input: str
    modality: str
    column: str
    path: str
    reason: str
    detail: str
    fix: str
    source: str

    def message(self):
        """The full error message for this record."""
        who = (
            f"Label column '{self.column}'"
            if self.modality == "label"
            else f"{self.modality.capitalize()} input '{self.input}'"
        )
        where = f"row {self.row!r} of {self.source}, column '{self.column}'"
        if self.path is not None:
            where = f"file '{self.path}', {where}"
        return f"{who}: {self.detail} ({where}). {self.fix}"


@dataclasses.dataclass
class ManifestReport:
    """What `from_dataframe`/`from_csv` did with a manifest's rows.

    Attributes:
        source: the manifest ("the DataFrame" or the CSV path).
        num_rows: rows in the manifest.
        num_examples: rows in the dataset (each seen once per epoch).
        problems: the `Problem`s of the skipped rows (empty unless `on_error="skip"`).
        cropped, padded, resampled, resized: `{input_name: count}` of kept
            clips cropped to the spec's length, zero-padded to it, resampled to
            its rate, and images resized to its height and width (video:
            clips with fewer frames than the spec, padded by their last frame,
            and clips whose frames are resized).
        sampled: `{input_name: count}` of kept video clips with more frames
            than the spec takes (`spec.frames` of them are sampled).
    """

    source: str
    num_rows: int
    num_examples: int
    problems: list = dataclasses.field(default_factory=list)
    cropped: dict = dataclasses.field(default_factory=dict)
    padded: dict = dataclasses.field(default_factory=dict)
    resampled: dict = dataclasses.field(default_factory=dict)
    resized: dict = dataclasses.field(default_factory=dict)
    sampled: dict = dataclasses.field(default_factory=dict)

    @property
    def skipped_rows(self):
        """Index labels of the skipped rows, in manifest order."""
        rows = {p.position: p.row for p in self.problems}
        return [rows[position] for position in sorted(rows)]

    @property
    def num_skipped(self):
        return self.num_rows - self.num_examples

    def reasons(self):
        """`{reason: number of skipped rows with that problem}` (a row may have several)."""
        rows = collections.defaultdict(set)
        for p in self.problems:
            rows[p.reason].add(p.position)
        return {reason: len(positions) for reason, positions in sorted(rows.items())}

    def summary(self):
        """One line per fact, for logs and warnings."""
        lines = [f"{self.source}: {self.num_examples} of {self.num_rows} rows kept"]
        if self.num_skipped:
            why = ", ".join(f"{reason}: {n}" for reason, n in self.reasons().items())
            lines[0] += f", {self.num_skipped} skipped ({why})"
            lines += [f"  - {p.message()}" for p in self.problems[:10]]
            if len(self.problems) > 10:
                lines.append(f"  ... and {len(self.problems) - 10} more (see report.problems)")
        for what in ("cropped", "padded", "resampled", "resized", "sampled"):
            for name, count in getattr(self, what).items():
                if count:
                    lines.append(f"  {name}: {count} {what}")
        return "\n".join(lines)
