"""Training convenience around `model.fit` (resumable, NaN-guarded, deterministic, distributed), and a run's artifacts."""

import contextlib
import functools
import os
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from mmzoo.training.atomic import atomic_directory, atomic_file, atomic_write_json, check_writable, hold_folder
from mmzoo.training.checkpoint import CheckpointError, Checkpoints
from mmzoo.data.pipeline import reshuffles_per_process, set_epoch
from mmzoo.training.distribute import (broadcast_from_chief, check_same_epoch, get_strategy, is_chief, is_multi_worker,
                              worker_task)
from mmzoo.training.distributed_fit import distributed_fit
from mmzoo.artifacts.export import export
from mmzoo.training.placement import check_precision, copy_optimizer_state, copy_state, place
from mmzoo.plots.history import plot_history


def train(model, train_data, validation_data=None, epochs=10, callbacks=None, seed=None,
          early_stopping_patience=None, restore_best=False, verbose="auto", checkpoint_dir=None,
          keep_checkpoints=2, deterministic=None, strategy="auto", precision=None):
    """Fits `model` with mmzoo's guards; returns the Keras `History` (of every epoch, resumed ones too).

    - NaN/Inf: training stops at the first batch whose loss, or whose updated
      weights, are not finite (a NaN input can leave the loss finite on CPU,
      where ReLU maps NaN to 0, yet poison the gradients), and raises a
      `FloatingPointError` naming the epoch and batch; every variable is
      checked again before a checkpoint, none is written for that epoch, and
      with checkpoints the model gets the last good one's weights back.
    - Early stopping: with `early_stopping_patience` and validation data it
      stops when the validation loss has not improved for that many epochs;
      with `restore_best` (or early stopping) it ends with the weights of the
      epoch with the best validation loss (Keras `EarlyStopping` semantics).
    - Checkpoints (`checkpoint_dir`): after every epoch the model, optimizer
      and dropout RNG states are written atomically as `epoch-<k>/` (the
      newest `keep_checkpoints`, plus the best epoch, are kept). Calling
      `train` again with the same model configuration and `checkpoint_dir`
      resumes after the newest checkpoint that loads (a damaged one is
      skipped with a warning), and a different configuration is refused with
      a diff. The guarantee is per epoch: a run killed mid-epoch repeats that
      epoch from its start, and, with `seed` and a dataset shuffled by
      `mmzoo.data` (whose order depends only on seed and epoch), ends with
      weights bit-identical to an uninterrupted run. While `train` runs it
      holds `checkpoint_dir` (`mmzoo.training.atomic.hold_folder`, released by the
      operating system even when the process is killed), so a second run on
      the same folder is refused instead of interleaving checkpoints; a full
      disk while writing a checkpoint raises an `OSError` naming it, and the
      previous checkpoint stays whole.
    - Determinism: with a `seed`, TensorFlow op determinism is on while
      training (`deterministic=None` means "when a seed is given"), so the
      same seed and data give bit-identical weights on CPU.
    - Distribution (`strategy`, see `mmzoo.training.distribute`): the model is
      rebuilt and compiled inside the strategy's scope (unless it was built
      there), every dataset's batch size is the global batch, split across
      the replicas, and the trained weights are copied back into `model`.
      "auto" picks TPU, several GPUs (mirrored) or one device. Under
      "multi_worker" every worker runs `train` with the same arguments:
      training runs in mmzoo's `strategy.run` loop (`model.fit` fails there
      in Keras 3), workers start from the chief's weights, each keeps its
      own checkpoints (non-chief workers in `checkpoint_dir/worker-<id>/`),
      and only the chief prints progress; write artifacts where
      `mmzoo.training.distribute.is_chief()` holds.
    - Mixed precision (`precision`): the model is rebuilt under the policy
      (see `mmzoo.training.placement`), heads and output layers stay float32, and
      `model` gets the trained (float32) weights back.

    Args:
        model: a compiled model.
        train_data: a dataset of `({name: x}, y)` batches.
        validation_data: optional validation dataset.
        epochs: total epochs (a resumed run trains only the missing ones).
        callbacks: extra Keras callbacks.
        seed: if given, seeds Python, NumPy and TensorFlow first.
        early_stopping_patience: epochs without validation improvement to wait.
        restore_best: keep the weights of the best validation epoch.
        verbose: passed to `fit` (Keras's progress bar by default); 0 also
            silences the resume message.
        checkpoint_dir: folder for resumable epoch checkpoints (None: none).
        keep_checkpoints: how many recent checkpoints to keep.
        deterministic: force TensorFlow op determinism on (True) or leave it as is (False).
        strategy: "auto", "one_device", "mirrored", "multi_worker", "tpu" or a
            `tf.distribute.Strategy` (see `mmzoo.training.distribute.get_strategy`).
        precision: "float32", "mixed_float16", "mixed_bfloat16", or None to
            train under the policy the model was built with.

    Returns:
        The `History`; `history.history` covers the epochs of earlier,
        interrupted runs as well.

    Raises:
        FloatingPointError: the loss became NaN or Inf.
        mmzoo.training.checkpoint.CheckpointError: `checkpoint_dir` holds checkpoints of a different configuration.
        mmzoo.training.atomic.FolderInUseError: another process is training into `checkpoint_dir`.
        OSError: `checkpoint_dir` is not writable (raised before the first step), or a checkpoint
            could not be written (e.g. the disk is full; the message names it).
        ValueError: an unknown `strategy` or `precision`, or strategy="tpu" without a TPU.

    Example:
        >>> import tempfile
        >>> from mmzoo.data import from_arrays
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> data = from_arrays({"x": np.ones((8, 2), "float32")}, np.ones(8), batch_size=4)
        >>> data = data.map(lambda features, y: (features["x"], y))
        >>> folder = tempfile.mkdtemp()
        >>> len(train(model, data, epochs=2, seed=0, verbose=0, checkpoint_dir=folder).history["loss"])
        2
        >>> len(train(model, data, epochs=3, seed=0, verbose=0, checkpoint_dir=folder).history["loss"])
        3
    """
    strategy = get_strategy(strategy, model)  # fails fast: an unknown name, or "tpu" without a TPU
    check_precision(precision)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if deterministic is None:
        deterministic = seed is not None
    checkpoint_dir = _own_checkpoint_dir(checkpoint_dir, strategy)
    if checkpoint_dir is not None:  # fails fast, before the model moves or data is read
        check_writable(checkpoint_dir, "checkpoint directory")
    working = place(model, strategy, precision)  # `model` itself unless it must move into a scope or policy
    try:
        with _holding(checkpoint_dir):
            return _train(working, train_data, validation_data, epochs, callbacks, seed, early_stopping_patience,
                          restore_best, verbose, checkpoint_dir, keep_checkpoints, deterministic, strategy)
    finally:
        if working is not model:  # the caller's model gets the trained state, whatever happened
            copy_state(working, model)
            copy_optimizer_state(working, model)


