"""`MagnitudePruning`: zeroes the smallest weights of every kernel during fit, to a target sparsity on a schedule."""

import keras
import numpy as np
import tensorflow as tf

# Layers whose kernels are pruned, and the names of the kernel variables of each (biases and norms are kept).
PRUNABLE = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Embedding,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
)
KERNEL_NAMES = ("kernel", "embeddings", "depthwise_kernel", "pointwise_kernel")
SCHEDULES = ("polynomial", "constant")


def prunable_kernels(model, layers=None, trainable_only=True):
    """`{variable path: variable}` of the float kernels of the prunable layers in `model`, at any depth.

    Args:
        model: a built Keras model; layers nested in mmzoo's encoders and fusions are reached too.
        layers: None for every prunable layer, or names (a layer's name, or a kernel path prefix
            such as "digit_encoder/proj") of the layers to keep.
        trainable_only: skip kernels of frozen layers.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")], name="m")
        >>> list(prunable_kernels(model))
        ['m/d/kernel']
    """
    found = {}
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not isinstance(layer, PRUNABLE) or layer.quantization_mode:
            continue
        for variable in layer._trainable_variables + layer._non_trainable_variables:
            if variable.name not in KERNEL_NAMES or "float" not in str(variable.dtype):
                continue
            if trainable_only and not variable.trainable:
                continue
            if layers is not None and not any(_named(layer, variable, name) for name in layers):
                continue
            found.setdefault(variable.path, variable)
    if layers is not None and not found:
        raise ValueError(
            f"None of the layers {list(layers)} is a trainable Dense, Conv, EinsumDense or Embedding layer "
            f"of model '{model.name}'; pass names from `list(prunable_kernels(model))`, or layers=None."
        )
    return found


def _named(layer, variable, name):
    return layer.name == name or variable.path.startswith(name.rstrip("/") + "/") or f"/{name}/" in variable.path


def polynomial_sparsity(step, target_sparsity, start_step, end_step, initial_sparsity=0.0, power=3):
    """The sparsity at `step` of the gradual pruning schedule of Zhu & Gupta 2017 ("To prune, or not to prune").

    `s_t = s_f + (s_i - s_f) (1 - (t - t0) / (t_end - t0))^3`: `initial_sparsity`
    before `start_step`, rising fast, then slowly, to `target_sparsity` at `end_step`
    and after.

    Example:
        >>> [round(polynomial_sparsity(t, 0.8, 0, 100), 3) for t in (0, 50, 100, 200)]
        [0.0, 0.7, 0.8, 0.8]
    """
    if step <= start_step:
        return float(initial_sparsity)
    if step >= end_step:
        return float(target_sparsity)
    left = 1.0 - (step - start_step) / (end_step - start_step)
    return float(target_sparsity + (initial_sparsity - target_sparsity) * left**power)


