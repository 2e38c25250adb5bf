"""Writes tiny stand-ins for the real datasets, in the same formats and layout (about 60 KB).

    python tests/dummy_data/make_dummy.py [OUT_DIR]    # default: this folder

Layout (as in the shared data folder, see its PROVENANCE.md):
    mnist/mnist.npz                 x_train (150, 28, 28) uint8 (15 per digit), y_train,
                                    x_test (100, 28, 28) uint8 (10 per digit), y_test
    fsdd/recordings/*.wav           100 mono 16-bit 8 kHz clips {digit}_{speaker}_{take}.wav:
                                    speakers alice and bob, takes 0 and 3 (test), 5, 6, 7 (train);
                                    a tone whose pitch depends on the digit, 80-240 samples
    mosi/mosi_bclstm_utterances.npz 31 utterances: train 21 over 6 videos, test 10 over 3; all keys
    emoji/emoji_twitter64.npz       36 emoji (4 per category), all keys

The values are synthetic (patterns, tones, rounded random features), only the
formats are real. Everything comes from `numpy.random.default_rng(0)`.
"""

import sys
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPEAKERS = ("alice", "bob")
TAKES = (0, 3, 5, 6, 7)
CATEGORIES = [
    "Activities",
    "Animals & Nature",
    "Flags",
    "Food & Drink",
    "Objects",
    "People & Body",
    "Smileys & Emotion",
    "Symbols",
    "Travel & Places",
]


def digit_images(per_digit, rng):
    """Blocky, compressible 28x28 'digits': a bar whose row and width follow the digit."""
    images, labels = [], []
    for digit in range(10):
        for i in range(per_digit):
            image = np.zeros((28, 28), np.uint8)
            row, shift = 3 + 2 * digit, int(rng.integers(0, 4))
            image[row : row + 3, 4 + shift : 10 + digit + shift] = 255
            image[20:23, 2 + i % 8 : 6 + i % 8] = 128
            images.append(image)
            labels.append(digit)
    return np.stack(images), np.array(labels, np.uint8)


def write_mnist(out, rng):
    x_train, y_train = digit_images(15, rng)
    x_test, y_test = digit_images(10, rng)
    (out / "mnist").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "mnist" / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def write_fsdd(out, rng):
    folder = out / "fsdd" / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    for digit in range(10):
        for speaker in SPEAKERS:
            for take in TAKES:
                n = int(rng.integers(80, 241))
                tone = 0.3 * np.sin(2 * np.pi * (300 + 150 * digit) * np.arange(n) / 8000)
                with wave.open(str(folder / f"{digit}_{speaker}_{take}.wav"), "wb") as f:
                    f.setnchannels(1)
                    f.setsampwidth(2)
                    f.setframerate(8000)
                    f.writeframes((tone * 32767).astype("<i2").tobytes())


def write_mosi(out, rng):
    videos = [(f"trainvid{i}", "train", 3 + i % 2) for i in range(6)]
    videos += [(f"testvid{i}", "test", 3 + i % 2) for i in range(3)]
    rows = [(v, s, j) for v, s, count in videos for j in range(count)]
    n = len(rows)
    score = np.round(rng.uniform(-3, 3, n), 1).astype(np.float32)
    score[::7] = 0.0
    feature = lambda dim: np.round(rng.standard_normal((n, dim)), 1).astype(np.float32)  # noqa: E731
    arrays = {
        "text": feature(50),
        "audio": feature(50),
        "video": feature(50),
        "audio_raw": feature(73),
        "score": score,
        "label2": (score >= 0).astype(np.int64),
        "video_id": np.array([v for v, _, _ in rows]),
        "segment": np.array([j + 1 for *_, j in rows]),
        "start": np.zeros(n, np.float32),
        "end": np.ones(n, np.float32),
        "split": np.array([s for _, s, _ in rows]),
        "std_split": np.array(["train" if i % 3 else "test" for i in range(n)]),
        "row": np.zeros(n, np.int64),
        "pos": np.array([j for *_, j in rows]),
    }
    (out / "mosi").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "mosi" / "mosi_bclstm_utterances.npz", **arrays)


def write_emoji(out, rng):
    words = ["ball", "cat", "flag", "apple", "lamp", "hand", "smile", "heart", "car"]
    images, text, name, label = [], [], [], []
    for category, word in enumerate(words):
        for i in range(4):
            image = np.full((64, 64, 3), 255, np.uint8)
            image[16:48, 16:48] = (28 * category, 200 - 20 * i, 60)
            images.append(image)
            name.append(f"{word} {i}")
            text.append(f"{word} {i} ; {word}_{i}")
            label.append(category)
    n = len(label)
    (out / "emoji").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out / "emoji" / "emoji_twitter64.npz",
        images=np.stack(images),
        text=np.array(text),
        name=np.array(name),
        label=np.array(label, np.int64),
        subcategory=np.array(["sub"] * n),
        unified=np.array([f"{i:04X}" for i in range(n)]),
        categories=np.array(CATEGORIES),
    )


def main(out=HERE):
    out = Path(out)
    rng = np.random.default_rng(0)
    write_mnist(out, rng)
    write_fsdd(out, rng)
    write_mosi(out, rng)
    write_emoji(out, rng)
    return out


if __name__ == "__main__":
    print(main(*sys.argv[1:]))
