"""Magnitude pruning of a trained model by fine-tuning (`prune`), how sparse a model is (`sparsity`), gzip sizes.

Pruning zeroes weights and stores them as zeros: the `.keras`, SavedModel and
TFLite files keep their dense size, and shrink once compressed, so
`gzip_size` is the size to compare. The fine-tuning is
`mmzoo.training.callbacks.MagnitudePruning` (Zhu & Gupta 2017); `prune` runs
it on a copy of the model. `benchmarks/pruning.py` measures accuracy against
sparsity on AV-MNIST.
"""

import gzip
import os
import shutil
import tempfile
import warnings

import keras
import numpy as np

from mmzoo.training.callbacks.pruning import MagnitudePruning, prunable_kernels


def sparsity(model, layers=None):
    """The fraction of zero weights in each prunable kernel of `model` (Dense, Conv, EinsumDense, Embedding).

    Args:
        model: a Keras model; kernels nested in encoders and fusions count too, frozen ones included.
        layers: None for every prunable layer, or the names of the layers to count.

    Returns:
        `{"overall": zeros / weights over all those kernels, "layers": {kernel path: fraction}}`.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="d")], name="m")
        >>> _ = model.layers[0].kernel.assign([[0.0, 1.0], [0.0, 0.0]])
        >>> sparsity(model)
        {'overall': 0.75, 'layers': {'m/d/kernel': 0.75}}
    """
    kernels = prunable_kernels(model, layers, trainable_only=False)
    counts = {
        path: (int(np.sum(keras.ops.convert_to_numpy(v) == 0)), int(np.prod(v.shape))) for path, v in kernels.items()
    }
    total = sum(size for _, size in counts.values())
    zeros = sum(zero for zero, _ in counts.values())
    return {
        "overall": zeros / total if total else 0.0,
        "layers": {path: zero / size if size else 0.0 for path, (zero, size) in counts.items()},
    }


def prune(model, data, target_sparsity=0.8, epochs=2, y=None, **options):
    """Fine-tunes a copy of `model` with magnitude pruning to `target_sparsity`; `model` is untouched.

    The sparsity of every prunable kernel rises on the polynomial schedule of
    Zhu & Gupta 2017 over the `epochs` of fine-tuning, reaching the target at
    the last step. The copy is a plain Keras model whose kernels hold zeros.

    Args:
        model: a compiled, built Keras model (e.g. a trained `mmzoo.MultimodalModel`).
        data: what `model.fit` takes first: a `tf.data.Dataset` of `(inputs, labels)`, or inputs with `y=`.
        target_sparsity: fraction of each kernel zeroed at the end.
        epochs: epochs of fine-tuning.
        y: labels, when `data` holds inputs only.
        **options: `MagnitudePruning` options (`start_step`, `end_step`, `frequency` (default a tenth
            of the schedule), `schedule`, `layers`), and `model.fit` options (`batch_size`, `callbacks`,
            `validation_data`, `verbose` (default 0), ...).

    Returns:
        `(pruned_model, report)`, `report` what `sparsity(pruned_model)` returns.

    Example:
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> pruned, report = prune(model, np.ones((32, 8)), 0.5, epochs=1, y=np.ones((32, 4)), batch_size=8)
        >>> report["overall"]
        0.5
    """
    from mmzoo.analysis.compression import _clone

    if not getattr(model, "compiled", False):
        raise ValueError(
            f"prune fine-tunes model '{model.name}' with its own loss and optimizer, and it is not compiled; "
            f"call model.compile(...) first."
        )
    names = ("start_step", "end_step", "frequency", "schedule", "layers", "initial_sparsity")
    pruning = {name: options.pop(name) for name in names if name in options}
    pruning.setdefault("frequency", None)
    callback = MagnitudePruning(target_sparsity, **pruning)
    pruned = _clone(model)
    pruned.compile_from_config(model.get_compile_config())
    options.setdefault("verbose", 0)
    options["callbacks"] = [*options.get("callbacks", []), callback]
    pruned.fit(data, y, epochs=epochs, **options)
    return pruned, sparsity(pruned)


def gzip_size(path):
    """Size in bytes of a file, a folder (its files one after another) or a model, once gzip-compressed (level 9).

    Pruned weights are stored as zeros, so the compressed size is what pruning saves.
    A Keras model is measured as its `.keras` file without the optimizer's state
    (as `mmzoo.compression.model_size_bytes` does): Adam's moments of pruned
    weights are not zero.

    Example:
        >>> folder = tempfile.mkdtemp()
        >>> np.save(os.path.join(folder, "zeros.npy"), np.zeros(10_000, "float32"))
        >>> gzip_size(os.path.join(folder, "zeros.npy")) < 1_000
        True
    """
    if isinstance(path, keras.Model):
        return _model_gzip_size(path)
    path = os.fspath(path)
    if os.path.isdir(path):
        files = sorted(os.path.join(root, name) for root, _, names in os.walk(path) for name in names)
    elif os.path.isfile(path):
        files = [path]
    else:
        raise FileNotFoundError(f"gzip_size: no file or folder at '{path}'.")
    with tempfile.TemporaryFile() as out:
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as zipped:
            for name in files:
                with open(name, "rb") as source:
                    shutil.copyfileobj(source, zipped)
        return out.tell()


def _model_gzip_size(model):
    from mmzoo.analysis.compression import _clone

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        bare = _clone(model) if getattr(model, "optimizer", None) is not None and model.optimizer.variables else model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bare.save(path)
        return gzip_size(path)
