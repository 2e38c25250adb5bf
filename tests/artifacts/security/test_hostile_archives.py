"""Hostile `.keras` files beyond code: decompression bombs, Keras-namespace gadgets, paths, HDF5 links.

Every test builds its attack file in tmp_path and checks the refusal (an UnsafeArtifactError
naming the file and the entry) and that the side effect never happened, observed through a
Python audit hook ("open", "socket.connect", "urllib.Request") or a spy on the next step.
"""

import contextlib
import io
import json
import os
import struct
import sys
import zipfile

import h5py
import keras
import numpy as np
import pytest
from keras.src.saving import serialization_lib

import mmzoo
from mmzoo.artifacts import safety
from mmzoo.artifacts.safety import UnsafeArtifactError, archive_problems, read_member
from mmzoo.encoders.applications import ApplicationEncoder
from mmzoo.encoders.autoencoder import ConvAutoencoderEncoder, pretrain_autoencoder

pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
AUDITED = ("open", "socket.connect", "socket.getaddrinfo", "urllib.Request")
_RECORDERS = []


def _audit(event, args):
    for record in _RECORDERS:
        record(event, args)


sys.addaudithook(_audit)  # hooks cannot be removed: this one only forwards to active recorders


@contextlib.contextmanager
def audited():
    """Records the audited events raised inside the block, as `(event, first argument)` pairs.

    HDF5 opens files in C, unseen by audit hooks, so `h5py.File` calls are recorded as "open" too.
    """
    events = []

    def record(event, args):
        if event in AUDITED:
            events.append((event, args[0] if args else None))

    real_init = h5py.File.__init__

    def h5_init(self, name, *args, **kwargs):
        events.append(("open", name))
        real_init(self, name, *args, **kwargs)

    _RECORDERS.append(record)
    h5py.File.__init__ = h5_init
    try:
        yield events
    finally:
        h5py.File.__init__ = real_init
        _RECORDERS.remove(record)


def opened(events, path):
    return [
        e
        for e in events
        if e[0] == "open" and isinstance(e[1], (str, bytes, os.PathLike)) and os.fspath(e[1]) == os.fspath(path)
    ]


def network(events):
    return [e for e in events if e[0] != "open"]


def benign_model(compile=False):
    inputs = keras.Input((2,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(1, name="dense")(inputs))
    if compile:
        model.compile(keras.optimizers.Adam(1e-3), loss="mse")
    return model


def rebuild(src, dst, config=None, members=None, compression=zipfile.ZIP_STORED):
    """Copies the .keras zip `src` to `dst`, passing config.json through `config` and replacing
    members by name from `members` ({name: bytes})."""
    members = members or {}
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", compression=compression) as b:
        for info in a.infolist():
            data = members.get(info.filename, a.read(info))
            if info.filename == "config.json" and config is not None:
                edited = json.loads(data)
                config(edited)
                data = json.dumps(edited).encode()
            b.writestr(info.filename, data)
    return str(dst)


def refusal(path, hint=True):
    with pytest.raises(UnsafeArtifactError) as info:
        mmzoo.load(path)
    message = str(info.value)
    assert str(path) in message and ("trust=True" in message or not hint)
    return message


@pytest.fixture
def no_keras_load(monkeypatch):
    """Fails the test if the file ever reaches Keras's loader."""
    calls = []
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: calls.append(a))
    yield
    assert calls == [], "the file reached keras.saving.load_model"


# --- 2. decompression bombs ------------------------------------------------------------------
def test_config_bomb_declaring_a_huge_size_is_refused_before_inflating(tmp_path, monkeypatch, no_keras_load):
    benign_model().save(tmp_path / "ok.keras")
    padded = b'{"config": {}}' + b" " * (safety.MAX_JSON_BYTES + 1)  # valid JSON if it were read
    path = rebuild(
        tmp_path / "ok.keras",
        tmp_path / "bomb.keras",
        members={"config.json": padded},
        compression=zipfile.ZIP_DEFLATED,
    )
    assert os.path.getsize(path) < safety.MAX_JSON_BYTES // 100  # a real bomb: tiny on disk
    inflated = []
    monkeypatch.setattr(safety, "_read_capped", lambda *a: inflated.append(a))
    message = refusal(path)
    assert f"archive member 'config.json' declares {len(padded):,} bytes" in message
    assert f"{safety.MAX_JSON_BYTES:,}-byte limit" in message
    assert inflated == []  # refused on the declared size, nothing inflated


