"""mmzoo.load refuses malicious .keras/.h5 files before Keras reads them; trust=True opts out.

Every test writes its own malicious file into tmp_path and checks both the refusal (an
UnsafeArtifactError naming the config entry and the offending value) and that the payload's
side effect (a marker file, a file read, a global switch) never happened.
"""

import json
import types
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.saving import serialization_lib

import mmzoo
from mmzoo.artifacts.safety import UnsafeArtifactError, check_artifact, config_problems, member_problem


# --- building malicious files ---------------------------------------------------------
def benign_model():
    inputs = keras.Input((2,), name="x")
    return keras.Model(inputs, keras.layers.Dense(1, name="dense")(inputs))


def touching_lambda(marker):
    """A Python lambda that creates `marker` when called (the payload of a Lambda layer)."""
    base = lambda t: (__import__("pathlib").Path("MARKER").touch(), t)[1]  # noqa: E731
    consts = tuple(str(marker) if c == "MARKER" else c for c in base.__code__.co_consts)
    return types.FunctionType(base.__code__.replace(co_consts=consts), base.__globals__, "<lambda>")


def lambda_model(fn):
    inputs = keras.Input((2,), name="x")
    hidden = keras.layers.Lambda(fn, name="evil")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="dense")(hidden))


def rewrite(src, dst, mutate=None, extra=(), drop_assets=False):
    """Copies the .keras zip `src` to `dst`, passing config.json through `mutate` and adding
    `extra` (name, bytes) members."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for info in a.infolist():
            if drop_assets and info.filename.startswith("assets/"):
                continue
            data = a.read(info)
            if info.filename == "config.json" and mutate is not None:
                config = json.loads(data)
                mutate(config)
                data = json.dumps(config).encode()
            b.writestr(info.filename, data)
        for name, data in extra:
            b.writestr(name, data)
    return str(dst)


def with_activation(tmp_path, activation):
    """A benign model whose Dense layer's activation entry is replaced by `activation`."""
    src = tmp_path / "benign.keras"
    benign_model().save(src)

    def mutate(config):
        config["config"]["layers"][1]["config"]["activation"] = activation

    return rewrite(src, tmp_path / "evil.keras", mutate)


def refusal(path, hint=True):
    with pytest.raises(UnsafeArtifactError) as info:
        mmzoo.load(path)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert str(path) in message and ("trust=True" in message or not hint)
    return message


# --- Lambda / code layers ---------------------------------------------------------------
def test_lambda_layer_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "marker"
    lambda_model(touching_lambda(marker)).save(tmp_path / "lambda.keras")
    marker.unlink()  # building the model called the lambda once
    message = refusal(str(tmp_path / "lambda.keras"))
    assert "config.layers[1] (layer 'evil'): class_name 'Lambda'" in message
    assert "config.layers[1].config.function (layer 'evil')" in message
    assert not marker.exists()
    # the payload is live: trusting the file runs it
    mmzoo.load(str(tmp_path / "lambda.keras"), trust=True)
    assert marker.exists()


def test_trust_loads_a_benign_lambda_model(tmp_path):
    model = lambda_model(lambda t: 2.0 * t)
    path = str(tmp_path / "double.keras")
    model.save(path)
    with pytest.raises(UnsafeArtifactError, match="Lambda"):
        mmzoo.load(path)
    x = np.arange(6, dtype="float32").reshape(3, 2)
    np.testing.assert_allclose(
        mmzoo.load(path, trust=True).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )


def test_h5_model_is_refused_without_trust(tmp_path):
    marker = tmp_path / "marker"
    path = str(tmp_path / "lambda.h5")
    lambda_model(touching_lambda(marker)).save(path)
    marker.unlink()  # building the model called the lambda once
    message = refusal(path)
    assert "legacy HDF5" in message and "mmzoo does not inspect" in message
    assert not marker.exists()
    mmzoo.load(path, trust=True)
    assert marker.exists()


