"""Writing small video files with PyAV: clips (and an audio track) for tests, guides and benchmarks."""

import os

import numpy as np

from mmzoo.data.video import import_av

# container extension -> (video codec, audio codec)
CODECS = {
    ".mp4": ("libx264", "aac"),
    ".mov": ("libx264", "aac"),
    ".mkv": ("libx264", "aac"),
    ".webm": ("libvpx", "libopus"),
    ".avi": ("mpeg4", "pcm_s16le"),
    ".gif": ("gif", None),
}
PIXEL_FORMATS = {"gif": "rgb8"}


def write_video(path, frames, fps=8, audio=None, sample_rate=16_000):
    """Writes `frames` (uint8 `(T, H, W, 3)` or `(T, H, W)`) and an optional mono `audio` track to `path`.

    The codec follows the extension (`CODECS`: H.264 + AAC for .mp4/.mov/.mkv,
    VP8 + Opus for .webm, MPEG-4 + PCM for .avi, animated .gif without
    audio, 256 colours). H.264 and VP8 need even
    heights and widths. Lossy codecs change pixel values slightly.

    Args:
        path: the file to write.
        frames: uint8 pixels, RGB `(T, H, W, 3)` or grey `(T, H, W)`.
        fps: frames per second.
        audio: optional float waveform in [-1, 1], mono `(samples,)`.
        sample_rate: its sample rate (Opus takes 48000 only).

    Returns:
        `path`.

    Example:
        >>> import tempfile, numpy as np
        >>> path = write_video(os.path.join(tempfile.mkdtemp(), "a.mp4"), np.zeros((4, 16, 16, 3), "uint8"))
        >>> from mmzoo.data.video import probe_video
        >>> probe_video(path).num_frames
        4
    """
    av = import_av()
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in CODECS:
        raise ValueError(f"write_video writes {', '.join(CODECS)} files; received path '{path}'.")
    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"write_video takes uint8 frames (T, H, W, 3) or (T, H, W); received shape {frames.shape}.")
    video_codec, audio_codec = CODECS[extension]
    with av.open(os.fspath(path), "w") as container:
        stream = container.add_stream(video_codec, rate=int(fps))
        stream.height, stream.width = int(frames.shape[1]), int(frames.shape[2])
        stream.pix_fmt = PIXEL_FORMATS.get(video_codec, "yuv420p")
        audio_stream = None
        if audio is not None:
            if audio_codec is None:
                raise ValueError(f"write_video: {extension} files hold no audio; received audio for '{path}'.")
            audio_stream = container.add_stream(audio_codec, rate=int(sample_rate), layout="mono")
        for pixels in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))
        if audio_stream is not None:
            _write_audio(av, container, audio_stream, np.asarray(audio, "float32"), int(sample_rate))
    return path


def _write_audio(av, container, stream, audio, sample_rate):
    """Encodes a mono float waveform in the chunks the codec takes."""
    chunk = stream.codec_context.frame_size or 1024
    fmt = stream.codec_context.format.name
    for start in range(0, len(audio), chunk):
        piece = audio[start : start + chunk]
        if fmt.startswith("s16"):
            piece = np.round(np.clip(piece, -1.0, 1.0) * 32767.0).astype("int16")
        frame = av.AudioFrame.from_ndarray(piece[None, :], format=fmt, layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
