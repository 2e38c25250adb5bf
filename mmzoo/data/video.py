"""Video decoding for tf.data: frame sampling, GIF in the graph, MP4/WebM/AVI/MKV/MOV through PyAV.

Every clip reaches the model with exactly `spec.frames` frames. `frame_indices`
picks them: in evaluation the centres of `frames` equal segments of the clip
(uniform sampling); in training one random offset inside the first segment,
the same stride after it (so each epoch sees other frames of long clips).
Clips shorter than `frames` repeat their last frame. GIFs are decoded in the
graph (`tf.io.decode_gif`); other containers are decoded with PyAV (the
FFmpeg bindings, `pip install "mmzoo[video]"`) inside the tf.data map, which
decodes only up to the last frame it needs and converts (and, if asked,
resizes) only the frames it keeps. The audio track of the same file can feed
an `Audio` input (`read_audio_track`).
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

GIF_EXTENSIONS = (".gif",)
CONTAINER_EXTENSIONS = (".mp4", ".webm", ".avi", ".mkv", ".mov")
VIDEO_EXTENSIONS = CONTAINER_EXTENSIONS + GIF_EXTENSIONS


def is_container(path):
    """Whether `path` names a video container PyAV decodes (MP4, WebM, AVI, MKV, MOV)."""
    return os.path.splitext(str(path))[1].lower() in CONTAINER_EXTENSIONS


def import_av():
    """The `av` module (PyAV), or an ImportError naming the extra to install."""
    try:
        import av
    except ImportError:
        raise ImportError(
            'Reading MP4/WebM/AVI/MKV/MOV files needs PyAV (FFmpeg bindings): pip install "mmzoo[video]" '
            "(or pip install av). GIF clips need nothing beyond TensorFlow."
        ) from None
    return av


# --- which frames --------------------------------------------------------------------------
def frame_indices(num_frames, frames, training=False, seed=None):
    """The `frames` indices (int32) to take from a clip of `num_frames` frames (graph-mode friendly).

    Args:
        num_frames: frames in the clip (a scalar, Python or tensor).
        frames: frames the model takes.
        training: False: uniform (segment centres); True: a random offset.
        seed: op seed of the random offset.

    Example:
        >>> frame_indices(10, 4).numpy().tolist()
        [1, 3, 6, 8]
        >>> frame_indices(2, 4).numpy().tolist()
        [0, 1, 1, 1]
    """
    n = tf.cast(num_frames, tf.float32)
    stride = tf.maximum(n / frames, 1.0)
    if training:
        offset = tf.random.uniform([], 0.0, 1.0, seed=seed) * stride
    else:
        offset = 0.5 * stride
    positions = offset + stride * tf.range(frames, dtype=tf.float32)
    return tf.minimum(tf.cast(tf.floor(positions), tf.int32), tf.cast(num_frames, tf.int32) - 1)


def fit_frames(clip, frames, training=False, seed=None):
    """Samples or pads a decoded clip `(num_frames, H, W, C)` to `(frames, H, W, C)` (see `frame_indices`).

    Example:
        >>> clip = tf.reshape(tf.range(6), (6, 1, 1, 1))
        >>> fit_frames(clip, 3)[:, 0, 0, 0].numpy().tolist()
        [1, 3, 5]
    """
    return tf.gather(clip, frame_indices(tf.shape(clip)[0], frames, training, seed))


def _fit_pixels(clip, spec, resize):
    """uint8 RGB frames -> the spec's channels, size (resized with `resize`) and dtype."""
    height, width, channels = spec.frame_shape
    if channels == 1 and clip.shape[-1] != 1:
        clip = tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(clip, tf.float32))), tf.uint8)
    if resize:
        same = tf.reduce_all(tf.equal(tf.shape(clip)[1:3], [height, width]))

        def _resize():
            out = tf.image.resize(clip, (height, width), antialias=True)
            return tf.cast(tf.clip_by_value(tf.round(out), 0, 255), tf.uint8)

        clip = tf.cond(same, lambda: clip, _resize)
    clip = tf.ensure_shape(clip, spec.shape)
    return tf.cast(clip, tf.float32) / 255.0 if spec.dtype == "float32" else clip


def decode_gif_clip(contents, spec, training=False, resize=False, seed=None):
    """Decodes animated GIF bytes in the graph to a clip of `spec.shape` in the spec's dtype."""
    clip = tf.io.decode_gif(contents)  # (num_frames, H, W, 3) uint8
    return _fit_pixels(fit_frames(clip, spec.frames, training, seed), spec, resize)


# --- PyAV ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a video file holds: frames, frame size, and its audio track (rate 0 when it has none)."""

    num_frames: int
    height: int
    width: int
    audio_rate: int = 0
    audio_channels: int = 0
    audio_seconds: float = 0.0


