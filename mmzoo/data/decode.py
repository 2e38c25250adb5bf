"""Per-modality file decoding for tf.data: images, WAV audio, and a probe pass.

The `load_*` functions run inside `tf.data` maps (graph mode) and give tensors
that match an mmzoo spec's shape and dtype. `read_wav_header` reads a WAV
header in Python without decoding samples; `probe` decodes a list of files
once through a parallel `tf.data` pipeline and says which ones fail.
"""

import dataclasses
import os
import re
import struct

import tensorflow as tf

from mmzoo.data.resample import resample

_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


# --- images -----------------------------------------------------------------
def decode_image(contents, spec):
    """Decodes PNG/JPEG/GIF/BMP bytes to `(height, width, spec channels)` in the spec's dtype.

    uint8 specs get the stored pixels; float32 specs get them scaled to [0, 1].
    The channel count is forced (RGB to grey or grey to RGB as needed); height
    and width are whatever the file holds (see `fit_image`).
    """
    dtype = tf.float32 if spec.dtype == "float32" else tf.uint8
    return tf.io.decode_image(contents, channels=spec.shape[-1], dtype=dtype, expand_animations=False)


def fit_image(image, spec, resize=False):
    """Gives a decoded image the spec's static shape, resizing it if `resize` is True.

    Without `resize` the image must already have the spec's height and width
    (checked at run time). With it, images of another size are resized
    (bilinear, antialiased) and cast back to the spec's dtype; images of the
    right size pass through untouched.
    """
    height, width, _ = spec.shape
    if resize:

        def _resize():
            out = tf.image.resize(image, (height, width), antialias=True)
            if spec.dtype == "uint8":
                return tf.cast(tf.clip_by_value(tf.round(out), 0, 255), tf.uint8)
            return tf.clip_by_value(out, 0.0, 1.0)

        same = tf.reduce_all(tf.equal(tf.shape(image)[:2], [height, width]))
        image = tf.cond(same, lambda: image, _resize)
    return tf.ensure_shape(image, spec.shape)


def load_image(path, spec, resize=False):
    """Reads, decodes and fits one image file for `spec` (graph-mode friendly).

    Example:
        >>> import tempfile, os, numpy as np, mmzoo
        >>> path = os.path.join(tempfile.mkdtemp(), "a.png")
        >>> tf.io.write_file(path, tf.io.encode_png(np.zeros((4, 6, 3), "uint8")))
        >>> spec = mmzoo.Image("img", shape=(8, 8, 1))
        >>> tuple(load_image(path, spec, resize=True).shape)
        (8, 8, 1)
    """
    return fit_image(decode_image(tf.io.read_file(path), spec), spec, resize)


# --- audio ------------------------------------------------------------------
def fit_length(waveform, num_samples):
    """Crops a 1-D waveform to its first `num_samples` or zero-pads it at the end."""
    waveform = waveform[:num_samples]
    waveform = tf.pad(waveform, [[0, num_samples - tf.shape(waveform)[0]]])
    return tf.ensure_shape(waveform, (num_samples,))


def decode_audio(contents, spec, resample_audio=False):
    """Decodes 16-bit PCM WAV bytes to a mono float32 waveform of `spec.shape`.

    Samples are `int16 / 32768`. The first channel is kept (manifests reject
    multi-channel files before decoding). With `resample_audio`, audio at
    another rate is resampled to `spec.sample_rate`; without it the rate is
    not checked here (manifests check it from the header).
    """
    audio, rate = tf.audio.decode_wav(contents, desired_channels=1)
    waveform = audio[:, 0]
    if resample_audio:
        waveform = _resample_start(waveform, rate, spec)
    return fit_length(waveform, spec.num_samples)


