"""Video files in manifests: MP4 (PyAV) and GIF (in the graph) clips, the audio track of the same MP4, bad files."""

import os

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.data.video import frame_indices
from tests.video.conftest import RATE, clip_pixels, tone


def _specs():
    return [mmzoo.Video("clip", frames=4, shape=(16, 16, 3)), mmzoo.Audio("voice", sample_rate=RATE, seconds=0.5)]


def test_one_mp4_feeds_video_and_audio(video_dir):
    root, df = video_dir
    ds, report = mmzoo.data.from_dataframe(
        df, _specs(), label="label", base_dir=root, columns={"voice": "clip"}, batch_size=6,
        resize_images=True, with_report=True,
    )  # fmt: skip
    x, y = next(iter(ds))
    assert x["clip"].shape == (6, 4, 16, 16, 3) and x["clip"].dtype == tf.uint8
    assert x["voice"].shape == (6, 4000) and report.sampled == {"clip": 6} and report.resized == {"clip": 6}
    # uniform sampling takes frames 1, 3, 5, 7 of 8; the corner away from the square holds 20 + 25 t + 20 label
    level = x["clip"].numpy()[:, :, 12, 2, 0].astype(float)
    want = np.array([[20 + 25 * t + 20 * label for t in (1, 3, 5, 7)] for label in y.numpy()])
    np.testing.assert_allclose(level, want, atol=6)  # H.264 is lossy
    for waveform, label in zip(x["voice"].numpy(), y.numpy()):
        reference = tone(label)[:2000]
        corr = np.dot(waveform[500:1500], reference[500:1500]) / (
            np.linalg.norm(waveform[500:1500]) * np.linalg.norm(reference[500:1500])
        )
        assert corr > 0.9, (label, corr)  # the audio track of the same file, at the spec's rate


def test_training_samples_frames_at_a_random_offset():
    draws = {tuple(frame_indices(16, 4, training=True).numpy()) for _ in range(30)}
    assert len(draws) > 1 and all(len(set(np.diff(d))) == 1 and 0 <= d[0] < 4 for d in draws)
    assert frame_indices(16, 4).numpy().tolist() == [2, 6, 10, 14]


def test_gif_is_decoded_in_the_graph(video_dir):
    root, _ = video_dir
    spec = mmzoo.Video("clip", frames=3, shape=(32, 32, 1), dtype="float32")
    ds = mmzoo.data.from_dataframe(pd.DataFrame({"clip": ["anim.gif"]}), [spec], base_dir=root)
    clip = next(iter(ds))["clip"].numpy()[0]
    frames = tf.io.decode_gif(tf.io.read_file(os.path.join(root, "anim.gif"))).numpy()
    grey = tf.image.rgb_to_grayscale(frames[[1, 4, 6]].astype("float32")).numpy()
    np.testing.assert_allclose(clip, np.round(grey) / 255.0, atol=1 / 255 + 1e-6)


def test_bad_files_name_file_and_row_or_are_skipped(video_dir):
    root, df = video_dir
    bad = pd.concat([df, pd.DataFrame({"clip": ["broken.mp4", "silent.mp4"], "label": [0, 1]})], ignore_index=True)
    kwargs = dict(label="label", base_dir=root, columns={"voice": "clip"}, resize_images=True)
    with pytest.raises(
        ValueError, match=r"(?s)cannot be decoded.*broken\.mp4', row 6 .*no audio stream.*silent\.mp4', row 7"
    ):
        mmzoo.data.from_dataframe(bad, _specs(), **kwargs)
    with pytest.warns(UserWarning, match="6 of 8 rows kept"):
        ds, report = mmzoo.data.from_dataframe(bad, _specs(), on_error="skip", with_report=True, **kwargs)
    assert report.skipped_rows == [6, 7] and report.reasons() == {"corrupt file": 1, "no audio track": 1}
    assert sum(int(y.shape[0]) for _, y in ds) == 6


def test_infer_inputs_and_tfrecords_of_decoded_clips(video_dir, tmp_path):
    root, df = video_dir
    gifs = pd.DataFrame({"clip": ["anim.gif"] * 2, "y": [0, 1]})
    assert [type(s).__name__ for s in mmzoo.infer_inputs(gifs, "y", base_dir=root, verbose=False)] == ["Video"]
    inputs = mmzoo.infer_inputs(df, label="label", base_dir=root, verbose=False)
    assert inputs[0] == mmzoo.Video("clip", frames=8, shape=(32, 32, 3))
    ds = mmzoo.data.from_dataframe(df, inputs, label="label", base_dir=root, batch_size=4)
    prefix = str(tmp_path / "clips")
    mmzoo.data.to_tfrecords(ds, prefix, inputs, num_shards=2)
    back, specs = mmzoo.data.from_tfrecords(prefix, batch_size=6)
    x, y = next(iter(back))
    assert specs[0] == inputs[0]
    np.testing.assert_array_equal(x["clip"].numpy(), np.concatenate([b[0]["clip"].numpy() for b in ds]))
    np.testing.assert_allclose(x["clip"].numpy()[:, :, 20, 4, 1], [clip_pixels(v)[:, 20, 4, 1] for v in y], atol=6)


def test_cli_predicts_one_mp4_and_encoders_give_frame_tokens(video_dir, tmp_path, capsys):
    import json

    from tests.helpers import run_cli

    root, df = video_dir
    from mmzoo.models.core import build_encoder

    spec = mmzoo.Video("clip", frames=4, shape=(32, 32, 3))
    small = {"image_options": {"filters": (4,)}, "units": 4}
    for name, options, steps in (("frame_pool", small, 4), ("frame_rnn", small, 4), ("c3d", {"filters": (4, 4)}, 2)):
        tokens = build_encoder(spec, (name, options), sequences=True)  # as for the sequence fusions
        assert tokens.compute_output_shape((None,) + spec.shape)[:2] == (None, steps)  # one token per time step
    model = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(2), encoders={"clip": ("frame_pool", small)})
    model.save(tmp_path / "m.keras")
    clip = os.path.join(root, "clip1.mp4")
    code, out, err = run_cli(
        "predict", "--model", str(tmp_path / "m.keras"), "--input", f"clip={clip}", "--json", capsys=capsys
    )
    assert code == 0, err
    x = next(iter(mmzoo.data.from_dataframe(pd.DataFrame({"clip": [clip]}), [spec])))
    want = model(x, training=False).numpy()  # eager: no predict function to trace
    np.testing.assert_allclose(json.loads(out)["outputs"]["probabilities"], want, atol=1e-5)