def test_tfsm_layer_is_refused_and_no_savedmodel_is_opened(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(tf.saved_model, "load", lambda *a, **k: opened.append(a))
    src = tmp_path / "benign.keras"
    benign_model().save(src)
    tfsm = {
        "module": "keras.layers",
        "class_name": "TFSMLayer",
        "registered_name": None,
        "config": {"name": "served", "filepath": str(tmp_path / "sm"), "call_endpoint": "serve"},
    }

    def mutate(config):
        config["config"]["layers"].insert(1, tfsm)

    message = refusal(rewrite(src, tmp_path / "tfsm.keras", mutate))
    assert "config.layers[1] (layer 'served'): class_name 'TFSMLayer'" in message
    assert "SavedModel is a program" in message
    assert opened == []


# --- configs naming code -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "module,name,args",
    [
        ("os", "system", lambda m: {"command": f"touch {m}"}),
        ("subprocess", "Popen", lambda m: {"args": ["touch", str(m)]}),
        ("builtins", "exec", lambda m: {"source": f"open({str(m)!r}, 'w')"}),
    ],
)
def test_config_naming_an_arbitrary_module_is_refused(tmp_path, module, name, args):
    marker = tmp_path / "marker"
    entry = {"module": module, "class_name": name, "config": args(marker), "registered_name": None}
    message = refusal(with_activation(tmp_path, entry))
    assert f"config.layers[1].config.activation (layer 'dense'): module '{module}'" in message
    assert "outside the allowed packages (keras, mmzoo)" in message
    assert f"class_name {name!r} names {name.lower()}" in message
    assert not marker.exists()


def test_enable_unsafe_deserialization_then_lambda_chain_is_refused(tmp_path):
    """The known bypass: one config entry switches safe mode off, a later Lambda runs."""
    marker = tmp_path / "marker"
    lambda_model(touching_lambda(marker)).save(tmp_path / "lambda.keras")
    marker.unlink()  # building the model called the lambda once
    switch = {
        "module": "keras.config",
        "class_name": "function",
        "config": "enable_unsafe_deserialization",
        "registered_name": "enable_unsafe_deserialization",
    }

    def mutate(config):  # the switch is deserialised first, as the input layer's dtype
        config["config"]["layers"][0]["config"]["dtype"] = switch

    path = rewrite(tmp_path / "lambda.keras", tmp_path / "chain.keras", mutate)
    before = serialization_lib.in_safe_mode()
    message = refusal(path)
    assert (
        "config.layers[0].config.dtype (layer 'x'): module 'keras.config' (class_name "
        "'function') holds saving, loading or configuration switches"
    ) in message
    assert "names enable_unsafe_deserialization" in message
    assert "class_name 'Lambda'" in message  # every problem is listed, not just the first
    assert serialization_lib.in_safe_mode() == before
    assert not marker.exists()


@pytest.mark.parametrize(
    "module,name", [("keras.utils", "get_file"), ("keras.saving", "load_model"), ("keras.models", "load_model")]
)
def test_loading_and_downloading_helpers_are_refused(tmp_path, module, name):
    (tmp_path / "payload.txt").write_text("not a model")
    entry = {
        "module": module,
        "class_name": name,
        "registered_name": name,
        "config": {
            "fname": "fetched.txt",
            "origin": (tmp_path / "payload.txt").as_uri(),
            "cache_dir": str(tmp_path / "cache"),
        },
    }
    message = refusal(with_activation(tmp_path, entry))
    assert "config.layers[1].config.activation (layer 'dense')" in message
    assert f"class_name {name!r} names {name}" in message
    assert not (tmp_path / "cache").exists()
    function = {"module": module, "class_name": "function", "config": name, "registered_name": name}
    assert f"config {name!r} names {name}" in refusal(with_activation(tmp_path, function))


def test_lookup_vocabulary_path_is_refused_and_the_file_is_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password\nhunter2\n")
    inputs = keras.Input((1,), dtype="string", name="s")
    keras.Model(inputs, keras.layers.StringLookup(vocabulary=["a", "b"], name="lookup")(inputs)).save(
        tmp_path / "lookup.keras"
    )

    def mutate(config):
        config["config"]["layers"][1]["config"]["vocabulary"] = str(secret)

    path = rewrite(tmp_path / "lookup.keras", tmp_path / "evil.keras", mutate, drop_assets=True)
    message = refusal(path)
    assert (
        f"config.layers[1].config.vocabulary (layer 'lookup'): reads the vocabulary from the file path '{secret}'"
    ) in message
    # the payload is live: a trusted load reads the file into the model
    vocabulary = mmzoo.load(path, trust=True).get_layer("lookup").get_vocabulary()
    assert "hunter2" in vocabulary