class MagnitudePruning(keras.callbacks.Callback):
    """Magnitude pruning during fit: the smallest kernel weights are zeroed, to a target sparsity on a schedule.

    Implements the gradual pruning of Zhu & Gupta 2017 ("To prune, or not to
    prune"), built on Keras 3 (tensorflow-model-optimization needs tf-keras):
    every `frequency` steps from `start_step` to `end_step`, each kernel of
    each Dense, Conv, EinsumDense and Embedding layer (at any depth: inside
    mmzoo's encoders and fusions too) keeps only its largest-magnitude
    weights, the fraction zeroed rising on the schedule; after every train
    step the masks are applied again, so pruned weights stay zero. The masks
    live in the callback, not in the model: after `fit` the model is a plain
    model whose kernels hold zeros, so `.keras`, SavedModel and TFLite files
    carry nothing of pruning (and compress well with gzip).

    Args:
        target_sparsity: fraction of each kernel's weights zeroed at the end, in [0, 1).
        start_step: train step (counted from this callback's first fit) at which pruning starts.
        end_step: step at which the target is reached; None: the last step of the fit
            (needs a dataset of known length).
        frequency: steps between mask updates; None: a tenth of `end_step - start_step`.
        schedule: "polynomial" (Zhu & Gupta, cubic), "constant" (`target_sparsity` from
            `start_step`), or a function `step -> sparsity`.
        layers: None for every prunable layer, or the names of the layers to prune.
        initial_sparsity: sparsity of the polynomial schedule at `start_step`.

    Example:
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> pruning = MagnitudePruning(target_sparsity=0.5, frequency=1)
        >>> _ = model.fit(np.ones((16, 8)), np.ones((16, 4)), batch_size=4, epochs=2, verbose=0, callbacks=[pruning])
        >>> float(np.mean(model.layers[0].kernel.numpy() == 0))
        0.5
    """

    def __init__(
        self,
        target_sparsity=0.8,
        start_step=0,
        end_step=None,
        frequency=100,
        schedule="polynomial",
        layers=None,
        initial_sparsity=0.0,
    ):
        super().__init__()
        if not 0.0 <= target_sparsity < 1.0:
            raise ValueError(f"target_sparsity must be in [0, 1); received {target_sparsity}.")
        if not (callable(schedule) or schedule in SCHEDULES):
            raise ValueError(
                f"schedule must be one of {', '.join(SCHEDULES)} or a function step -> sparsity; received {schedule!r}."
            )
        if frequency is not None and frequency < 1:
            raise ValueError(f"frequency must be a positive number of steps (or None); received {frequency}.")
        if end_step is not None and end_step <= start_step:
            raise ValueError(f"end_step ({end_step}) must come after start_step ({start_step}).")
        self.target_sparsity = float(target_sparsity)
        self.start_step = int(start_step)
        self.end_step = end_step
        self.frequency = frequency
        self.schedule = schedule
        self.layers = None if layers is None else list(layers)
        self.initial_sparsity = float(initial_sparsity)
        self.step = 0  # train steps seen by this callback, over all its fits
        self.sparsity = 0.0  # sparsity of the current masks
        self.kernels = {}
        self._masks = []
        self._apply = None
        self._origin = None
        self._end = None

    def sparsity_at(self, step):
        """The scheduled sparsity at `step` (after `fit` has started, when `end_step` is None)."""
        if callable(self.schedule):
            return float(self.schedule(step))
        if self.schedule == "constant":
            return self.target_sparsity if step >= self.start_step else 0.0
        return polynomial_sparsity(step, self.target_sparsity, self.start_step, self._end, self.initial_sparsity)

    def on_train_begin(self, logs=None):
        self._end = self.end_step
        if self._end is None:
            steps, epochs = self.params.get("steps"), self.params.get("epochs")
            if not steps:
                raise ValueError(
                    "MagnitudePruning(end_step=None) ends the schedule at the last step of fit, and this "
                    "dataset's length is unknown; pass end_step=, or steps_per_epoch= to fit."
                )
            self._end = max(self.start_step + 1, self.step + steps * epochs)
        if self.frequency is None:
            self._frequency = max(1, (self._end - self.start_step) // 10)
        else:
            self._frequency = int(self.frequency)
        kernels = prunable_kernels(self.model, self.layers)
        if list(kernels) != list(self.kernels):  # first fit (or a new model): fresh masks, none pruned yet
            self.kernels = kernels
            self._masks = [tf.Variable(tf.ones(v.shape, v.dtype), trainable=False) for v in kernels.values()]
            pairs = [(v.value, m) for v, m in zip(kernels.values(), self._masks)]
            self._apply = tf.function(lambda: [v.assign(v * m) for v, m in pairs] and None)
        self._origin = int(self.model.optimizer.iterations) - self.step
        if self.step == 0 and self.sparsity_at(0) > 0:
            self._update(0)

    def on_train_batch_end(self, batch, logs=None):
        self.step = int(self.model.optimizer.iterations) - self._origin
        step, start = self.step, self.start_step
        due = step >= start and (step >= self._end or (step - start) % self._frequency == 0)
        if due and (callable(self.schedule) or self.sparsity < self.sparsity_at(step)):
            self._update(step)
        elif self.sparsity > 0:
            self._apply()

    def _update(self, step):
        """New masks that zero the smallest-magnitude `sparsity_at(step)` of each kernel."""
        self.sparsity = self.sparsity_at(step)
        for variable, mask in zip(self.kernels.values(), self._masks):
            mask.assign(magnitude_mask(keras.ops.convert_to_numpy(variable), self.sparsity))
        self._apply()


def magnitude_mask(weights, sparsity):
    """A 0/1 array shaped like `weights` with exactly `floor(sparsity * size)` zeros, on the smallest `|weights|`.

    Example:
        >>> magnitude_mask(np.array([0.3, -0.1, 0.2, -0.4]), 0.5)
        array([1., 0., 0., 1.], dtype=float32)
    """
    flat = np.abs(np.asarray(weights, "float32")).ravel()
    count = int(np.floor(sparsity * flat.size))
    mask = np.ones(flat.size, "float32")
    if count > 0:
        mask[np.argsort(flat, kind="stable")[:count]] = 0.0
    return mask.reshape(np.shape(weights))
