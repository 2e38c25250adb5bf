"""The reference input set used to compare zoo entries (parameters, speed) like for like.

Text: 64 tokens over a 20,000-word vocabulary; image: 64x64 RGB; audio: 1 s
at 16 kHz through the in-graph log-mel; 10 classes. Benchmarks and the
README's zoo table use it.
"""

import numpy as np

from mmzoo.registry import MODELS
from mmzoo.specs import Audio, Image, Text
from mmzoo.tasks.task import Classification, Retrieval


def reference_inputs(
    modalities=("text", "image", "audio"),
    vocabulary_size=20_000,
    sequence_length=64,
    image_size=64,
    seconds=1.0,
    sample_rate=16_000,
):
    """Specs of the reference input set (the text vocabulary is a fixed synthetic one)."""
    specs = []
    for modality in modalities:
        if modality == "text":
            vocabulary = [f"w{i}" for i in range(vocabulary_size - 2)]
            specs.append(
                Text("text", vocabulary_size=vocabulary_size, sequence_length=sequence_length, vocabulary=vocabulary)
            )
        elif modality == "image":
            specs.append(Image("image", shape=(image_size, image_size, 3)))
        elif modality == "audio":
            specs.append(Audio("audio", sample_rate=sample_rate, seconds=seconds))
        else:
            raise ValueError(f"No reference spec for modality {modality!r}.")
    return specs


def reference_batch(specs, batch_size, seed=0):
    """Random raw inputs for `specs`: strings of vocabulary words, uint8 pixels, waveforms."""
    rng = np.random.default_rng(seed)
    x = {}
    for spec in specs:
        if spec.modality == "text":
            words = rng.integers(0, spec.vocabulary_size - 2, size=(batch_size, spec.sequence_length))
            x[spec.name] = np.array([" ".join(f"w{i}" for i in row) for row in words], dtype=object)
        elif spec.modality == "image":
            x[spec.name] = rng.integers(0, 256, (batch_size,) + spec.shape).astype("uint8")
        elif spec.modality == "audio":
            x[spec.name] = (0.1 * rng.standard_normal((batch_size, spec.num_samples))).astype("float32")
    return x


def build_reference(name, modalities=("text", "image", "audio"), **spec_options):
    """Builds zoo architecture `name` on the reference inputs (2 inputs for dual encoders)."""
    meta = MODELS.meta(name)
    if meta.get("task") == "retrieval":
        specs = reference_inputs(modalities[:2], **spec_options)
        return MODELS.get(name)(specs, Retrieval())
    return MODELS.get(name)(reference_inputs(modalities, **spec_options), Classification(num_classes=10))


def zoo_table():
    """Markdown table of every registered architecture with its parameter count on the reference set."""
    rows = ["| model | paper | fuses | parameters (text+image+audio, 10 classes) |", "|---|---|---|---|"]
    for name in MODELS.names():
        meta = MODELS.meta(name)
        params = build_reference(name).count_params()
        note = " (text+image)" if meta.get("task") == "retrieval" else ""
        rows.append(f"| `{name}` | {meta.get('paper', '')} | {meta.get('fuses', '')} | {params:,}{note} |")
    return "\n".join(rows)
