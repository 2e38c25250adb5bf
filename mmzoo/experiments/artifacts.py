"""A run's artifacts: the model (`.keras` and SavedModel), its metrics, curves and configuration."""

import os
import time

from mmzoo.artifacts.export import export
from mmzoo.plots.history import plot_history
from mmzoo.training.atomic import atomic_directory, atomic_file, atomic_write_json, check_writable


def save_artifacts(model, output_dir, history=None, metrics=None, config=None):
    """Writes `model.keras`, the `savedmodel/` export, `metrics.json`, `curves.png`, `config.json`.

    Every file (and the SavedModel folder) is written under a temporary name
    and moved into place with `os.replace`, so a crash never leaves a
    half-written artifact; re-running replaces the previous ones.

    Args:
        model: the trained model.
        output_dir: the run folder (created; must be writable).
        history: optional `History` for the curves and `metrics.json`.
        metrics: optional dict stored under "metrics".
        config: optional dict written as `config.json`.

    Returns:
        Dict of artifact name -> path.

    Example:
        >>> import keras, tempfile
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> sorted(save_artifacts(model, tempfile.mkdtemp(), config={"seed": 0}))
        ['config', 'keras', 'metrics', 'savedmodel']
    """
    check_writable(output_dir, "output directory")
    paths = {
        "keras": os.path.join(output_dir, "model.keras"),
        "savedmodel": os.path.join(output_dir, "savedmodel"),
        "metrics": os.path.join(output_dir, "metrics.json"),
    }
    with atomic_file(paths["keras"]) as tmp:
        model.save(tmp)
    with atomic_directory(paths["savedmodel"]) as tmp:
        export(model, tmp)
    record = {"metrics": metrics or {}, "params": int(model.count_params()), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if history is not None:
        record["history"] = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        paths["curves"] = os.path.join(output_dir, "curves.png")
        with atomic_file(paths["curves"]) as tmp:
            plot_history(history, tmp, title=model.name)
    atomic_write_json(paths["metrics"], record)
    if config is not None:
        paths["config"] = os.path.join(output_dir, "config.json")
        atomic_write_json(paths["config"], config)
    return paths
