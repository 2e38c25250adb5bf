"""Precision by name: "auto", "float32", "mixed_float16", "mixed_bfloat16", and building a model under one.

Mixed precision is Keras's own (`keras.dtype_policies`): a model built under
"mixed_bfloat16" keeps float32 variables and computes in bfloat16. Each
layer's config records its policy, so a `.keras` file reloads under it; the
task heads are built with `dtype="float32"`, so outputs and losses stay
float32 (as do `keras.Input`s, whose default dtype is float32, so exported
signatures take and give float32). Under "mixed_float16", Keras's `compile`
wraps the optimizer in a `LossScaleOptimizer` (the model's own policy decides).

"auto" picks by device: mixed_float16 on a GPU of compute capability 7.0 or
more (tensor cores), mixed_bfloat16 on a TPU, float32 otherwise. Not bfloat16
on a CPU: bfloat16 matmuls are fast there only with AMX / AVX512_BF16, and
TensorFlow's CPU kernels do not use them for every op, so float32 is the
safe choice on a CPU.

Example:
    >>> import keras
    >>> with precision_scope("mixed_bfloat16"):
    ...     layer = keras.layers.Dense(2)
    >>> layer.dtype_policy.name, keras.config.dtype_policy().name
    ('mixed_bfloat16', 'float32')
"""

import contextlib

import keras
import tensorflow as tf

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
CHOICES = ("auto",) + PRECISIONS
MIN_FLOAT16_CAPABILITY = (7, 0)  # Volta: tensor cores run float16 matmuls


def check_precision(precision):
    """`precision` if it is None, "auto" or a known name; a `ValueError` naming it otherwise."""
    if precision is not None and precision not in PRECISIONS and precision != "auto":
        raise ValueError(
            f"precision must be one of {', '.join(repr(p) for p in PRECISIONS)} (or None: keep the "
            f"model's own; or 'auto': chosen by the device); received {precision!r}."
        )
    return precision


def resolve_precision(precision):
    """The dtype policy name `precision` means on this machine ("auto" resolved; None stays None).

    Example:
        >>> resolve_precision("mixed_bfloat16"), resolve_precision(None)
        ('mixed_bfloat16', None)
    """
    check_precision(precision)
    if precision != "auto":
        return precision
    if _on_tpu():
        return "mixed_bfloat16"
    if any(_capability(gpu) >= MIN_FLOAT16_CAPABILITY for gpu in tf.config.list_physical_devices("GPU")):
        return "mixed_float16"
    return "float32"  # a CPU (or an older GPU): see the module docstring


def _on_tpu():
    strategy = tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.TPUStrategy) or bool(tf.config.list_logical_devices("TPU"))


def _capability(gpu):
    details = tf.config.experimental.get_device_details(gpu) or {}
    return tuple(details.get("compute_capability") or (0, 0))


@contextlib.contextmanager
def precision_scope(precision):
    """Layers created inside take the dtype policy `precision` ("auto" resolved; None: unchanged)."""
    precision = resolve_precision(precision)
    if precision is None:
        yield None
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield precision
    finally:
        keras.config.set_dtype_policy(previous)
