"""A compiled inference path: one `tf.function` with a fixed input signature per model.

`keras.Model.predict` builds a data adapter, an iterator, callbacks and a
progress bar on every call. That costs milliseconds, which dominates the
latency of a batch of one (the benchmarks' batch-1 latency measures it).
`FastPredictor` traces the model's
forward pass once, with a signature taken from `model.inputs` (batch
dimension left free, so no batch size ever retraces), and calls it directly.
In that trace (`mmzoo.inference.compiled_inference`), batches of up to 32 run
mmzoo's recurrent encoders through a fused LSTM kernel
(`mmzoo.inference.fused_lstm`), and each convolution followed by
BatchNormalization runs as one convolution with the normalisation folded into
its kernel and bias (`mmzoo.encoders.fused_batchnorm.conv_bn`).
`MultimodalModel.predict` uses it for dicts of arrays or tensors; datasets,
callbacks and `steps` still go through Keras's `predict`.
"""

import weakref

import numpy as np
import tensorflow as tf

from mmzoo.inference.compiled_inference import compiled_inference
from mmzoo.models.input_checks import check_batch_sizes, check_keys, optional_presence

_PREDICTORS = weakref.WeakKeyDictionary()


def _input_name(tensor):
    return tensor.name.split(":")[0]


class FastPredictor:
    """`model(x, training=False)` compiled once for any batch size; returns NumPy like `predict`.

    Inputs are taken by name: an unknown or missing key, or inputs of
    different batch sizes, is a `ValueError` naming them (absent presence
    masks count as all present).

    Args:
        model: a functional Keras model (usually a `mmzoo.MultimodalModel`)
            whose inputs are named `keras.Input`s.
        jit_compile: compile with XLA; None follows `model.jit_compile`
            (Keras resolves "auto" to False on CPU-only machines and for
            models with string ops, True on GPUs).
        weak: hold the model through a weak reference (the cache does).
        fused_lstm: let small batches use the fused LSTM kernel (never under XLA).
        fold_batchnorm: fold inference BatchNormalization into the preceding
            convolution.

    Example:
        >>> import numpy as np, mmzoo
        >>> model = mmzoo.build_model("early_fusion", [mmzoo.Image("a", shape=(8, 8, 1)),
        ...     mmzoo.Audio("b", sample_rate=4000, seconds=0.25)], mmzoo.Classification(3))
        >>> x = {"a": np.zeros((2, 8, 8, 1), "uint8"), "b": np.zeros((2, 1000), "float32")}
        >>> FastPredictor(model)(x).shape
        (2, 3)
    """

    def __init__(self, model, jit_compile=None, weak=False, fused_lstm=True, fold_batchnorm=True):
        # The cache in `fast_predictor` holds the model weakly, so a cached predictor never keeps it alive.
        self._model = weakref.ref(model) if weak else (lambda: model)
        self.signature = {
            _input_name(t): tf.TensorSpec((None,) + tuple(t.shape[1:]), tf.as_dtype(t.dtype), name=_input_name(t))
            for t in model.inputs
        }
        if jit_compile is None:
            jit_compile = bool(getattr(model, "jit_compile", False))
        self.jit_compile = jit_compile
        fused_lstm = fused_lstm and not jit_compile  # XLA has no kernel for the fused op, and loops fine itself

        model_ref = self._model
        structure = model.input

        def forward(x):
            if isinstance(structure, dict):
                args = x
            elif isinstance(structure, (list, tuple)):
                args = [x[_input_name(t)] for t in structure]
            else:
                args = x[_input_name(structure)]
            with compiled_inference(fused_lstm=fused_lstm, fold_batchnorm=fold_batchnorm):
                return model_ref()(args, training=False)

        self._forward = tf.function(
            forward, input_signature=[self.signature], jit_compile=jit_compile, reduce_retracing=True
        )
        self._concrete = None
        self._optional = optional_presence(self.signature)

    @property
    def model(self):
        return self._model()

    def check_keys(self, x):
        """Raises a `ValueError` naming unknown or missing keys of `x`: inputs are matched by name only.

        Presence masks (`<input>_present`) may be left out; they then count as all present.
        """
        if x.keys() != self.signature.keys():
            check_keys(f"Model '{self.model.name}'", self.signature, x, optional=self._optional)

    def convert(self, x):
        """`x` (dict of arrays, lists or tensors) as tensors of the signature's dtypes."""
        self.check_keys(x)
        out = {}
        for name, spec in self.signature.items():
            if name not in x:  # an optional presence mask: every example present
                out[name] = None
                continue
            value = x[name]
            if spec.dtype == tf.string:
                value = tf.constant(np.asarray(value, dtype=object)) if not tf.is_tensor(value) else value
            else:
                value = tf.convert_to_tensor(value)
                if value.dtype != spec.dtype:
                    value = tf.cast(value, spec.dtype)
            out[name] = value
        absent = [name for name, value in out.items() if value is None]
        if absent:
            batch = tf.shape(next(v for v in out.values() if v is not None))[:1]
            out.update({name: tf.ones(batch, self.signature[name].dtype) for name in absent})
        return out

    def _run(self, x):
        # The signature is fixed, so there is one concrete function: calling it directly skips the
        # tf.function's dispatch (about 1 ms of a ~5 ms batch-1 call on a 2-core CPU).
        if self._concrete is None:
            self._concrete = self._forward.get_concrete_function()
        return tf.nest.map_structure(lambda t: t.numpy(), self._concrete(x))

    def __call__(self, x, batch_size=None):
        """Predicts on `x` in chunks of `batch_size` (all at once when None); NumPy outputs."""
        x = self.convert(x)
        check_batch_sizes(self.model.name, x)
        n = int(next(iter(x.values())).shape[0])  # eager tensors: a static shape, no op
        size = n if not batch_size else int(batch_size)
        if n == 0:
            raise ValueError(f"Model '{self.model.name}' received an empty batch to predict on.")
        if n <= size:  # one chunk: no slicing (each slice is an eager op per input)
            return self._run(x)
        chunks = [self._run({k: v[i : i + size] for k, v in x.items()}) for i in range(0, n, size)]
        return tf.nest.map_structure(lambda *parts: np.concatenate(parts, axis=0), *chunks)


def fast_predictor(model):
    """The model's cached `FastPredictor` (built on first use, kept while the model lives)."""
    predictor = _PREDICTORS.get(model)
    if predictor is None:
        predictor = _PREDICTORS[model] = FastPredictor(model, weak=True)
    return predictor


def can_fast_predict(model, x, steps=None, callbacks=None):
    """True when `predict(x)` can take the compiled path: a dict naming every input, no steps or callbacks."""
    if steps is not None or callbacks or not isinstance(x, dict):
        return False
    names = {_input_name(t) for t in model.inputs}
    if set(x) != names:
        return False
    lengths = set()
    for value in x.values():
        if not (isinstance(value, (np.ndarray, list)) or tf.is_tensor(value)):
            return False
        shape = getattr(value, "shape", None)
        lengths.add(len(value) if shape is None else (shape[0] if len(shape) else None))
    return len(lengths) == 1 and None not in lengths
