"""SavedModel `serve_bytes`: PNG/JPEG and WAV bytes decoded in the graph equal `serve` on the decoded tensors."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf


def _png(pixels):
    return [tf.io.encode_png(p).numpy() for p in pixels]


def _wav(waves, rate):
    return [tf.audio.encode_wav(w[:, None], rate).numpy() for w in waves]


@pytest.fixture(scope="module")
def exported(artifacts):
    return artifacts["savedmodel"], tf.saved_model.load(artifacts["savedmodel"])


def test_the_export_passes_the_load_inspection(exported):
    """Every op of `serve` and `serve_bytes` (image and WAV decoding) is one `mmzoo.load` admits without trust."""
    import mmzoo
    from mmzoo.artifacts.savedmodel_scan import savedmodel_problems

    assert savedmodel_problems(exported[0]) == []
    assert {"serve", "serve_bytes"} <= set(mmzoo.load(exported[0]).signatures)


def test_png_jpeg_and_wav_bytes_match_serve_on_decoded_inputs(small_model, exported):
    model, x, n = small_model
    _, loaded = exported
    serve, serve_bytes = loaded.signatures["serve"], loaded.signatures["serve_bytes"]
    png, wav = _png(x["image"]), _wav(x["audio"], 4000)
    raw = {"text": tf.constant(x["text"]), "features": tf.constant(x["features"])}
    # WAV is 16-bit PCM: compare with serve on the waveform the WAV holds (decoded independently)
    decoded_audio = np.stack([tf.audio.decode_wav(w)[0].numpy()[:, 0] for w in wav])
    assert np.max(np.abs(decoded_audio - x["audio"])) < 1e-4  # quantisation only
    expected = serve(**raw, image=tf.constant(x["image"]), audio=tf.constant(decoded_audio))["probabilities"]
    got = serve_bytes(**raw, image=tf.constant(png), audio=tf.constant(wav))["probabilities"]
    assert np.max(np.abs(got.numpy() - expected.numpy())) <= 1e-5
    assert np.max(np.abs(expected.numpy() - model.predict({**x, "audio": decoded_audio}, verbose=0))) <= 1e-5

    jpeg = [tf.io.encode_jpeg(p, quality=90).numpy() for p in x["image"]]
    jpeg_pixels = np.stack([tf.io.decode_jpeg(j).numpy() for j in jpeg])
    assert not np.array_equal(jpeg_pixels, x["image"])  # lossy: the reference is the decoded JPEG
    expected = serve(**raw, image=tf.constant(jpeg_pixels), audio=tf.constant(decoded_audio))["probabilities"]
    got = serve_bytes(**raw, image=tf.constant(jpeg), audio=tf.constant(wav))["probabilities"]
    assert np.max(np.abs(got.numpy() - expected.numpy())) <= 1e-5


def test_wrong_sample_rate_and_image_size_name_the_input(small_model, exported):
    model, x, n = small_model
    serve_bytes = exported[1].signatures["serve_bytes"]
    raw = {"text": tf.constant(x["text"][:1]), "features": tf.constant(x["features"][:1])}
    good_image, good_audio = tf.constant(_png(x["image"][:1])), tf.constant(_wav(x["audio"][:1], 4000))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Audio input named audio expects WAV at 4000 Hz"):
        serve_bytes(**raw, image=good_image, audio=tf.constant(_wav(x["audio"][:1], 8000)))
    big = np.zeros((1, 16, 12, 3), "uint8")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Image input named image expects 12x12 pixels"):
        serve_bytes(**raw, image=tf.constant(_png(big)), audio=good_audio)


def _cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(["saved_model_cli", *args], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_saved_model_cli_shows_both_signatures_and_runs_serve_bytes(small_model, exported, tmp_path):
    """`run` on serve_bytes, the signature with byte-string literals; `serve` runs in a fresh process in
    tests/artifacts/test_fresh_process.py (a second saved_model_cli process would only import TensorFlow again)."""
    model, x, n = small_model
    path, _ = exported
    shown = _cli("show", "--dir", path, "--all")
    assert "signature_def['serve']" in shown and "signature_def['serve_bytes']" in shown
    k = 2  # saved_model_cli takes literals on the command line: keep them short
    x = {key: value[:k] for key, value in x.items()}
    np.save(tmp_path / "features.npy", x["features"])
    text = "text=" + repr([str(t) for t in x["text"]])

    # serve_bytes: PNG bytes as Python literals (every byte escaped: ';' separates inputs), WAV bytes from a .npy
    literal = "[" + ", ".join("b'" + "".join(f"\\x{b:02x}" for b in p) + "'" for p in _png(x["image"])) + "]"
    wav = _wav(x["audio"], 4000)
    np.save(tmp_path / "wav.npy", np.array(wav, dtype=object))
    decoded = np.stack([tf.audio.decode_wav(w)[0].numpy()[:, 0] for w in wav])
    _cli(
        "run",
        "--dir",
        path,
        "--tag_set",
        "serve",
        "--signature_def",
        "serve_bytes",
        "--outdir",
        str(tmp_path / "bytes"),
        "--inputs",
        f"audio={tmp_path / 'wav.npy'};features={tmp_path / 'features.npy'}",
        "--input_exprs",
        f"{text};image={literal}",
    )
    expected = model.predict({**x, "audio": decoded}, verbose=0)
    assert np.max(np.abs(np.load(tmp_path / "bytes" / "probabilities.npy") - expected)) <= 1e-5


CLIENT = """
import sys
for name in ("keras", "tf_keras", "mmzoo"):  # a client with TensorFlow only
    sys.modules[name] = None
import numpy as np, tensorflow as tf
x = dict(np.load(sys.argv[2], allow_pickle=True))
loaded = tf.saved_model.load(sys.argv[1])
out = loaded.signatures["serve_bytes"](**{k: tf.constant(list(v) if v.dtype == object else v) for k, v in x.items()})
np.save(sys.argv[3], out["probabilities"].numpy())
"""


def test_serve_bytes_in_a_process_without_mmzoo_or_keras(small_model, exported, tmp_path):
    model, x, n = small_model
    wav = _wav(x["audio"], 4000)
    inputs = {
        "text": x["text"],
        "features": x["features"],
        "image": np.array(_png(x["image"]), dtype=object),
        "audio": np.array(wav, dtype=object),
    }
    np.savez(tmp_path / "x.npz", **inputs)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", CLIENT, exported[0], str(tmp_path / "x.npz"), str(tmp_path / "out.npy")],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    decoded = np.stack([tf.audio.decode_wav(w)[0].numpy()[:, 0] for w in wav])
    expected = model.predict({**x, "audio": decoded}, verbose=0)
    assert np.max(np.abs(np.load(tmp_path / "out.npy") - expected)) <= 1e-5