def _patch_declared_size(data, name, size):
    """The zip bytes with `name`'s uncompressed size rewritten to `size` in both of its headers."""
    data = bytearray(data)
    encoded = name.encode()
    local = data.index(b"PK\x03\x04")
    while data[local + 30 : local + 30 + len(encoded)] != encoded:
        local = data.index(b"PK\x03\x04", local + 4)
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(encoded)] != encoded:
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, local + 22, size)
    struct.pack_into("<I", data, central + 24, size)
    return bytes(data)


def test_config_bomb_whose_declared_size_lies_is_refused(tmp_path, no_keras_load):
    benign_model().save(tmp_path / "ok.keras")
    padded = b'{"config": {}}' + b" " * (safety.MAX_JSON_BYTES + 1)
    honest = rebuild(
        tmp_path / "ok.keras",
        tmp_path / "honest.keras",
        members={"config.json": padded},
        compression=zipfile.ZIP_DEFLATED,
    )
    with open(honest, "rb") as f:
        lying = _patch_declared_size(f.read(), "config.json", 1000)
    path = tmp_path / "lying.keras"
    path.write_bytes(lying)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("config.json").file_size == 1000
    message = refusal(str(path), hint=False)
    assert "archive member 'config.json'" in message


class _LyingArchive:
    """An archive whose member declares 10 bytes and inflates without end; counts what it served."""

    def __init__(self):
        self.served = 0

    def getinfo(self, name):
        info = zipfile.ZipInfo(name)
        info.file_size = 10
        return info

    @contextlib.contextmanager
    def open(self, info):
        archive = self

        class Endless:
            def read(self, n):
                archive.served += n
                return b" " * n

        yield Endless()


def test_the_read_stops_at_the_cap_whatever_the_declared_size():
    archive, limit = _LyingArchive(), 3 * safety.READ_CHUNK
    with pytest.raises(UnsafeArtifactError, match="inflates past the 3,145,728-byte limit .* declares 10 bytes"):
        read_member(archive, "config.json", "x.keras", limit=limit)
    assert limit < archive.served <= limit + safety.READ_CHUNK


def test_an_archive_with_too_many_members_is_refused(tmp_path, no_keras_load):
    benign_model().save(tmp_path / "ok.keras")
    path = tmp_path / "many.keras"
    with zipfile.ZipFile(tmp_path / "ok.keras") as a, zipfile.ZipFile(path, "w") as b:
        for info in a.infolist():
            b.writestr(info, a.read(info))
        for i in range(40_000):
            b.writestr(f"assets/x/{i}", b"")
    message = refusal(str(path))
    assert f"{40_000 + 3:,} members, over the limit of {safety.MAX_MEMBERS:,}" in message


class _CountingName(str):
    """A member name that counts the comparisons and hashes made on it."""

    ops = 0

    def __eq__(self, other):
        _CountingName.ops += 1
        return str.__eq__(self, other)

    def __hash__(self):
        _CountingName.ops += 1
        return str.__hash__(self)


def test_member_checks_are_linear_in_the_number_of_members(monkeypatch):
    n = safety.MAX_MEMBERS
    names = [_CountingName(f"assets/layer_{i}/vocabulary.txt") for i in range(n - 1)]
    names.append(_CountingName(names[7]))  # one duplicate
    checked = []
    real = safety.member_problem
    monkeypatch.setattr(safety, "member_problem", lambda info: checked.append(info) or real(info))
    _CountingName.ops = 0
    problems = archive_problems(names)
    assert problems == [f"archive member {str(names[7])!r} appears more than once"]
    assert len(checked) == n  # each member's name checked once
    assert _CountingName.ops <= 3 * n  # a pairwise duplicate search would make ~n**2 / 2