def _own_checkpoint_dir(checkpoint_dir, strategy):
    """The folder this process checkpoints into: `checkpoint_dir`, or a non-chief worker's `<task>-<id>/` in it.

    Every worker keeps its own state, so each holds (locks) its own folder; the chief's is the run's.
    """
    if checkpoint_dir is None or is_chief(strategy):
        return checkpoint_dir
    task_type, task_id = worker_task(strategy)
    return os.path.join(checkpoint_dir, f"{task_type}-{task_id}")


def _holding(checkpoint_dir):
    """Holds `checkpoint_dir` against a second run for the duration of training (nothing without checkpoints)."""
    if checkpoint_dir is None:
        return contextlib.nullcontext()
    return hold_folder(checkpoint_dir, "checkpoint directory")


def _train(model, train_data, validation_data, epochs, callbacks, seed, early_stopping_patience, restore_best,
           verbose, checkpoint_dir, keep_checkpoints, deterministic, strategy):
    multi_worker = is_multi_worker(strategy)
    if multi_worker and not is_chief(strategy):
        verbose = 0
    store, state = None, None
    if checkpoint_dir is not None:
        store = Checkpoints(checkpoint_dir, keep=keep_checkpoints)
        store.check_config(model, settings={"seed": seed})
        state = store.restore(model)
        if reshuffles_per_process(train_data):
            warnings.warn("train_data reshuffles every pass from per-process state, so a resumed run sees a "
                          "different order than an uninterrupted one. Build it with mmzoo.data (shuffle=True "
                          "and a seed) for bit-identical resumes.", stacklevel=3)
    monitor = bool((early_stopping_patience or restore_best) and validation_data is not None)
    guard = _TrainingGuard(store, train_data, state or {}, monitor=monitor,
                           patience=early_stopping_patience or epochs, verbose=verbose)
    initial_epoch = int(state["epoch"]) if state else 0
    if multi_worker:
        check_same_epoch(strategy, initial_epoch)
        optimizer = getattr(model, "optimizer", None)
        broadcast_from_chief(strategy, list(model.variables) + (list(optimizer.variables) if optimizer else []))
    if state and verbose != 0:
        print(f"mmzoo: resuming from {state['path']} ({initial_epoch} of {epochs} epochs done)")
    if state and state.get("stopped"):
        history = keras.callbacks.History()
        history.set_model(model)
    else:
        try:
            fit = functools.partial(distributed_fit, model, strategy=strategy) if multi_worker else model.fit
            with _op_determinism(deterministic):
                history = fit(train_data, validation_data=validation_data, epochs=epochs,
                              initial_epoch=initial_epoch, callbacks=[guard, *(callbacks or [])], verbose=verbose)
        finally:
            set_epoch(train_data, None)  # plain passes over the data count their own epochs again
    if guard.failure is not None:
        restored = store.restore(model) if store is not None else None
        raise FloatingPointError(guard.failure_message(restored))
    best = guard.best_weights()
    if monitor and best is not None:
        if verbose != 0:
            print(f"Restoring model weights from the end of the best epoch: {guard.best_epoch + 1}.")
        model.set_weights(best)
    history.history = {k: list(v) for k, v in guard.history.items()}
    history.epoch = list(range(len(next(iter(guard.history.values()), []))))
    return history


