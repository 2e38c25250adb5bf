"""`python -m mmzoo predict`: one example from command-line values through each kind of artifact."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmzoo
from mmzoo.cli.commands import main
from tests.helpers import small_inputs

CLASSES = ["cat", "dog", "owl"]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """A tiny text+image+audio classifier saved as .keras and SavedModel, one PNG, one WAV, its expected output."""
    folder = tmp_path_factory.mktemp("predict")
    specs, x, _ = small_inputs(("text", "image", "audio"))
    keras.utils.set_random_seed(0)
    encoders = {
        "text": ("bilstm", {"units": 4}),
        "image": ("cnn", {"filters": (4,), "units": 8}),
        "audio": ("cnn", {"filters": (4,), "units": 8}),
    }
    model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(3, class_names=CLASSES), encoders=encoders)
    model.save(folder / "model.keras")
    mmzoo.export(model, str(folder / "savedmodel"))
    tf.io.write_file(str(folder / "a.png"), tf.io.encode_png(x["image"][0]))
    tf.io.write_file(str(folder / "b.wav"), tf.audio.encode_wav(x["audio"][0][:, None], 4000))
    (folder / "broken.png").write_text("not an image")
    one = {"text": np.array(["a good film"], dtype=object), "image": x["image"][:1], "audio": x["audio"][:1]}
    return folder, model.predict(one, verbose=0)[0]


def _predict(capsys, *args):
    assert main(["predict", *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("artifact", ["model.keras", "savedmodel"])
def test_prints_probabilities_with_class_names(artifacts, capsys, artifact):
    folder, expected = artifacts
    out = _predict(
        capsys,
        "--model",
        str(folder / artifact),
        "--text",
        "a good film",
        "--image",
        str(folder / "a.png"),
        "--audio",
        str(folder / "b.wav"),
    )
    best = int(np.argmax(expected))
    assert out.splitlines()[0] == "probabilities (top 3 of 3):"
    assert out.splitlines()[1] == f"  {expected[best]:.4f}  {CLASSES[best]} (class {best})"

    # the same through --input NAME=VALUE, as JSON
    record = json.loads(
        _predict(
            capsys,
            "--model",
            str(folder / artifact),
            "--json",
            "--input",
            "text=a good film",
            "--input",
            f"image={folder / 'a.png'}",
            "--input",
            f"audio={folder / 'b.wav'}",
        )
    )
    np.testing.assert_allclose(record["outputs"]["probabilities"][0], expected, atol=1e-5)
    assert [t["name"] for t in record["top"]] == [CLASSES[i] for i in np.argsort(-expected)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--text", "hi", "--image", "a.png"], "Input(s) 'audio' (--audio or --input audio=...) missing"),
        (
            ["--text", "hi", "--image", "a.png", "--audio", "b.wav", "--features", "1,2"],
            "--features: the model has no features input(s); its inputs are 'text' (text), 'image' (image), "
            "'audio' (audio). Use --input NAME=VALUE.",
        ),
        (
            ["--text", "hi", "--image", "a.png", "--audio", "b.wav", "--input", "voice=b.wav"],
            "--input voice=...: the model has no input 'voice'; its inputs are 'text', 'image', 'audio'.",
        ),
        (["--text", "hi", "--image", "broken.png", "--audio", "b.wav"], "Image input 'image': cannot decode"),
        (["--text", "hi", "--image", "a.png", "--audio", "missing.wav"], "Audio input 'audio': no file"),
        (["--text", "hi", "--input", "image", "--audio", "b.wav"], "--input expects NAME=VALUE; received 'image'"),
    ],
)
def test_bad_or_missing_inputs_name_the_input(artifacts, monkeypatch, args, message):
    folder, _ = artifacts
    monkeypatch.chdir(folder)
    with pytest.raises(SystemExit) as error:
        main(["predict", "--model", "model.keras", *args])
    assert str(error.value).startswith("mmzoo predict: ") and message in str(error.value)


@pytest.mark.parametrize("fmt, module", [("tflite", "ai_edge_litert"), ("onnx", "onnxruntime")])
def test_tflite_and_onnx_cores_tokenize_and_decode_alike(artifacts, capsys, fmt, module):
    pytest.importorskip(module)
    folder, expected = artifacts
    path = folder / f"model.{fmt}"
    mmzoo.export(mmzoo.load(str(folder / "model.keras")), str(path), format=fmt)
    record = json.loads(
        _predict(
            capsys,
            "--model",
            str(path),
            "--json",
            "--text",
            "a good film",
            "--image",
            str(folder / "a.png"),
            "--audio",
            str(folder / "b.wav"),
        )
    )
    np.testing.assert_allclose(record["outputs"]["probabilities"][0], expected, atol=1e-4)
    assert record["top"][0]["name"] == CLASSES[int(np.argmax(expected))]