def test_predict_metadata_read_is_bounded(tmp_path):
    from mmzoo.cli.predict import artifact_metadata

    benign_model().save(tmp_path / "ok.keras")
    padded = b'{"config": {}}' + b" " * (safety.MAX_JSON_BYTES + 1)
    path = rebuild(
        tmp_path / "ok.keras",
        tmp_path / "bomb.keras",
        members={"config.json": padded},
        compression=zipfile.ZIP_DEFLATED,
    )
    with pytest.raises(UnsafeArtifactError, match="'config.json' declares .* over the .*-byte limit"):
        artifact_metadata(path)


def test_savedmodel_metadata_read_is_bounded(tmp_path, monkeypatch):
    from mmzoo.artifacts.export import METADATA, read_metadata

    (tmp_path / "assets.extra").mkdir()
    (tmp_path / METADATA).write_text('{"format": "mmzoo-savedmodel"}' + " " * 200)
    monkeypatch.setattr(safety, "MAX_JSON_BYTES", 100)
    with pytest.raises(UnsafeArtifactError, match="more than the 100-byte limit for a metadata file"):
        read_metadata(str(tmp_path))


# --- 3. callables from Keras's own namespace: an allowlist ---------------------------------------
LOAD_DATA = serialization_lib.serialize_with_public_fn(keras.datasets.mnist.load_data, "load_data")


def test_the_gadget_is_live_in_plain_keras():
    assert LOAD_DATA == {
        "module": "keras.datasets.mnist",
        "class_name": "function",
        "config": "load_data",
        "registered_name": "load_data",
    }
    # Keras's safe mode resolves it; an optimizer would call it for its learning rate (a download)
    assert serialization_lib.deserialize_keras_object(LOAD_DATA, safe_mode=True) is keras.datasets.mnist.load_data


@pytest.mark.parametrize("where", ["learning_rate", "activation"])
def test_keras_datasets_load_data_is_refused_by_the_allowlist(tmp_path, where, no_keras_load):
    benign_model(compile=True).save(tmp_path / "ok.keras")

    def inject(config):
        if where == "learning_rate":
            config["compile_config"]["optimizer"]["config"]["learning_rate"] = LOAD_DATA
        else:
            config["config"]["layers"][1]["config"]["activation"] = LOAD_DATA

    path = rebuild(tmp_path / "ok.keras", tmp_path / "gadget.keras", config=inject)
    with audited() as events:
        message = refusal(path)
    entry = {
        "learning_rate": "compile_config.optimizer.config.learning_rate (layer 'adam')",
        "activation": "config.layers[1].config.activation (layer 'dense')",
    }[where]
    assert (
        f"{entry}: function 'load_data' from module 'keras.datasets.mnist' resolves to "
        f"keras.src.datasets.mnist.load_data, which is not on the allowlist"
    ) in message
    assert network(events) == []
    assert not [e for e in events if e[0] == "open" and "mnist" in str(e[1])]


