"""Generated multimodal data whose label needs several modalities together.

Each modality carries one hidden bit that a unimodal model can read easily;
the label is the XOR (parity) of the bits, so any single modality alone is at
chance and only a model that fuses them can learn the task.
"""

import numpy as np

from mmzoo.specs import Audio, Features, Image, Text

_WORDS = "the a of and to in is it that was for on are with as his they be at one have this".split()


def _image_bits(rng, bits, shape):
    h, w, c = shape
    images = rng.integers(0, 40, size=(len(bits), h, w, c)).astype(np.uint8)
    size = max(2, h // 4)
    for i, bit in enumerate(bits):
        top = rng.integers(0, h - size + 1)
        left = rng.integers(0, w // 2 - size + 1) + (w // 2 if bit else 0)
        images[i, top : top + size, left : left + size, :] = 255
    return images


def _audio_bits(rng, bits, sample_rate, seconds):
    n = int(round(sample_rate * seconds))
    t = np.arange(n) / sample_rate
    freqs = np.where(bits, sample_rate / 5, sample_rate / 20)
    phase = rng.uniform(0, 2 * np.pi, size=(len(bits), 1))
    amp = rng.uniform(0.2, 0.6, size=(len(bits), 1))
    wave = amp * np.sin(2 * np.pi * freqs[:, None] * t[None] + phase)
    return (wave + 0.05 * rng.standard_normal(wave.shape)).astype(np.float32)


def _text_bits(rng, bits, length):
    out = []
    for bit in bits:
        words = list(rng.choice(_WORDS, size=length - 1))
        words.insert(int(rng.integers(0, length)), "sunny" if bit else "rainy")
        out.append(" ".join(words))
    return np.array(out, dtype=object)


def _feature_bits(rng, bits, dim):
    x = rng.standard_normal((len(bits), dim)).astype(np.float32)
    x[:, 0] += np.where(bits, 2.5, -2.5)
    return x


def make_xor(n=512, modalities=("image", "audio"), seed=0):
    """Arrays, labels and specs for a parity-of-bits multimodal task.

    Args:
        n: number of examples.
        modalities: two or more of "image", "audio", "text", "features".
        seed: random seed.

    Returns:
        `(features, labels, inputs)`: `{name: array}`, int labels in {0, 1},
        and the matching specs (named after the modality). Text specs come
        adapted.

    Example:
        >>> x, y, inputs = make_xor(64, ("image", "text"))
        >>> sorted(x), y.shape
        (['image', 'text'], (64,))
    """
    rng = np.random.default_rng(seed)
    features, inputs, label = {}, [], np.zeros(n, dtype=np.int64)
    for modality in modalities:
        bits = rng.integers(0, 2, size=n)
        label ^= bits
        if modality == "image":
            spec = Image("image", shape=(16, 16, 1))
            features["image"] = _image_bits(rng, bits, spec.shape)
        elif modality == "audio":
            spec = Audio("audio", sample_rate=8000, seconds=0.25, num_mel_bins=32)
            features["audio"] = _audio_bits(rng, bits, spec.sample_rate, spec.seconds)
        elif modality == "text":
            spec = Text("text", vocabulary_size=64, sequence_length=8)
            features["text"] = _text_bits(rng, bits, 6)
            spec.adapt(features["text"])
        elif modality == "features":
            spec = Features("features", shape=(8,))
            features["features"] = _feature_bits(rng, bits, 8)
            spec.adapt(features["features"])
        else:
            raise ValueError(f"Unknown modality {modality!r}; choose from image, audio, text, features.")
        inputs.append(spec)
    return features, label, inputs