def test_text_vectorization_vocabulary_path_is_named():
    layer = {
        "module": "keras.layers",
        "class_name": "TextVectorization",
        "config": {"name": "tv", "vocabulary": "/etc/passwd"},
    }
    problems = config_problems({"config": {"layers": [layer]}})
    assert problems == [
        "config.layers[0].config.vocabulary (layer 'tv'): reads the vocabulary "
        "from the file path '/etc/passwd', outside the archive"
    ]


# --- archive members ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["dotdot", "absolute", "backslash"])
def test_archive_member_escaping_the_folder_is_refused(tmp_path, kind):
    target = tmp_path / "escaped.txt"
    name = {
        "dotdot": "assets/" + "../" * 40 + str(target).lstrip("/"),
        "absolute": str(target),
        "backslash": "assets\\..\\..\\escaped.txt",
    }[kind]
    benign_model().save(tmp_path / "benign.keras")
    path = rewrite(tmp_path / "benign.keras", tmp_path / "zip.keras", extra=[(name, b"owned")])
    message = refusal(path)
    assert f"archive member {name!r}" in message
    assert not target.exists()


def test_member_checks():
    assert member_problem("assets/layers/text_vectorization/vocabulary.txt") is None
    assert "absolute" in member_problem("C:/Windows/x")
    assert "'..'" in member_problem("a/../../b")
    link = zipfile.ZipInfo("assets/link")
    link.external_attr = 0o120777 << 16
    assert member_problem(link) == "it is a symbolic link"


# --- what loads, what else is refused ----------------------------------------------------------
def test_a_custom_layer_registered_in_this_process_loads(tmp_path):
    @keras.saving.register_keras_serializable(package="mmzoo_test_safety")
    class Scale(keras.layers.Layer):
        def call(self, x):
            return 3.0 * x

    inputs = keras.Input((2,), name="x")
    path = str(tmp_path / "custom.keras")
    keras.Model(inputs, Scale(name="scale")(inputs)).save(path)
    x = np.ones((1, 2), "float32")
    np.testing.assert_allclose(mmzoo.load(path).predict(x, verbose=0), 3 * x)

    def unregister(config):  # same module, a name nobody registered: Keras would import it
        config["config"]["layers"][1]["registered_name"] = "nobody>Scale"

    message = refusal(rewrite(path, tmp_path / "other.keras", unregister))
    assert f"module '{__name__}' (class_name 'Scale') is outside the allowed packages" in message


def test_other_files_are_refused(tmp_path):
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04N.")
    message = refusal(str(tmp_path / "model.pkl"), hint=False)
    assert "expected a .keras file or a SavedModel directory" in message
    (tmp_path / "fake.keras").write_bytes(b"not a zip")
    assert "not one" in refusal(str(tmp_path / "fake.keras"), hint=False)
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    assert "no config.json" in refusal(str(tmp_path / "empty.keras"), hint=False)
    with pytest.raises(FileNotFoundError):
        mmzoo.load(str(tmp_path / "nothing.keras"))


def test_benign_model_passes_the_inspector_and_loads(tmp_path):
    model = benign_model()
    path = tmp_path / "ok.keras"
    model.save(path)
    check_artifact(path)
    x = np.ones((2, 2), "float32")
    np.testing.assert_allclose(mmzoo.load(path).predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "module,name,why",
    [
        ("keras.src.utils.python_utils", "func_load", "holds saving, loading or configuration switches"),
        ("keras.src.saving.serialization_lib", "deserialize_keras_object", "names deserialize_keras_object"),
        ("keras_evil.layers", "Dense", "outside the allowed packages"),  # a prefix is not the package
        ("mmzoo_evil", "Dense", "outside the allowed packages"),
    ],
)
def test_keras_internal_gadgets_and_lookalike_packages_are_refused(module, name, why):
    entry = {"module": module, "class_name": name, "config": {"name": "g"}, "registered_name": None}
    problems = config_problems({"config": {"layers": [entry]}})
    assert problems and all(p.startswith("config.layers[0] (layer 'g'): ") for p in problems)
    assert any(why in p for p in problems), problems
