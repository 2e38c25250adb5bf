"""MP4 decoding throughput: mmzoo's tf.data pipeline against PyAV alone in a plain Python loop.

    python -m benchmarks.video_decode [--clips 48] [--length 64] [--frames 16] [--size 112] [--repeats 3]

Writes `--clips` H.264 MP4 files of `--length` frames (`--size` x `--size`
RGB, 25 fps, moving noise so the encoder cannot skip frames) into a temporary
folder. Both sides do the same job per clip: decode it and return the
`--frames` uniformly sampled frames as a uint8 array `(frames, size, size, 3)`.

- PyAV loop: `av.open`, `container.decode`, `frame.to_ndarray("rgb24")` for
  the sampled frames, stop after the last one, `np.stack`: one clip after the
  other, with FFmpeg's frame threading on (`thread_type="AUTO"`) as in the pipeline.
- mmzoo pipeline: `mmzoo.data.from_dataframe` over a DataFrame of the paths
  (`Video(frames=..., shape=(size, size, 3))`), iterated to the end, batches of 8.
  Its one-off probe pass (every file opened once to count frames) is timed
  apart and not counted in the throughput.

Each side runs `--repeats` times after one warm-up pass; the best pass
counts. Writes `benchmarks/results/video_decode.json` and `benchmarks/VIDEO_DECODE.md`
(with `benchmarks/results/video_decode_notes.md` included verbatim if present;
`--report-only` rewrites the report from the JSON).
"""

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np

from benchmarks.output import save

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = 0.9
NOTES = os.path.join(HERE, "results", "video_decode_notes.md")


def write_clips(folder, clips, length, size, seed=0):
    """`clips` MP4 files of moving noise; returns their paths."""
    from mmzoo.data.video_write import write_video

    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (size * 2, size * 2, 3), dtype=np.uint8)
    paths = []
    for i in range(clips):
        dx, dy = rng.integers(1, 4, 2)
        frames = np.stack(
            [texture[t * dy % size : t * dy % size + size, t * dx % size : t * dx % size + size] for t in range(length)]
        )
        paths.append(write_video(os.path.join(folder, f"clip{i:03d}.mp4"), frames, fps=25))
    return paths


def uniform_indices(length, frames):
    """The pipeline's evaluation sampling (`mmzoo.data.video.frame_indices`), in NumPy."""
    stride = max(length / frames, 1.0)
    return np.minimum(np.floor(0.5 * stride + stride * np.arange(frames)).astype(int), length - 1)


def pyav_loop(paths, frames):
    """Decodes every clip with PyAV alone; returns the clips (a list of arrays)."""
    import av

    out = []
    for path in paths:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            wanted = uniform_indices(stream.frames, frames)
            keep, kept = set(wanted.tolist()), {}
            for i, frame in enumerate(container.decode(stream)):
                if i in keep:
                    kept[i] = frame.to_ndarray(format="rgb24")
                if i >= wanted[-1]:
                    break
        out.append(np.stack([kept[i] for i in wanted]))
    return out


def best_time(fn, repeats):
    fn()  # warm-up: file cache, codec and tf.function set-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), times


def run(args):
    import keras
    import pandas as pd
    import tensorflow as tf

    import mmzoo

    with tempfile.TemporaryDirectory() as folder:
        paths = write_clips(folder, args.clips, args.length, args.size)
        spec = mmzoo.Video("clip", frames=args.frames, shape=(args.size, args.size, 3))
        df = pd.DataFrame({"clip": paths})
        start = time.perf_counter()
        ds = mmzoo.data.from_dataframe(df, [spec], batch_size=8)
        probe_seconds = time.perf_counter() - start

        reference = pyav_loop(paths, args.frames)
        piped = np.concatenate([b["clip"].numpy() for b in ds])
        same = bool(np.array_equal(np.stack(reference), piped))

        loop_best, loop_times = best_time(lambda: pyav_loop(paths, args.frames), args.repeats)
        pipe_best, pipe_times = best_time(lambda: [None for _ in ds], args.repeats)
    loop_rate, pipe_rate = args.clips / loop_best, args.clips / pipe_best
    return {
        "settings": {
            "clips": args.clips,
            "length": args.length,
            "frames": args.frames,
            "size": args.size,
            "repeats": args.repeats,
            "codec": "H.264 (libx264), yuv420p, 25 fps",
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "av": __import__("av").__version__,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        },
        "pyav_loop": {"best_seconds": round(loop_best, 4), "seconds": [round(t, 4) for t in loop_times]},
        "pipeline": {
            "best_seconds": round(pipe_best, 4),
            "seconds": [round(t, 4) for t in pipe_times],
            "probe_seconds": round(probe_seconds, 4),
        },
        "pyav_clips_per_second": round(loop_rate, 2),
        "pipeline_clips_per_second": round(pipe_rate, 2),
        "ratio": round(pipe_rate / loop_rate, 3),
        "target": TARGET,
        "same_frames": same,
    }


def report(results):
    """VIDEO_DECODE.md: clips per second of both sides, their ratio against the target, the settings."""
    s = results["settings"]
    met = "met" if results["ratio"] >= results["target"] else "missed"
    lines = [
        "# Video decoding: the tf.data pipeline against PyAV alone",
        "",
        f"{s['clips']} MP4 clips ({s['codec']}), {s['length']} frames of {s['size']}x{s['size']} RGB each; each "
        f"side decodes every clip and returns its {s['frames']} uniformly sampled frames as uint8 arrays. "
        "The PyAV loop is plain Python, one clip after the other; the pipeline is `mmzoo.data.from_dataframe` "
        "iterated to the end (batches of 8). Best of "
        f"{s['repeats']} passes after a warm-up. TF {s['tensorflow']}, Keras {s['keras']}, PyAV {s['av']}, "
        f"{s['machine']}. Written by `python -m benchmarks.video_decode`.",
        "",
        "| side | clips/s | best pass (s) | passes (s) |",
        "|---|---|---|---|",
        f"| PyAV loop | {results['pyav_clips_per_second']} | {results['pyav_loop']['best_seconds']} | "
        f"{', '.join(str(t) for t in results['pyav_loop']['seconds'])} |",
        f"| mmzoo pipeline | {results['pipeline_clips_per_second']} | {results['pipeline']['best_seconds']} | "
        f"{', '.join(str(t) for t in results['pipeline']['seconds'])} |",
        "",
        f"Pipeline / PyAV: **{results['ratio']}x** (target at least {results['target']}x: {met}). "
        f"Both sides return the same frames: {results['same_frames']}. The pipeline's probe pass (every file "
        f"opened once to count its frames, when the dataset is built) took {results['pipeline']['probe_seconds']} s "
        "and is not counted above.",
    ]
    if os.path.exists(NOTES):
        lines += ["", open(NOTES, encoding="utf-8").read().rstrip()]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--length", type=int, default=64, help="frames per file")
    parser.add_argument("--frames", type=int, default=16, help="frames sampled per clip")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "video_decode.json"))
    parser.add_argument("--report", default=os.path.join(HERE, "VIDEO_DECODE.md"))
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the JSON (and notes)")
    args = parser.parse_args(argv)
    if args.report_only:
        with open(args.out) as f:
            results = json.load(f)
    else:
        results = run(args)
    print(save(results, args.out, args.report, report))


if __name__ == "__main__":
    main()