def probe_video(path):
    """Opens `path` with PyAV (or TensorFlow for GIF) and returns a `VideoInfo`.

    The frame count comes from the container when it records one, else by
    decoding the stream once.

    Raises:
        ValueError: with the reason, when the file cannot be opened or holds no video frames.
    """
    if not is_container(path):
        try:
            clip = tf.io.decode_gif(tf.io.read_file(path))
        except (tf.errors.OpError, ValueError) as error:
            raise ValueError(str(error).splitlines()[0][:160]) from None
        return VideoInfo(int(clip.shape[0]), int(clip.shape[1]), int(clip.shape[2]))
    av = import_av()
    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.video:
                raise ValueError("the file holds no video stream")
            stream = container.streams.video[0]
            count = int(stream.frames or 0)
            if count <= 0:
                count = sum(1 for _ in container.decode(stream))
            audio = container.streams.audio[0] if container.streams.audio else None
            seconds = 0.0
            if audio is not None:
                seconds = float(audio.duration * audio.time_base) if audio.duration else 0.0
                seconds = seconds or (container.duration or 0) / 1e6
            info = VideoInfo(
                count,
                int(stream.codec_context.height),
                int(stream.codec_context.width),
                int(audio.rate or 0) if audio is not None else 0,
                int(audio.channels or 0) if audio is not None else 0,
                seconds,
            )
    except av.error.FFmpegError as error:
        raise ValueError(str(error)) from None
    if info.num_frames <= 0:
        raise ValueError("the video stream holds no frames")
    return info


def _as_path(path):
    """A file path from a str, bytes, or the 0-d bytes array a `tf.numpy_function` gets in eager mode."""
    if isinstance(path, np.ndarray):
        path = path.item()
    return path.decode() if isinstance(path, bytes) else os.fspath(path)


def read_frames(path, indices, height=None, width=None, channels=3):
    """Decodes the frames `indices` (sorted or not, repeats allowed) of a video file with PyAV.

    Decoding stops after the last frame needed; only the kept frames are
    converted to arrays (and resized to `height` x `width` by FFmpeg's
    scaler when given).

    Returns:
        uint8 `(len(indices), height, width, channels)`.
    """
    av = import_av()
    path = _as_path(path)
    wanted = set(int(i) for i in indices)
    kept, last = {}, max(wanted)
    fmt = "gray" if channels == 1 else "rgb24"
    size = {} if height is None else {"width": int(width), "height": int(height)}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                kept[i] = frame.to_ndarray(format=fmt, **size)
            if i >= last:
                break
    if not kept:
        raise ValueError(f"Video file '{path}' yielded no frames.")
    newest = kept[max(kept)]  # a stream shorter than its header says: repeat its last frame
    clip = np.stack([kept.get(int(i), newest) for i in indices])
    return clip.reshape(clip.shape[:3] + (channels,))


def read_audio_track(path, sample_rate, num_samples):
    """The audio track of a video file as mono float32 at `sample_rate`, zero-padded or cropped to `num_samples`."""
    av = import_av()
    path = _as_path(path)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=int(sample_rate))
    chunks, total = [], 0
    with av.open(path) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
                total += chunks[-1].size
            if total >= num_samples:
                break
        else:
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    audio = np.concatenate(chunks) if chunks else np.zeros(0, "float32")
    audio = audio[:num_samples].astype("float32")
    return np.pad(audio, (0, num_samples - audio.size))


def load_container_clip(path, num_frames, spec, training=False, resize=False, seed=None):
    """A clip of `spec.shape` from an MP4/WebM/AVI/MKV/MOV file (graph-mode friendly; PyAV in a numpy_function)."""
    height, width, channels = spec.frame_shape
    indices = frame_indices(num_frames, spec.frames, training, seed)
    size = (height, width) if resize else (None, None)

    def read(p, idx):
        clip = read_frames(p, idx, *size, channels=channels)
        if clip.shape[1:3] != (height, width):
            raise ValueError(
                f"Video input '{spec.name}': '{_as_path(p)}' has {clip.shape[1]}x{clip.shape[2]} frames, not "
                f"{height}x{width}. Pass resize_images=True to resize in the pipeline."
            )
        return clip

    clip = tf.numpy_function(read, [path, indices], tf.uint8, stateful=False)
    clip = tf.ensure_shape(clip, spec.shape)
    return tf.cast(clip, tf.float32) / 255.0 if spec.dtype == "float32" else clip


def load_clip(path, num_frames, spec, training=False, resize=False, seed=None, gif=False):
    """Reads one video file (GIF in the graph, other containers with PyAV) as a clip for `spec`."""
    if gif:
        return decode_gif_clip(tf.io.read_file(path), spec, training, resize, seed)
    return load_container_clip(path, num_frames, spec, training, resize, seed)


def load_audio_track(path, spec):
    """The audio track of a video file for an `Audio` spec (graph-mode friendly)."""

    def read(p):
        return read_audio_track(p, spec.sample_rate, spec.num_samples)

    audio = tf.numpy_function(read, [path], tf.float32, stateful=False)
    return tf.ensure_shape(audio, spec.shape)
