"""Video inputs in every export format: .keras, SavedModel (`serve` frames, `serve_bytes` GIF), TFLite, ONNX."""

import importlib.util

import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.artifacts.runtime import predict_from_artifact
from mmzoo.artifacts.savedmodel_scan import savedmodel_problems

ATOL = 1e-5


@pytest.fixture(scope="module")
def video_model():
    """Two clips through the spatio-temporal encoders: uint8 RGB (C3D) and float grey resized in the graph (R(2+1)D)."""
    specs = [
        mmzoo.Video("clip", frames=4, shape=(16, 16, 3)),
        mmzoo.Video("grey", frames=3, shape=(12, 12, 1), dtype="float32", resize=(16, 16)),
    ]
    encoders = {"clip": ("c3d", {"filters": (4, 8), "units": 8}), "grey": ("r2plus1d", {"filters": (4,), "units": 8})}
    model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(3), encoders=encoders)
    rng = np.random.default_rng(0)
    x = {
        "clip": rng.integers(0, 256, (4, 4, 16, 16, 3)).astype("uint8"),
        "grey": rng.random((4, 3, 12, 12, 1)).astype("float32"),
    }
    return model, x, model.predict(x, verbose=0)  # untrained: parity needs no training


@pytest.fixture(scope="module")
def saved(video_model, tmp_path_factory):
    return mmzoo.export(video_model[0], str(tmp_path_factory.mktemp("video") / "sm"))


@pytest.mark.parametrize("kind", ["savedmodel", "tflite", "onnx"])  # .keras: every encoder's registry case
def test_every_format_matches_the_model_on_frames(video_model, saved, kind, tmp_path):
    needs = {"tflite": "ai_edge_litert", "onnx": "tf2onnx"}.get(kind)
    if needs and importlib.util.find_spec(needs) is None:
        pytest.skip(f"{needs} not installed: pip install 'mmzoo[export]'")
    model, x, expected = video_model
    path = saved if kind == "savedmodel" else str(tmp_path / f"m.{kind}")
    if kind != "savedmodel":
        mmzoo.export(model, path, format=kind)
    out = predict_from_artifact(path, x)["probabilities"]  # .keras and SavedModel through mmzoo.load's checks
    assert np.max(np.abs(out - expected)) <= ATOL


def _gif(tmp_path, name, clip):
    from mmzoo.data.video_write import write_video

    return open(write_video(str(tmp_path / name), clip), "rb").read()


def test_serve_bytes_decodes_gif_in_the_graph(saved, tmp_path):
    assert savedmodel_problems(saved) == []  # DecodeGif, Conv3D, ... are on mmzoo.load's op allowlist
    loaded = tf.saved_model.load(saved)
    rng = np.random.default_rng(1)
    clips = rng.integers(0, 256, (2, 6, 16, 16, 3)).astype("uint8")  # 6 frames: sampled to 4 in the graph
    greys = rng.integers(0, 256, (2, 3, 12, 12, 3)).astype("uint8")
    gifs = {
        "clip": [_gif(tmp_path, f"c{i}.gif", c) for i, c in enumerate(clips)],
        "grey": [_gif(tmp_path, f"g{i}.gif", g) for i, g in enumerate(greys)],
    }
    out = loaded.signatures["serve_bytes"](**{k: tf.constant(v) for k, v in gifs.items()})["probabilities"]
    decoded = {k: np.stack([tf.io.decode_gif(b).numpy() for b in v]) for k, v in gifs.items()}
    frames = {
        "clip": decoded["clip"][:, [0, 2, 3, 5]],  # the centres of 4 segments of 6 frames
        "grey": np.round(tf.image.rgb_to_grayscale(decoded["grey"].astype("float32")).numpy()) / 255.0,
    }
    want = loaded.signatures["serve"](**{k: tf.constant(v) for k, v in frames.items()})["probabilities"]
    np.testing.assert_allclose(out.numpy(), want.numpy(), atol=1e-6)
    small = _gif(tmp_path, "small.gif", clips[0][:, :8, :8])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Video input named clip expects 16x16 frames"):
        loaded.signatures["serve_bytes"](clip=tf.constant([small]), grey=tf.constant(gifs["grey"][:1]))
