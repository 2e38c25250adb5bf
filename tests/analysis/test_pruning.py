"""Magnitude pruning (`MagnitudePruning`, `mmzoo.compression.prune`/`sparsity`/`gzip_size`) on a small learnable task."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

import mmzoo
from mmzoo.analysis.compression import gzip_size, model_size_bytes, prune, sparsity
from mmzoo.training.callbacks import MagnitudePruning
from mmzoo.training.callbacks.pruning import magnitude_mask, polynomial_sparsity, prunable_kernels

TARGET = 0.8


def _data(n, seed):
    x = np.random.default_rng(seed).normal(size=(n, 16)).astype("float32")
    return {"x": x}, np.argmax(x[:, :3], -1)  # 3 classes: which of the first 3 features is largest


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(0)
    spec = mmzoo.Features("x", shape=(16,), normalize=False)
    dense = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(3), head_units=(32,), learning_rate=1e-2)
    x, y = _data(1024, 0)
    dense.fit(x, y, epochs=4, batch_size=64, verbose=0)
    pruned, report = prune(dense, x, TARGET, epochs=3, y=y, batch_size=64)
    return dense, pruned, report, _data(512, 1)


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, verbose=0), -1) == y))


def test_polynomial_schedule_follows_zhu_and_gupta():
    start, end, final, initial = 10, 110, 0.8, 0.1
    for t in range(0, 130, 7):
        expected = final + (initial - final) * (1 - (min(max(t, start), end) - start) / (end - start)) ** 3
        assert polynomial_sparsity(t, final, start, end, initial) == pytest.approx(expected)
    callback = MagnitudePruning(0.5, start_step=5, end_step=10, schedule="constant")
    assert [callback.sparsity_at(t) for t in (4, 5, 50)] == [0.0, 0.5, 0.5]
    assert magnitude_mask(np.array([[0.3, -0.1], [0.2, -0.4]]), 0.5).tolist() == [[1, 0], [0, 1]]


def test_every_kernel_nested_ones_too_reaches_the_target_and_the_model_still_learns(models):
    dense, pruned, report, (x, y) = models
    paths = list(report["layers"])
    assert "x_encoder/dense0/kernel" in paths and "head_logits/kernel" in paths
    for path, variable in prunable_kernels(pruned).items():
        size = int(np.prod(variable.shape))
        assert report["layers"][path] >= np.floor(TARGET * size) / size, path
    assert report["overall"] >= TARGET - 0.01
    assert sparsity(dense)["overall"] < 0.01  # the model given to prune is untouched
    assert _accuracy(pruned, x, y) > 0.6, "the pruned model no longer separates the classes (chance is 1/3)"


def test_pruned_weights_stay_zero_between_mask_updates():
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    pruning = MagnitudePruning(0.5, end_step=4, frequency=2)
    model.fit(np.ones((64, 4, 4, 1)), np.ones((64, 2)), batch_size=4, epochs=1, verbose=0, callbacks=[pruning])
    assert pruning.step == 16 and pruning.sparsity == 0.5
    assert sorted(sparsity(model)["layers"].values()) == [0.5, 0.5]
    only = MagnitudePruning(0.5, end_step=1, layers=[model.layers[0].name])
    assert list(prunable_kernels(model, only.layers)) == [model.layers[0].kernel.path]
    with pytest.raises(ValueError, match="prunable_kernels"):
        prunable_kernels(model, ["no_such_layer"])


def test_pruned_keras_file_reloads_identically_without_extra_variables_and_gzips_smaller(models, tmp_path):
    dense, pruned, _, (x, _) = models
    dense.save(tmp_path / "dense.keras")
    pruned.save(tmp_path / "pruned.keras")
    reloaded = mmzoo.load(str(tmp_path / "pruned.keras"))
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), pruned.predict(x, verbose=0))
    assert len(pruned.weights) == len(dense.weights) == len(reloaded.weights)
    assert [v.path for v in reloaded.weights] == [v.path for v in dense.weights]
    assert sparsity(reloaded) == sparsity(pruned)
    # zeros are stored as zeros: same file size, much smaller once gzipped (without the optimizer's state)
    assert model_size_bytes(pruned) == model_size_bytes(dense)
    assert gzip_size(pruned) < 0.5 * gzip_size(dense)


def test_savedmodel_of_the_pruned_model_holds_the_same_variables_and_no_pruning_ops(models, tmp_path):
    dense, pruned, _, _ = models
    folders = {}
    for name, model in (("dense", dense), ("pruned", pruned)):
        folders[name] = str(tmp_path / name)
        mmzoo.export(model, folders[name])
    loaded = {name: tf.saved_model.load(folder) for name, folder in folders.items()}
    shapes = {name: sorted(tuple(v.shape) for v in m.variables) for name, m in loaded.items()}
    assert shapes["pruned"] == shapes["dense"]
    assert _op_types(folders["pruned"]) == _op_types(folders["dense"])  # the same program, only the values differ


def _op_types(folder):
    graph = saved_model_pb2.SavedModel.FromString(open(os.path.join(folder, "saved_model.pb"), "rb").read())
    graph = graph.meta_graphs[0].graph_def
    return sorted({node.op for node in graph.node} | {n.op for f in graph.library.function for n in f.node_def})