@pytest.mark.parametrize(
    "entry,fragment",
    [
        (
            {"module": "keras.utils", "class_name": "function", "config": "normalize", "registered_name": "normalize"},
            "function 'normalize' from module 'keras.utils' resolves to",
        ),
        (
            {
                "module": "keras.callbacks",
                "class_name": "TensorBoard",
                "config": {"log_dir": "/tmp/x"},
                "registered_name": None,
            },
            "class 'TensorBoard' from module 'keras.callbacks' resolves to",
        ),
        (
            {"module": "keras.layers", "class_name": "NoSuchLayer", "config": {}, "registered_name": None},
            "class 'NoSuchLayer' from module 'keras.layers' is neither a Keras object nor one registered",
        ),
        # how Keras saves its loss functions ("builtins" then means: search Keras's built-in modules)
        (
            {"module": "builtins", "class_name": "function", "config": "print", "registered_name": "function"},
            "function 'print' from module 'builtins' is neither a Keras object nor one registered",
        ),
        (
            {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"},
            "config 'exec' names exec",
        ),
    ],
)
def test_other_keras_objects_outside_the_allowlist_are_refused(entry, fragment):
    problems = safety.config_problems(
        {
            "config": {
                "layers": [
                    {
                        "module": "keras.layers",
                        "class_name": "Dense",
                        "config": {"name": "d", "kernel_initializer": entry},
                    }
                ]
            }
        }
    )
    assert len(problems) == 1 and fragment in problems[0], problems
    assert problems[0].startswith("config.layers[0].config.kernel_initializer (layer 'd'): ")


def test_modelling_objects_are_on_the_allowlist():
    for obj in (
        keras.activations.gelu,
        keras.losses.mean_squared_error,
        keras.metrics.top_k_categorical_accuracy,
        keras.layers.Dense,
        keras.Sequential,
        keras.initializers.GlorotUniform,
        keras.regularizers.L2,
        keras.constraints.MaxNorm,
        keras.losses.Huber,
        keras.metrics.AUC,
        keras.optimizers.AdamW,
        keras.optimizers.schedules.CosineDecay,
        keras.DTypePolicy,
        mmzoo.MultimodalModel,
    ):
        assert safety.allowed_object(obj), obj
    for obj in (
        keras.activations.get,
        keras.losses.deserialize,
        keras.utils.get_file,
        keras.layers.TFSMLayer,
        keras.datasets.mnist.load_data,
        keras.callbacks.ModelCheckpoint,
        os.system,
    ):
        assert not safety.allowed_object(obj), obj


def test_a_saved_learning_rate_schedule_and_loss_function_pass(tmp_path):
    inputs = keras.Input((2,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(1, activation=keras.activations.gelu, name="dense")(inputs))
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=10, decay_rate=0.9)
    model.compile(
        keras.optimizers.Adam(schedule),
        loss=keras.losses.mean_squared_error,
        metrics=[keras.metrics.mean_absolute_error],
    )
    path = str(tmp_path / "schedule.keras")
    model.save(path)
    x = np.ones((2, 2), "float32")
    np.testing.assert_allclose(mmzoo.load(path).predict(x, verbose=0), model.predict(x, verbose=0))


# --- 4. no file path restored from a config ------------------------------------------------------
@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A `.keras` model whose audio encoder was built from a local weights file, and that file."""
    folder = tmp_path_factory.mktemp("pretrained")
    spec = mmzoo.Audio("voice", sample_rate=4000, seconds=0.25, num_mel_bins=16)
    waves = np.random.default_rng(0).standard_normal((8, 1000)).astype("float32")
    weights = str(folder / "voice.weights.h5")
    pretrain_autoencoder(spec, waves, epochs=1, units=8, filters=(4,), save_path=weights)
    model = mmzoo.build_model(
        "early_fusion",
        [spec],
        mmzoo.Classification(num_classes=2),
        encoders={"voice": ("conv_autoencoder", {"weights": weights})},
    )
    path = str(folder / "model.keras")
    model.save(path)
    return path, weights, {"voice": waves[:4]}, model.predict({"voice": waves[:4]}, verbose=0)


def _encoder_config(config):
    return next(
        layer["config"] for layer in config["config"]["layers"] if layer["class_name"] == "ConvAutoencoderEncoder"
    )


@pytest.mark.parametrize("loader", ["keras.saving.load_model", "mmzoo.load"])
def test_a_model_built_from_a_weights_file_reloads_without_opening_it(pretrained, loader):
    path, weights, x, reference = pretrained
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    assert "weights" not in _encoder_config(config) and weights not in json.dumps(config)
    with audited() as events:
        model = mmzoo.load(path) if loader == "mmzoo.load" else keras.saving.load_model(path)
    assert opened(events, weights) == []
    np.testing.assert_array_equal(model.predict(x, verbose=0), reference)


def test_a_path_written_into_the_encoder_config_is_never_opened(pretrained, tmp_path):
    path, _, x, reference = pretrained
    secret = tmp_path / "secret.weights.h5"
    secret.write_bytes(b"not for you")

    def inject(config):
        _encoder_config(config)["weights"] = str(secret)

    evil = rebuild(path, tmp_path / "evil.keras", config=inject)
    with audited() as events:
        model = keras.saving.load_model(evil)  # the documented plain-Keras path: the argument is dropped
        message = refusal(evil)  # mmzoo.load refuses the path outright
    assert opened(events, secret) == []
    np.testing.assert_array_equal(model.predict(x, verbose=0), reference)
    assert f"reads weights from the file path '{secret}'" in message


def test_application_encoder_from_config_ignores_a_weights_path(tmp_path):
    secret = tmp_path / "secret.h5"
    secret.write_bytes(b"not for you")
    encoder = ApplicationEncoder("mobilenet_v3_small", units=8)
    config = encoder.get_config()
    assert "weights" not in config
    with audited() as events:
        clone = type(encoder).from_config({**config, "weights": str(secret)})
        auto = ConvAutoencoderEncoder.from_config(
            {**ConvAutoencoderEncoder(units=8).get_config(), "weights": str(secret)}
        )
    assert opened(events, secret) == []
    assert clone.get_config() == config and auto.weights_path is None


def test_a_text_spec_never_takes_a_vocabulary_path(tmp_path):
    from mmzoo.specs import spec_from_config

    secret = tmp_path / "vocabulary.txt"
    secret.write_text("hunter2\n")
    with audited() as events, pytest.raises(ValueError, match="vocabulary must be a list of tokens"):
        spec_from_config({"modality": "text", "name": "review", "vocabulary": str(secret)})
    assert opened(events, secret) == []


# --- 5. HDF5 links and datasets that read other files ---------------------------------------------
def _with_hostile_weights(tmp_path, attack, compression=zipfile.ZIP_STORED):
    """A benign .keras file whose model.weights.h5 gets `attack(h5file, secret)` added; and the secret."""
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["data"] = np.arange(4, dtype="float32")
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.arange(4, dtype="float32").tobytes())
    benign_model().save(tmp_path / "ok.keras")
    with zipfile.ZipFile(tmp_path / "ok.keras") as archive:
        buffer = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(buffer, "a") as f:
        attack(f, str(secret), str(raw))
    path = rebuild(
        tmp_path / "ok.keras",
        tmp_path / "hdf5.keras",
        compression=compression,
        members={"model.weights.h5": buffer.getvalue()},
    )
    return path, secret, raw


def _virtual(f, secret, raw):
    layout = h5py.VirtualLayout(shape=(4,), dtype="float32")
    layout[:] = h5py.VirtualSource(secret, "data", shape=(4,))
    f["layers/dense/vars"].create_virtual_dataset("2", layout)


ATTACKS = {
    "external_link": (
        lambda f, secret, raw: f["layers/dense"].__setitem__("stolen", h5py.ExternalLink(secret, "/data")),
        "/layers/dense/stolen: an HDF5 external link to '{secret}'",
    ),
    "soft_link": (
        lambda f, secret, raw: f.__setitem__("alias", h5py.SoftLink("/layers/dense/vars/0")),
        "/alias: an HDF5 soft link to '/layers/dense/vars/0'",
    ),
    "virtual_dataset": (_virtual, "/layers/dense/vars/2: an HDF5 virtual dataset mapping data from {secret}"),
    "external_storage": (
        lambda f, secret, raw: f["layers/dense/vars"].create_dataset(
            "3", shape=(4,), dtype="float32", external=[(raw, 0, 16)]
        ),
        "/layers/dense/vars/3: an HDF5 dataset stored in external files {raw}",
    ),
}


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_hdf5_links_and_external_datasets_are_refused(tmp_path, attack, compression, no_keras_load):
    build, expected = ATTACKS[attack]
    path, secret, raw = _with_hostile_weights(tmp_path, build, compression)
    with audited() as events:
        message = refusal(path)
    assert "model.weights.h5 " + expected.format(secret=secret, raw=raw) in message
    assert opened(events, secret) == [] and opened(events, raw) == []