def _resample_start(waveform, rate, spec):
    """Resamples to `spec.sample_rate` the start of `waveform` that survives cropping.

    Long files cost no more than short ones. A margin of signal is kept past
    the crop point so that the ringing of the cut stays out of the kept part.
    """
    rate = tf.cast(rate, tf.int64)
    needed = (spec.num_samples * rate + spec.sample_rate - 1) // spec.sample_rate
    return resample(waveform[: needed + needed // 8 + 64], rate, spec.sample_rate)


def load_audio(path, spec, resample_audio=False):
    """Reads and decodes one WAV file for `spec` (graph-mode friendly).

    Example:
        >>> import tempfile, os, numpy as np, mmzoo
        >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
        >>> tf.io.write_file(path, tf.audio.encode_wav(np.zeros((50, 1), "float32"), 8000))
        >>> spec = mmzoo.Audio("voice", sample_rate=8000, seconds=0.1)
        >>> tuple(load_audio(path, spec).shape)
        (800,)
    """
    return decode_audio(tf.io.read_file(path), spec, resample_audio)


@dataclasses.dataclass(frozen=True)
class WavHeader:
    """What a WAV header declares: format tag, channels, rate, bits and frames."""

    format_tag: int
    channels: int
    sample_rate: int
    bits: int
    num_frames: int


def read_wav_header(path):
    """Reads a WAV file's RIFF header in Python, without decoding its samples.

    Args:
        path: path of the file.

    Returns:
        A `WavHeader`.

    Raises:
        ValueError: with the reason, when the file is empty, not RIFF/WAVE, or
            its header is truncated or declares more audio than the file holds.

    Example:
        >>> import tempfile, os, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
        >>> tf.io.write_file(path, tf.audio.encode_wav(np.zeros((50, 2), "float32"), 8000))
        >>> read_wav_header(path)
        WavHeader(format_tag=1, channels=2, sample_rate=8000, bits=16, num_frames=50)
    """
    size = os.path.getsize(path)
    if size == 0:
        raise ValueError("the file is empty (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError("it is not a WAV file (no RIFF/WAVE header)")
        chunks = _chunks(f, size)
    fmt, data = _layout(chunks, size)
    tag, channels, rate, bits = fmt
    frame_bytes = max(channels * ((bits + 7) // 8), 1)
    return WavHeader(tag, channels, rate, bits, data // frame_bytes)


def _chunks(f, size):
    """`[(id, offset, size, fmt fields or None)]` of every RIFF chunk after "WAVE", read from `f` at byte 12.

    A chunk running past the end of the file ends the list (its declared and
    real sizes are compared in `_layout`). Only headers are read.
    """
    chunks = []
    while f.tell() < size:
        offset, header = f.tell(), f.read(8)
        if len(header) < 8:
            raise ValueError(
                f"it has {len(header)} stray bytes after its last chunk (at byte {offset}), which "
                "tf.audio.decode_wav refuses"
            )
        chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
        fields = _parse_fmt(f.read(min(chunk_size, 40))) if chunk_id == b"fmt " else None
        chunks.append((chunk_id, offset, chunk_size, fields))
        f.seek(offset + 8 + chunk_size)
    return chunks


def _layout(chunks, size):
    """`(fmt fields, data bytes)` when `chunks` read the same to this checker and tf.audio.decode_wav.

    tf.audio.decode_wav takes the format only from a 16- or 18-byte fmt chunk
    right after "WAVE", skips later chunks without RIFF's pad byte, and
    refuses a second data chunk. Any other layout (a second fmt chunk, a
    chunk before fmt, an odd-sized chunk followed by another) could be read
    differently by the two, so it is refused here with the reason.
    """
    for chunk_id, offset, chunk_size, _ in chunks[:-1]:
        if chunk_size % 2:
            raise ValueError(
                f"its {chunk_id.decode('latin-1')!r} chunk at byte {offset} has an odd size "
                f"({chunk_size}), so readers disagree on where the next chunk starts"
            )
    fmts = [c for c in chunks if c[0] == b"fmt "]
    datas = [c for c in chunks if c[0] == b"data"]
    if not fmts or not datas:
        raise ValueError(f"its header is truncated (no {'fmt' if not fmts else 'data'} chunk)")
    if len(fmts) > 1:
        raise ValueError(
            f"it has {len(fmts)} fmt chunks (at bytes {', '.join(str(c[1]) for c in fmts)}); "
            f"readers disagree on which format applies, so it is refused"
        )
    if len(datas) > 1:
        raise ValueError(f"it has {len(datas)} data chunks (at bytes {', '.join(str(c[1]) for c in datas)})")
    first = chunks[0]
    if first[0] != b"fmt ":
        where = (
            "its data chunk comes before the fmt chunk"
            if first[0] == b"data"
            else f"its first chunk is {first[0].decode('latin-1')!r}, not 'fmt '"
        )
        raise ValueError(
            f"{where}; tf.audio.decode_wav reads the format only from a fmt chunk right after the RIFF header"
        )
    if first[3][0] == _WAVE_FORMAT_PCM and first[2] not in (16, 18):
        raise ValueError(f"its PCM fmt chunk is {first[2]} bytes; tf.audio.decode_wav reads 16- or 18-byte ones")
    _, offset, chunk_size, _ = datas[0]
    held = size - offset - 8
    if chunk_size > held:
        raise ValueError(f"it is truncated: the header declares {chunk_size} bytes of audio, the file holds {held}")
    _check_rates(first[3])
    return first[3][:4], chunk_size


def _parse_fmt(body):
    if len(body) < 16:
        raise ValueError("its fmt chunk is truncated")
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", body[:16])
    return tag, channels, rate, bits, byte_rate, align


def _check_rates(fields):
    """PCM byte rate and block align must follow from rate, channels and bits (tf.audio.decode_wav checks)."""
    tag, channels, rate, bits, byte_rate, align = fields
    if tag != _WAVE_FORMAT_PCM or bits != 16 or channels == 0:
        return  # `check_wav` names these
    if align != channels * 2 or byte_rate != rate * channels * 2:
        raise ValueError(
            f"its fmt chunk is inconsistent: {channels} channel(s) of 16 bits at {rate} Hz need "
            f"block align {channels * 2} and {rate * channels * 2} bytes/s; it declares {align} "
            f"and {byte_rate}"
        )


def clip_length(header, spec):
    """Samples a WAV with this header has at `spec.sample_rate` (after resampling)."""
    if header.sample_rate == spec.sample_rate:
        return header.num_frames
    return max((header.num_frames * spec.sample_rate + header.sample_rate // 2) // header.sample_rate, 1)


def check_wav(header, spec, resample_audio=False, long_audio="crop"):
    """Why a WAV with this header cannot feed `spec`: `(reason, detail, fix)`, or None.

    Checks what `decode_audio` needs (16-bit PCM, mono, some samples), the
    sample rate (unless `resample_audio`) and, with `long_audio="error"`, the length.
    """
    convert = "Convert it to 16-bit PCM WAV (e.g. `sox in.wav -b 16 out.wav`) or drop the row."
    if header.format_tag == _WAVE_FORMAT_EXTENSIBLE:
        return ("unsupported WAV", "it is WAVE_FORMAT_EXTENSIBLE, which tf.audio.decode_wav does not read", convert)
    if header.format_tag != _WAVE_FORMAT_PCM:
        return (
            "unsupported WAV",
            f"it is not PCM (WAV format tag {header.format_tag}); tf.audio.decode_wav reads 16-bit PCM only",
            convert,
        )
    if header.bits != 16:
        return (
            "unsupported WAV",
            f"it holds {header.bits}-bit samples; tf.audio.decode_wav reads 16-bit PCM only",
            convert,
        )
    if header.num_frames == 0:
        return "corrupt file", "it holds no audio samples", "Replace the file or drop the row."
    if header.channels != 1:
        return (
            "wrong channels",
            f"expects mono audio; the file has {header.channels} channels",
            "Mix it down to mono (e.g. `sox in.wav -c 1 out.wav`) or drop the row.",
        )
    if header.sample_rate != spec.sample_rate and not resample_audio:
        return (
            "wrong sample rate",
            f"expects {spec.sample_rate} Hz audio; the file is {header.sample_rate} Hz",
            f"Pass resample=True to resample in the pipeline, "
            f"resample the file, or declare Audio(sample_rate={header.sample_rate}).",
        )
    length = clip_length(header, spec)
    if long_audio == "error" and length > spec.num_samples:
        return (
            "audio too long",
            f"the clip has {length} samples at {spec.sample_rate} Hz, more "
            f"than the {spec.num_samples} of Audio(seconds={spec.seconds})",
            "Pass long_audio='crop' to keep its start, or raise Audio(seconds=...).",
        )
    return None


# --- validation pass ----------------------------------------------------------
def probe(paths, decode_fn, num_parallel_calls=tf.data.AUTOTUNE):
    """Decodes every file once through a parallel, deterministic tf.data map.

    Args:
        paths: list of file paths.
        decode_fn: graph function `bytes tensor -> tensor`, e.g.
            `lambda b: tf.shape(decode_image(b, spec))`.
        num_parallel_calls: parallelism of the map.

    Returns:
        A list, one entry per path: `(numpy result, None)` when it decoded, or
        `(None, reason)` with the TensorFlow error message, cleaned.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "bad.png")
        >>> tf.io.write_file(path, b"not an image")
        >>> probe([path], lambda b: tf.shape(tf.io.decode_image(b)))[0][1][:28]
        'Unknown image file format. O'
    """
    if not paths:
        return []
    ds = tf.data.Dataset.from_tensor_slices(list(paths)).enumerate()
    ds = ds.map(
        lambda i, p: (i, decode_fn(tf.io.read_file(p))), num_parallel_calls=num_parallel_calls, deterministic=True
    )
    results, iterator = [], iter(ds)
    while True:
        try:
            index, value = next(iterator)
        except StopIteration:
            break
        except tf.errors.OpError as error:  # this element failed; the map goes on with the next
            results.append((None, _clean_message(error.message)))
            continue
        if int(index) != len(results):
            break  # an error did not line up with one element: locate failures one by one
        results.append((value.numpy(), None))
    if len(results) != len(paths):
        return [_probe_one(path, decode_fn) for path in paths]
    return results


def _probe_one(path, decode_fn):
    """Eager fallback of `probe` for one file."""
    try:
        return decode_fn(tf.io.read_file(path)).numpy(), None
    except tf.errors.OpError as error:
        return None, _clean_message(error.message)


def _clean_message(message):
    """Keeps the reason from a tf.data error message, dropping op and node names."""
    line = message.strip().splitlines()[0] if message.strip() else "decoding failed"
    line = re.sub(r"\{\{[^}]*\}\}\s*", "", line)
    line = re.sub(r"^Error in user-defined function.*?Iterator::\S+\s", "", line)
    line = re.sub(r"\s*\[Op:[^\]]*\].*$", "", line)
    return line.strip() or "decoding failed"
