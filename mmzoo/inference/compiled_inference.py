"""Which inference-only kernels the layer being traced may use (mmzoo's compiled predict path).

`mmzoo.inference.fast_predict` traces the model's forward pass inside
`compiled_inference()`. Encoders ask `active(kernel)` before swapping in a
kernel that Keras's own graph never contains:

- `"fused_lstm"`: one fused LSTM op for small batches (`mmzoo.inference.fused_lstm`);
- `"fold_batchnorm"`: BatchNormalization folded into the preceding
  convolution (`mmzoo.encoders.fused_batchnorm.conv_bn`).

Outside that block (training, `model(x)`, Keras's `predict`, `.keras` files
and every export) the layers run their Keras code unchanged.

Example:
    >>> with compiled_inference(fused_lstm=False):
    ...     active("fold_batchnorm"), active("fused_lstm")
    (True, False)
    >>> active("fold_batchnorm")
    False
"""

import contextlib
import threading

KERNELS = ("fused_lstm", "fold_batchnorm")
_STATE = threading.local()


@contextlib.contextmanager
def compiled_inference(**kernels):
    """Within this block, encoders traced for inference may use the kernels in `KERNELS` (all unless set False)."""
    unknown = sorted(set(kernels) - set(KERNELS))
    if unknown:
        raise ValueError(f"compiled_inference: unknown kernel(s) {', '.join(unknown)}; known: {', '.join(KERNELS)}.")
    previous = getattr(_STATE, "kernels", frozenset())
    _STATE.kernels = frozenset(k for k in KERNELS if kernels.get(k, True))
    try:
        yield
    finally:
        _STATE.kernels = previous


def active(kernel):
    """True inside `compiled_inference()` when `kernel` (one of `KERNELS`) is on, in this thread."""
    if kernel not in KERNELS:
        raise ValueError(f"Unknown inference kernel {kernel!r}; known: {', '.join(KERNELS)}.")
    return kernel in getattr(_STATE, "kernels", frozenset())
