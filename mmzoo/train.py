"""Training convenience around `model.fit`, and writing a run's artifacts."""

import json
import os
import time

import keras
import numpy as np

from mmzoo.export import export
from mmzoo.plots import plot_history


def train(model, train_data, validation_data=None, epochs=10, callbacks=None, seed=None,
          early_stopping_patience=None, restore_best=False, verbose="auto"):
    """Fits `model` with mmzoo's default callbacks; returns the Keras `History`.

    Training stops at the first NaN/Inf loss (`keras.callbacks.TerminateOnNaN`);
    with `early_stopping_patience` and validation data, it stops when the
    validation loss stops improving; with `restore_best` (or early stopping)
    it ends with the weights of the epoch with the best validation loss.

    Args:
        model: a compiled model.
        train_data: a dataset of `({name: x}, y)` batches.
        validation_data: optional validation dataset.
        epochs: maximum epochs.
        callbacks: extra Keras callbacks.
        seed: if given, seeds Python, NumPy and TensorFlow first.
        early_stopping_patience: epochs without validation improvement to wait.
        restore_best: keep the weights of the best validation epoch.
        verbose: passed to `fit` (Keras's progress bar by default).
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    cbs = [keras.callbacks.TerminateOnNaN(), *(callbacks or [])]
    if (early_stopping_patience or restore_best) and validation_data is not None:
        cbs.append(keras.callbacks.EarlyStopping(patience=early_stopping_patience or epochs,
                                                 restore_best_weights=True, verbose=1))
    history = model.fit(train_data, validation_data=validation_data, epochs=epochs, callbacks=cbs,
                        verbose=verbose)
    losses = history.history.get("loss", [])
    if losses and not np.isfinite(losses[-1]):
        raise FloatingPointError(
            f"Training stopped: the loss became {losses[-1]} in epoch {len(losses)}. "
            f"Lower the learning rate or check the inputs for NaN/Inf values."
        )
    return history


def save_artifacts(model, output_dir, history=None, metrics=None, config=None):
    """Writes `model.keras`, the `savedmodel/` export, `metrics.json`, `curves.png`, `config.json`.

    Returns:
        Dict of artifact name -> path.
    """
    os.makedirs(output_dir, exist_ok=True)
    paths = {
        "keras": os.path.join(output_dir, "model.keras"),
        "savedmodel": os.path.join(output_dir, "savedmodel"),
        "metrics": os.path.join(output_dir, "metrics.json"),
    }
    model.save(paths["keras"])
    export(model, paths["savedmodel"])
    record = {"metrics": metrics or {}, "params": int(model.count_params()), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if history is not None:
        record["history"] = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        paths["curves"] = os.path.join(output_dir, "curves.png")
        plot_history(history, paths["curves"], title=model.name)
    with open(paths["metrics"], "w") as f:
        json.dump(record, f, indent=2)
    if config is not None:
        paths["config"] = os.path.join(output_dir, "config.json")
        with open(paths["config"], "w") as f:
            json.dump(config, f, indent=2)
    return paths