class _TrainingGuard(keras.callbacks.Callback):
    """NaN/Inf stop, best-epoch tracking, epoch-seeded data order and checkpoints, in one callback."""

    def __init__(self, store, train_data, state, monitor, patience, verbose):
        super().__init__()
        self.store, self.train_data, self.monitor, self.patience = store, train_data, monitor, patience
        self.verbose = verbose
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        self.best = state.get("best_value", float("inf"))
        self.best_epoch = state.get("best_epoch")
        self.wait = state.get("wait", 0)
        self._best_weights = None
        self.failure = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        set_epoch(self.train_data, epoch)

    def on_train_begin(self, logs=None):
        trainable = [v.value for v in self.model.trainable_variables]
        self._weights_finite = tf.function(
            lambda: tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in trainable]))

    def on_train_batch_end(self, batch, logs=None):
        if self.failure is not None:
            return
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self._fail(self.epoch, batch, f"the loss became {float(loss)}")
        elif not bool(self._weights_finite()):
            # A NaN input can vanish from the loss (ReLU and max-pooling return 0 for NaN on CPU)
            # and still turn the gradients, hence the weights, into NaN.
            self._fail(self.epoch, batch, f"the weights {self._non_finite(self.model.trainable_variables)} "
                                          f"became NaN/Inf while the loss stayed finite")

    def _fail(self, epoch, batch, what):
        self.failure = (epoch, batch, what)
        self.model.stop_training = True

    @staticmethod
    def _non_finite(variables):
        names = [v.path for v in variables
                 if not np.isfinite(keras.ops.convert_to_numpy(v).astype("float64", copy=False)).all()]
        return ", ".join(names[:3]) + (f" (and {len(names) - 3} more)" if len(names) > 3 else "")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.failure is None and "loss" in logs and not np.isfinite(float(logs["loss"])):
            self._fail(epoch, None, f"the loss became {float(logs['loss'])}")
        if self.failure is None:  # e.g. BatchNormalization statistics poisoned by a NaN input
            floats = [v for v in self.model.variables if "float" in str(v.dtype)]
            bad = self._non_finite(floats)
            if bad:
                self._fail(epoch, None, f"the variables {bad} became NaN/Inf")
        if self.failure is not None:
            return  # no checkpoint and no history for a poisoned epoch
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        stopped = self._track_best(epoch, logs.get("val_loss"))
        if self.store is not None:
            state = {"history": self.history, "best_value": self.best, "best_epoch": self.best_epoch,
                     "wait": self.wait, "stopped": stopped}
            best = None if self.best_epoch is None else self.best_epoch + 1
            self.store.save(self.model, epoch + 1, state, protect=[best])

    def _track_best(self, epoch, current):
        if not self.monitor or current is None:
            return False
        if self.best_epoch is None:
            self.best_epoch, self._best_weights = epoch, self.model.get_weights()
        self.wait += 1
        if current < self.best:
            self.best, self.best_epoch, self.wait = float(current), epoch, 0
            self._best_weights = self.model.get_weights()
            return False
        if self.wait >= self.patience and epoch > 0:
            self.model.stop_training = True
            if self.verbose != 0:
                print(f"Epoch {epoch + 1}: early stopping")
            return True
        return False

    def best_weights(self):
        """The best epoch's weights: kept in memory, or read from its checkpoint after a resume."""
        if self._best_weights is None and self.best_epoch is not None and self.store is not None:
            try:
                self._best_weights = self.store.model_weights(self.model, self.best_epoch + 1)
            except CheckpointError as error:
                warnings.warn(f"Cannot restore the weights of the best epoch ({self.best_epoch + 1}) from "
                              f"{self.store.path(self.best_epoch + 1)}: {error} Keeping the final weights.",
                              stacklevel=3)
        return self._best_weights

    def failure_message(self, restored=None):
        """What stopped being finite and where, and what was kept (`restored`: the reloaded checkpoint state)."""
        epoch, batch, what = self.failure
        where = f"epoch {epoch + 1}" + ("" if batch is None else f", batch {batch + 1}")
        message = f"Training stopped: {what} at {where} (counting from 1)."
        if restored is not None:
            message += (f" The last good checkpoint, {restored['path']} (epoch {restored['epoch']}), "
                        f"is kept and its weights are back in the model.")
        elif self.store is not None:
            message += f" No checkpoint was written yet in {self.store.directory}."
        return message + " Lower the learning rate or check the inputs for NaN/Inf values."


@contextlib.contextmanager
def _op_determinism(enabled):
    """TensorFlow op determinism on inside the block (restored to off after, if it was off)."""
    if not enabled:
        yield
        return
    from tensorflow.python.framework import config as tf_config

    was_on = getattr(tf_config, "is_op_determinism_enabled", lambda: True)()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on and hasattr(tf_config, "disable_op_determinism"):
            tf_config.disable_op_determinism()


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
