"""Tiny video files written once per session with PyAV: MP4 clips with sound, a GIF, a corrupt file."""

import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("av", reason='PyAV is the video extra: pip install "mmzoo[video]"')

RATE = 8000
FRAMES = 8


def clip_pixels(label, size=32):
    """8 frames; frame t of class `label` has value 20 + 25 t (+ 20 for class 1), a bright square per class."""
    frames = np.zeros((FRAMES, size, size, 3), "uint8")
    for t in range(FRAMES):
        frames[t] = 20 + 25 * t + 20 * label
        corner = slice(0, size // 2) if label == 0 else slice(size // 2, size)
        frames[t, corner, corner] = 240
    return frames


def tone(label, seconds=0.5):
    t = np.arange(int(RATE * seconds)) / RATE
    return (0.5 * np.sin(2 * np.pi * (440 if label == 0 else 1200) * t)).astype("float32")


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory):
    """`(folder, DataFrame)`: 6 MP4s with sound (labels 0/1), plus a GIF, a silent MP4 and a corrupt MP4."""
    from mmzoo.data.video_write import write_video

    root = tmp_path_factory.mktemp("videos")
    rows = []
    for i in range(6):
        label = i % 2
        write_video(os.path.join(root, f"clip{i}.mp4"), clip_pixels(label), fps=8, audio=tone(label), sample_rate=RATE)
        rows.append({"clip": f"clip{i}.mp4", "label": label})
    write_video(os.path.join(root, "anim.gif"), clip_pixels(0), fps=8)
    write_video(os.path.join(root, "silent.mp4"), clip_pixels(1), fps=8)
    with open(os.path.join(root, "broken.mp4"), "wb") as f:
        f.write(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    return str(root), pd.DataFrame(rows)
