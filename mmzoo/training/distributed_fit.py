"""`fit` for `MultiWorkerMirroredStrategy`: the model's own `train_step` run with `strategy.run`.

In Keras 3.15 / TensorFlow 2.21, `model.fit` fails under
`MultiWorkerMirroredStrategy` before the first step (keras-team/keras#20585:
Keras's symbolic build and its per-replica log reduction do not handle
multi-worker values). This loop keeps what `fit` gives the user and skips
the parts that fail: the model's `train_step`/`test_step` (so custom steps,
losses, metrics and loss scaling work unchanged) run in `strategy.run` inside
one `tf.function`; the logs are the models' metrics read across all workers
(`get_metrics_result` in cross-replica context); Keras callbacks, the
progress bar and the returned `History` behave as in `fit`.

Every worker runs the same code, so every collective (gradient all-reduce,
metric reads) happens on all of them in the same order.

Example:
    >>> import keras, numpy as np, tensorflow as tf
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> data = tf.data.Dataset.from_tensor_slices((np.ones((8, 2), "float32"), np.ones(8, "float32"))).batch(4)
    >>> history = distributed_fit(model, data, epochs=2, verbose=0, strategy=tf.distribute.get_strategy())
    >>> len(history.history["loss"])
    2
"""

import keras
import tensorflow as tf

from mmzoo.training.distribute import distribute_dataset


def distributed_fit(
    model, train_data, validation_data=None, epochs=1, initial_epoch=0, callbacks=None, verbose="auto", strategy=None
):
    """Trains `model` (built and compiled in `strategy.scope()`) like `model.fit`; returns the `History`.

    Args:
        model: the model, created inside `strategy.scope()` with its optimizer built there.
        train_data: a `tf.data.Dataset` of batches; the batch size is the global batch.
        validation_data: optional dataset, evaluated after every epoch (`val_` logs).
        epochs, initial_epoch, callbacks, verbose: as for `model.fit`.
        strategy: the strategy (default: the model's).

    Returns:
        A `keras.callbacks.History`.

    Raises:
        ValueError: `train_data` or `validation_data` is not a `tf.data.Dataset`.
    """
    strategy = strategy or model.distribute_strategy
    for name, data in (("train_data", train_data), ("validation_data", validation_data)):
        if data is not None and not isinstance(data, tf.data.Dataset):
            raise ValueError(
                f"{name} must be a tf.data.Dataset of batches under a multi-worker strategy; "
                f"received {type(data).__name__}. Build one with mmzoo.data.from_arrays."
            )
    verbose = 1 if verbose == "auto" else verbose
    train_data = _prepared(model, train_data)
    validation_data = _prepared(model, validation_data) if validation_data is not None else None
    steps = int(train_data.cardinality())
    callbacks = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=epochs,
        steps=steps if steps > 0 else None,
    )
    train_batches = distribute_dataset(strategy, train_data)
    validation_batches = distribute_dataset(strategy, validation_data) if validation_data is not None else None
    train_step, test_step = _step(model, strategy, model.train_step), _step(model, strategy, model.test_step)

    model.stop_training = False
    callbacks.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        for step, batch in enumerate(train_batches):
            callbacks.on_train_batch_begin(step)
            logs = train_step(batch)
            callbacks.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        logs = {k: float(v) for k, v in logs.items()}
        if validation_batches is not None and not model.stop_training:
            model.reset_metrics()
            val_logs = {}
            for batch in validation_batches:
                val_logs = test_step(batch)
            logs.update({f"val_{k}": float(v) for k, v in val_logs.items()})
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end(logs)
    return next(c for c in callbacks.callbacks if isinstance(c, keras.callbacks.History))


def _step(model, strategy, step_function):
    """One distributed step: `step_function` on every replica, then the metrics summed over all workers."""

    @tf.function
    def run(batch):
        strategy.run(step_function, args=(batch,))
        return model.get_metrics_result()

    return run


def _prepared(model, data):
    """What the model's own `fit` would feed it (mmzoo models add presence flags and check inputs)."""
    prepare = getattr(model, "_prepare", None)  # mmzoo.MultimodalModel's hook behind fit/evaluate/predict
    return prepare(data) if prepare is not None else data
