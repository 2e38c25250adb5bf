"""A SavedModel's graph is inspected before `tf.saved_model.load` runs any of it.

`tf.saved_model.load` runs resource initializers while loading, so mmzoo's
metadata file copied into a hostile SavedModel used to be enough to write a
file the moment `mmzoo.load` opened it. Each attack here is a SavedModel the
test builds itself; the tests prove the payload really runs under a plain
`tf.saved_model.load`, then that `mmzoo.load` and `python -m mmzoo predict`
refuse it by op and function and that the payload's file never appears. The
exports of every architecture pass the same check in `mmzoo.testing.run_model_test`
(tests/models/test_registry.py) and `serve_bytes` in tests/artifacts/test_serve_bytes.py.
"""

import gc
import importlib
import json
import os
import shutil
import stat
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import mmzoo
from mmzoo.artifacts import private_copy, savedmodel_scan
from mmzoo.artifacts.safety import UnsafeArtifactError
from mmzoo.artifacts.savedmodel_scan import ALLOWED_OPS, SAVER_OPS, savedmodel_problems
from tests.helpers import run_cli

export_module = importlib.import_module("mmzoo.artifacts.export")  # `mmzoo.export` is also the function

X = np.array([[1.0, 2.0, 3.0]], "float32")


# --- building hostile SavedModels ---------------------------------------------------------
class Payload(tf.saved_model.experimental.TrackableResource):
    """A resource whose initializer (run by `tf.saved_model.load`) runs `action(marker)`."""

    def __init__(self, marker, action):
        self._marker, self._action = marker, action
        super().__init__()

    def _create_resource(self):
        return tf.raw_ops.HashTableV2(key_dtype=tf.string, value_dtype=tf.string)

    def _initialize(self):
        self._action(self._marker)


class Hostile(tf.Module):
    """Looks like a one-input mmzoo classifier (`serve` on `x`), carries a load-time payload."""

    def __init__(self, marker, action):
        super().__init__()
        self.payload = Payload(marker, action)

    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32, name="x")])
    def serve(self, x):
        return {"probabilities": tf.nn.softmax(tf.stack([tf.reduce_sum(x, 1), -tf.reduce_sum(x, 1)], 1))}


def write_file(marker):
    tf.io.write_file(marker, "written while loading")


def save_checkpoint(marker):
    tf.raw_ops.SaveV2(prefix=marker, tensor_names=["x"], shape_and_slices=[""], tensors=[tf.constant(1.0)])


def mmzoo_metadata():
    """The `assets.extra/mmzoo.json` `mmzoo.export` writes for a one-input (x: 3 floats) classifier."""
    model = mmzoo.build_model(
        "early_fusion", [mmzoo.Features("x", shape=(3,), normalize=False)], mmzoo.Classification(num_classes=2)
    )
    return model, {
        "format": "mmzoo-savedmodel",
        "mmzoo_version": mmzoo.__version__,
        "inputs": model.spec_configs,
        "task": model.task_config,
        "signature": {"serve": {"inputs": {"x": "float32 (None, 3)"}, "outputs": ["probabilities"]}},
    }


def hostile_savedmodel(folder, action=write_file, name="hostile"):
    """`(path, marker)`: a SavedModel with mmzoo's metadata whose initializer runs `action(marker)`."""
    path, marker = str(folder / name), str(folder / f"{name}-marker")
    module = Hostile(marker, action)
    tf.saved_model.save(module, path, signatures={"serve": module.serve})
    _, metadata = mmzoo_metadata()
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    with open(os.path.join(path, export_module.METADATA), "w") as f:
        json.dump(metadata, f)
    assert not os.path.exists(marker)  # saving traced the payload but did not run it
    return path, marker


def functions_with(path, op):
    """Names of the library functions of the SavedModel at `path` holding a node of type `op`."""
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        saved = saved_model_pb2.SavedModel.FromString(f.read())
    return [
        f.signature.name
        for graph in saved.meta_graphs
        for f in graph.graph_def.library.function
        if any(node.op == op for node in f.node_def)
    ]


