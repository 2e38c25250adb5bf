"""Manifest row checks for video files and for the audio tracks of video files.

`mmzoo.data.manifest` resolves the paths of a column (missing files are its
problems); these functions open each remaining file once (PyAV, or
TensorFlow for GIF), record unreadable files and wrong frame sizes as
problems of their row, and keep what decoding needs (frame counts).
"""

from mmzoo.data import decode
from mmzoo.data.video import is_container, probe_video

_FIX = "Re-encode or replace the file, or drop the row."


def check_video(rows, spec, column, paths, resize):
    """`[path, VideoInfo]` per row (path None where the row has a problem)."""
    height, width, _ = spec.frame_shape
    entries = []
    for i, path in enumerate(paths):
        info = None
        if path is not None:
            try:
                info = probe_video(path)
            except ValueError as error:
                rows.add(i, spec, column, path, "corrupt file", f"the video file cannot be decoded: {error}", _FIX)
            else:
                if (info.height, info.width) != (height, width) and not resize:
                    rows.add(
                        i,
                        spec,
                        column,
                        path,
                        "wrong frame size",
                        f"expects {height}x{width} frames; the video is {info.height}x{info.width}",
                        "Pass resize_images=True to resize in the pipeline, or declare the size in Video(shape=...).",
                    )
                    info = None
        entries.append([path if info else None, info])
    return entries


def audio_track_header(rows, i, spec, column, path, resample, long_audio):
    """A `WavHeader` describing the audio track of video file `path` (mixed down to mono), or None on a problem."""
    try:
        info = probe_video(path)
    except ValueError as error:
        rows.add(i, spec, column, path, "corrupt file", f"the video file cannot be decoded: {error}", _FIX)
        return None
    if not info.audio_rate:
        rows.add(
            i,
            spec,
            column,
            path,
            "no audio track",
            "the video file has no audio stream",
            "Give the row a file with sound, or drop the row.",
        )
        return None
    samples = max(int(round(info.audio_seconds * info.audio_rate)), 1)
    header = decode.WavHeader(1, 1, info.audio_rate, 16, samples)  # decoded as mono float by PyAV
    problem = decode.check_wav(header, spec, resample, long_audio)
    if problem:
        rows.add(i, spec, column, path, *problem)
        return None
    return header


def reads_containers(entries):
    """Whether a column's kept files need PyAV (any MP4/WebM/AVI/MKV/MOV among them)."""
    return any(path is not None and is_container(path) for path, _ in entries)
