"""`mmzoo.train`: `model.fit` with mmzoo's callbacks composed (NaN stop, best weights, checkpoints, data order).

The callbacks live in `mmzoo.training.callbacks` and work with a plain
`model.fit` too; this module adds what spans them: resuming, determinism,
distribution strategies, mixed precision and the error raised on NaN/Inf.
Writing a run's artifacts belongs to the experiment runner
(`mmzoo.experiments.artifacts.save_artifacts`).
"""

import contextlib
import dataclasses
import functools
import os
import warnings

import keras
import tensorflow as tf

from mmzoo.data.order import data_order
from mmzoo.data.pipeline import reshuffles_per_process
from mmzoo.training.atomic import check_writable, hold_folder
from mmzoo.training.callbacks import BestWeights, CheckpointWriter, EpochDataOrder, NaNStop
from mmzoo.training.distribute import (
    broadcast_from_chief,
    check_same_epoch,
    get_strategy,
    is_chief,
    is_multi_worker,
    worker_task,
)
from mmzoo.training.distributed_fit import distributed_fit
from mmzoo.training.placement import copy_optimizer_state, copy_state, place
from mmzoo.training.precision import check_precision


def train(
    model,
    train_data,
    validation_data=None,
    epochs=10,
    callbacks=None,
    seed=None,
    early_stopping_patience=None,
    restore_best=False,
    verbose="auto",
    checkpoint_dir=None,
    keep_checkpoints=2,
    deterministic=None,
    strategy="auto",
    precision=None,
):
    """Fits `model` with mmzoo's guards; returns the Keras `History` (of every epoch, resumed ones too).

    The guards are the callbacks of `mmzoo.training.callbacks` (`NaNStop`,
    `BestWeights`, `CheckpointWriter`, `EpochDataOrder`), listed before
    `callbacks`; each also works on its own with `model.fit`.

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
        precision: "float32", "mixed_float16", "mixed_bfloat16", "auto" (by
            device: `mmzoo.training.precision.resolve_precision`), or None to
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
        >>> import numpy as np
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
            return _fit(
                working,
                train_data,
                validation_data,
                _Settings(
                    epochs=epochs,
                    callbacks=list(callbacks or []),
                    seed=seed,
                    patience=early_stopping_patience,
                    restore_best=restore_best,
                    verbose=verbose,
                    checkpoint_dir=checkpoint_dir,
                    keep_checkpoints=keep_checkpoints,
                    deterministic=deterministic,
                    strategy=strategy,
                ),
            )
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


@dataclasses.dataclass(frozen=True)
class _Settings:
    """`train`'s arguments past the model and data, once checked (see `train`)."""

    epochs: int
    callbacks: list
    seed: object
    patience: object
    restore_best: bool
    verbose: object
    checkpoint_dir: object
    keep_checkpoints: int
    deterministic: bool
    strategy: object


def _fit(model, train_data, validation_data, settings):
    """Composes the callbacks, resumes, fits and raises on NaN/Inf; returns the `History` of every epoch."""
    multi_worker = is_multi_worker(settings.strategy)
    verbose = 0 if multi_worker and not is_chief(settings.strategy) else settings.verbose
    nan_stop = NaNStop()
    best = None
    if (settings.patience or settings.restore_best) and validation_data is not None:
        best = BestWeights("val_loss", patience=settings.patience or settings.epochs, restore=False, verbose=verbose)
    writer = _checkpoint_writer(model, train_data, settings, best)
    initial_epoch = writer.restore(model) if writer is not None else 0
    if multi_worker:
        check_same_epoch(settings.strategy, initial_epoch)
        optimizer = getattr(model, "optimizer", None)
        broadcast_from_chief(
            settings.strategy, list(model.variables) + (list(optimizer.variables) if optimizer else [])
        )
    if writer is not None and writer.restored and verbose != 0:
        print(f"mmzoo: resuming from {writer.restored['path']} ({initial_epoch} of {settings.epochs} epochs done)")
    order = _data_order(train_data)
    own = [c for c in (order, nan_stop, best, writer) if c is not None]
    if writer is not None and writer.stopped:
        history = keras.callbacks.History()
        for callback in (history, *own):
            callback.set_model(model)
    else:
        try:
            fit = functools.partial(distributed_fit, model, strategy=settings.strategy) if multi_worker else model.fit
            with _op_determinism(settings.deterministic):
                history = fit(
                    train_data,
                    validation_data=validation_data,
                    epochs=settings.epochs,
                    initial_epoch=initial_epoch,
                    callbacks=own + settings.callbacks,
                    verbose=verbose,
                )
        finally:
            if order is not None:
                order.reset()  # plain passes over the data count their own epochs again
    if nan_stop.failure is not None:
        raise FloatingPointError(_failure_message(nan_stop.failure, writer, model))
    if best is not None:
        best.restore_best()
    if writer is not None:  # the epochs of earlier, interrupted runs too
        history.history = {k: list(v) for k, v in writer.history.items()}
        history.epoch = list(range(len(next(iter(writer.history.values()), []))))
    return history


def _checkpoint_writer(model, train_data, settings, best):
    """The `CheckpointWriter` for `settings.checkpoint_dir` (None without one), its configuration checked."""
    if settings.checkpoint_dir is None:
        return None
    writer = CheckpointWriter(settings.checkpoint_dir, keep=settings.keep_checkpoints, best=best)
    writer.store.check_config(model, settings={"seed": settings.seed})
    if reshuffles_per_process(train_data):
        warnings.warn(
            "train_data reshuffles every pass from per-process state, so a resumed run sees a "
            "different order than an uninterrupted one. Build it with mmzoo.data (shuffle=True "
            "and a seed) for bit-identical resumes.",
            stacklevel=4,
        )
    return writer


def _data_order(train_data):
    """`EpochDataOrder` for an epoch-seeded mmzoo dataset; None for any other."""
    order = data_order(train_data)
    return EpochDataOrder(train_data) if order is not None and order.epoch_variables else None


def _failure_message(failure, writer, model):
    """What stopped being finite and where, and what was kept (the last good checkpoint goes back into `model`)."""
    message = f"Training stopped: {failure}."
    restored = writer.store.restore(model) if writer is not None else None
    if restored is not None:
        message += (
            f" The last good checkpoint, {restored['path']} (epoch {restored['epoch']}), "
            f"is kept and its weights are back in the model."
        )
    elif writer is not None:
        message += f" No checkpoint was written yet in {writer.store.directory}."
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