def edit_graph(path, mutate):
    """Rewrites the SavedModel at `path` with `mutate(meta_graph)` applied to its saved_model.pb."""
    pb = os.path.join(path, "saved_model.pb")
    with open(pb, "rb") as f:
        saved = saved_model_pb2.SavedModel.FromString(f.read())
    mutate(saved.meta_graphs[0])
    with open(pb, "wb") as f:
        f.write(saved.SerializeToString())


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The WriteFile attack, proven real: a plain `tf.saved_model.load` writes its marker."""
    folder = tmp_path_factory.mktemp("hostile")
    path, marker = hostile_savedmodel(folder)
    tf.saved_model.load(path)
    assert os.path.exists(marker), "the payload did not run under tf.saved_model.load: the attack is not real"
    os.remove(marker)
    [initializer] = functions_with(path, "WriteFile")
    return path, marker, initializer


# --- the attack through mmzoo.load and `python -m mmzoo predict` ---------------------------
def test_load_refuses_a_savedmodel_whose_initializer_writes_a_file(hostile):
    path, marker, initializer = hostile
    with pytest.raises(UnsafeArtifactError) as info:
        mmzoo.load(path)
    message = str(info.value)
    assert f"op 'WriteFile' in function '{initializer}'" in message
    assert path in message and "trust=True" in message
    assert not os.path.exists(marker)


def test_predict_cli_refuses_it_and_nothing_is_written(hostile, capsys):
    path, marker, initializer = hostile
    code, out, err = run_cli("predict", "--model", path, "--features", "1,2,3", capsys=capsys)
    assert code != 0 and out == ""
    assert f"op 'WriteFile' in function '{initializer}'" in err and "trust=True" in err
    assert not os.path.exists(marker)


def test_trust_loads_it_and_the_payload_runs(hostile):
    path, marker, _ = hostile
    try:
        loaded = mmzoo.load(path, trust=True)  # trust means: run this program
        assert os.path.exists(marker)
        out = loaded.signatures["serve"](x=tf.constant(X))["probabilities"].numpy()
        assert out.shape == (1, 2)
    finally:
        if os.path.exists(marker):
            os.remove(marker)


def test_checkpoint_writing_ops_pass_only_in_the_savers_own_function(tmp_path):
    path, _ = hostile_savedmodel(tmp_path, action=save_checkpoint)
    [initializer] = [f for f in functions_with(path, "SaveV2") if "_traced_save_" not in f]
    with pytest.raises(UnsafeArtifactError, match=f"op 'SaveV2' in function '{initializer}'"):
        mmzoo.load(path)
    assert not [name for name in os.listdir(tmp_path) if name.startswith("hostile-marker")]


def test_the_saver_function_called_from_elsewhere_loses_its_exemption(tmp_path):
    model, _ = mmzoo_metadata()
    path = mmzoo.export(model, str(tmp_path / "model"))
    assert savedmodel_problems(path) == []
    [saver] = [f for f in functions_with(path, "SaveV2")]

    def call_saver_from_serve(graph):
        serve = next(f for f in graph.graph_def.library.function if f.signature.name.startswith("__inference_serve"))
        node = serve.node_def.add(name="sneaky", op="StatefulPartitionedCall")
        node.attr["f"].func.name = saver

    edit_graph(path, call_saver_from_serve)
    problems = savedmodel_problems(path)
    assert f"op 'SaveV2' in function '{saver}'" in problems
    assert f"op 'MergeV2Checkpoints' in function '{saver}'" in problems


def test_ops_named_in_function_attributes_are_checked(tmp_path):
    path, _ = hostile_savedmodel(tmp_path, action=lambda marker: None)
    assert savedmodel_problems(path) == []  # the harmless twin passes

    def add_calls(graph):
        body = next(f for f in graph.graph_def.library.function if "_serve_" in f.signature.name)
        direct = body.node_def.add(name="direct", op="PartitionedCall")
        direct.attr["f"].func.name = "WriteFile"  # a primitive op runs as a one-op function
        nested = body.node_def.add(name="nested", op="Case")
        branch = nested.attr["branches"].list.func.add(name=body.signature.name)
        branch.attr["inner"].func.name = "DeleteFile"
        graph.graph_def.node.add(name="top", op="ReadFile")

    edit_graph(path, add_calls)
    problems = "\n".join(savedmodel_problems(path))
    for op in ("'WriteFile' in function", "'DeleteFile' in function", "'ReadFile' in the top-level graph"):
        assert op in problems, problems


def test_unreadable_or_oversized_graphs_are_refused(tmp_path, monkeypatch):
    path, _ = hostile_savedmodel(tmp_path, action=lambda marker: None)
    monkeypatch.setattr(savedmodel_scan, "MAX_GRAPH_BYTES", 1000)
    with pytest.raises(UnsafeArtifactError, match="saved_model.pb is over"):
        mmzoo.load(path)
    monkeypatch.undo()
    with open(os.path.join(path, "saved_model.pb"), "wb") as f:
        f.write(b"\xff" * 64)
    with pytest.raises(UnsafeArtifactError, match=f"Refusing to load '{path}': its saved_model.pb is not a valid"):
        mmzoo.load(path)


def test_a_link_inside_the_savedmodel_is_refused(tmp_path):
    path, _ = hostile_savedmodel(tmp_path, action=lambda marker: None)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the model")
    os.makedirs(os.path.join(path, "assets"), exist_ok=True)
    os.symlink(secret, os.path.join(path, "assets", "vocabulary.txt"))
    with pytest.raises(UnsafeArtifactError, match="'assets/vocabulary.txt' is a symbolic link"):
        mmzoo.load(path)


def test_the_allowlist_holds_no_file_or_python_ops():
    for op in (
        "WriteFile",
        "ReadFile",
        "DeleteFile",
        "MatchingFiles",
        "PyFunc",
        "EagerPyFunc",
        "PrintV2",
        "SaveV2",
        "Save",
        "SaveSlices",
        "MergeV2Checkpoints",
        "ImmutableConst",
        "WholeFileReaderV2",
    ):
        assert op not in ALLOWED_OPS
    assert not SAVER_OPS & {"WriteFile", "PyFunc", "EagerPyFunc", "DeleteFile"}


# --- what is inspected is what is loaded ----------------------------------------------------
def test_a_savedmodel_swapped_after_the_inspection_is_not_loaded(tmp_path, monkeypatch):
    model, _ = mmzoo_metadata()
    original = mmzoo.export(model, str(tmp_path / "model"))
    hostile_path, marker = hostile_savedmodel(tmp_path)
    inspect = export_module.savedmodel_problems
    swapped = []

    def inspect_then_swap(path, **kwargs):
        problems = inspect(path, **kwargs)
        shutil.rmtree(original)
        shutil.copytree(hostile_path, original)  # the attacker wins every race
        swapped.append(path)
        return problems

    monkeypatch.setattr(export_module, "savedmodel_problems", inspect_then_swap)
    loaded = mmzoo.load(original)
    assert swapped and swapped[0] != original  # the inspection ran on the private copy
    out = loaded.signatures["serve"](x=tf.constant(X))["probabilities"].numpy()
    np.testing.assert_allclose(out, model.predict({"x": X}, verbose=0), atol=1e-6)
    assert not os.path.exists(marker)
    assert functions_with(original, "WriteFile")  # the folder now holds the hostile model


def test_the_private_savedmodel_copy_goes_with_the_loaded_object(tmp_path, monkeypatch):
    model, _ = mmzoo_metadata()
    path = mmzoo.export(model, str(tmp_path / "model"))
    private = tmp_path / "private"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    loaded = mmzoo.load(path)
    [folder] = os.listdir(private)
    assert stat.S_IMODE(os.stat(private / folder).st_mode) == 0o700
    del loaded
    gc.collect()
    assert os.listdir(private) == []


def _dense_model(units):
    inputs = keras.Input((3,), name="x")
    return keras.Model(inputs, keras.layers.Dense(units, name="dense")(inputs))


def test_a_keras_file_swapped_after_the_inspection_is_not_loaded(tmp_path, monkeypatch):
    original, other = tmp_path / "model.keras", tmp_path / "other.keras"
    model = _dense_model(2)
    model.save(original)
    _dense_model(5).save(other)
    inspect = mmzoo.artifacts.safety.check_artifact
    seen = []

    def inspect_then_swap(path, data=None):
        inspect(path, data)
        seen.append(data)
        shutil.copyfile(other, original)  # swapped right after the inspection
        os.chmod(original, 0o644)

    load_model = keras.saving.load_model
    modes = []

    def load_and_record(path, **kwargs):
        modes.append((stat.S_IMODE(os.stat(path).st_mode), stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)))
        return load_model(path, **kwargs)

    monkeypatch.setattr(mmzoo.artifacts.safety, "check_artifact", inspect_then_swap)
    monkeypatch.setattr(keras.saving, "load_model", load_and_record)
    loaded = mmzoo.load(original)
    assert isinstance(seen[0], bytes)  # the inspector saw the bytes that were then loaded
    assert modes == [(0o600, 0o700)]
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)
    assert mmzoo.load(original).output_shape == (None, 5)  # the swap did happen


def test_an_absurdly_large_keras_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    _dense_model(2).save(path)
    monkeypatch.setattr(private_copy, "MAX_KERAS_BYTES", 100)
    with pytest.raises(UnsafeArtifactError, match=f"Refusing to load '{path}': the file is over 100 bytes"):
        mmzoo.load(path)
