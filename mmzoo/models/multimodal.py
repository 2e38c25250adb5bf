"""MultimodalModel: a functional Keras model that knows its input specs and task."""

import keras
import numpy as np
import tensorflow as tf

from mmzoo.augmentation.batch import batch_plan, mix_batch
from mmzoo.inference.fast_predict import can_fast_predict, fast_predictor
from mmzoo.models import generation
from mmzoo.models.input_checks import check_batch_sizes, check_finite, check_keys, optional_presence, utf8_strings
from mmzoo.models.quantized_layers import quantized_entries, restore_quantization
from mmzoo.specs import spec_from_config
from mmzoo.specs.presence import PRESENT_SUFFIX
from mmzoo.tasks.task import task_from_config


def _kind(dtype):
    dtype = str(getattr(dtype, "name", dtype))
    if dtype == "string" or dtype == "object":
        return "string"
    if dtype.startswith(("int", "uint")):
        return "int"
    if dtype.startswith(("float", "bfloat")):
        return "float"
    return dtype


@keras.saving.register_keras_serializable(package="mmzoo")
class MultimodalModel(keras.Model):
    """A functional model whose config also carries its input specs and task.

    Built by `mmzoo.build_model`; saved and reloaded like any functional
    model (`model.save`, `keras.saving.load_model`). It checks inputs before
    running, so an unknown or missing key, a wrong rank, shape or dtype,
    different batch sizes and (in `predict`) NaN/Inf values or non-UTF-8
    text are a `ValueError` naming the input, what it expects and what it
    received. Inputs are matched by name, never by position. It knows what
    `mmzoo.export` and `python -m mmzoo predict` need (raw-input specs, class
    names).

    Args:
        inputs, outputs, name: as for a functional `keras.Model`.
        specs: list of spec configs (`Spec.get_config()`), one per input.
        task: the task config (`Task.get_config()`).
        quantized: the quantized layers (`mmzoo.models.quantized_layers`), so
            that layers nested in custom layers reload quantized; written by
            `get_config`, absent for a float model.
        dtype: the dtype policy the model was built under, when not float32
            (`build_model(..., precision=...)`); written by `get_config`, so a
            reloaded "mixed_float16" model compiles with loss scaling again
            (a functional model does not record its own policy).
    """

    def __init__(self, *args, specs=None, task=None, quantized=None, dtype=None, **kwargs):
        super().__init__(*args, **kwargs)
        if dtype is not None:
            self.dtype_policy = dtype
        self.spec_configs = [dict(s) for s in (specs or [])]
        self.task_config = dict(task) if task else None
        restore_quantization(self, quantized or [])

    @property
    def specs(self):
        return [spec_from_config(c) for c in self.spec_configs]

    @property
    def task(self):
        return task_from_config(self.task_config) if self.task_config else None

    def get_config(self):
        config = {**super().get_config(), "specs": self.spec_configs, "task": self.task_config}
        if self.dtype_policy.name != "float32" and self.dtype_policy.quantization_mode is None:
            config["dtype"] = keras.dtype_policies.serialize(self.dtype_policy)
        quantized = quantized_entries(self)
        return {**config, "quantized": quantized} if quantized else config

    @tf.autograph.experimental.do_not_convert  # converting it would cache (and keep alive) the model
    def __call__(self, inputs, *args, **kwargs):
        """Checks the keys of a dict (Keras's own check would speak first) and fills absent presence masks."""
        if isinstance(inputs, dict):
            self._check_keys(inputs)
            if not any(isinstance(v, keras.KerasTensor) for v in inputs.values()):
                inputs = _with_presence_tensors(inputs, self._presence_inputs())
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        self.check_inputs(inputs)
        return super().call(inputs, training=training, mask=mask)

    def _prepare(self, x):
        """Checks `x` (dict of arrays or a dataset) up front; NumPy unicode -> object arrays.

        Keras traces with relaxed shapes after the first call, so shape checks
        belong here, before tracing, as well as in `call`.
        """
        absent = self._presence_inputs()
        if isinstance(x, tf.data.Dataset):
            element = x.element_spec
            features = element[0] if isinstance(element, tuple) else element
            if isinstance(features, dict):
                self._check_keys(features)  # from the element spec: before training reads a batch
            missing = [k for k in absent if isinstance(features, dict) and k not in features]
            if missing:
                x = x.map(lambda *e: _with_presence(e, missing), num_parallel_calls=tf.data.AUTOTUNE)
                element = x.element_spec
            self.check_inputs(element[0] if isinstance(element, tuple) else element)
            return x
        if isinstance(x, dict):
            self._check_keys(x)
            check_batch_sizes(self.name, x)
            missing = [k for k in absent if k not in x]
            if missing:
                n = len(next(iter(x.values())))
                x = {**{k: np.ones((n,), bool) for k in missing}, **x}
            x = {k: self._as_strings(k, v) if isinstance(v, (np.ndarray, list)) else v for k, v in x.items()}
            self.check_inputs(x)
        return x

    def _as_strings(self, name, value):
        """NumPy unicode, byte-string or object arrays as object arrays of `str` (what Keras's predict takes).

        Bytes must be UTF-8 and strings encodable to it: otherwise a `ValueError` names the input.
        """
        array = np.asarray(value)
        if array.dtype.kind in "US" or (array.dtype == object and array.size and not _all_utf8_str(array)):
            return utf8_strings(self._input_label, name, array)
        return value

    def _input_label(self, name):
        """How messages name an input: "Audio input 'voice'" (its spec's modality) or "Model input 'x'"."""
        for config in self.spec_configs:
            if config["name"] == name:
                return f"{config.get('modality', 'model').capitalize()} input '{name}'"
        return f"Model input '{name}'"

    def _check_keys(self, inputs):
        names = [t.name.split(":")[0] for t in self.inputs]
        check_keys(f"Model '{self.name}'", names, inputs, optional=optional_presence(names))

    def _targets(self, x, y, y_pred):
        if generation.is_generation(self):
            return generation.target_ids(self, x)
        if y is None and self.task_config:
            return self.task.default_targets(y_pred)
        return y

    def train_step(self, data):
        """Keras's step; with MixUp/CutMix declared (`augment=` of a spec), on the mixed batch.

        The loss is then `λ·loss(y) + (1-λ)·loss(y_partner)` per example
        (`mmzoo.augmentation.batch`); the metrics compare with `y`.
        """
        plan = batch_plan(self.specs)
        if plan is None:
            return super().train_step(data)
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError(f"Model '{self.name}': {plan[0].mode} mixes labels, but the data has none.")
        x, partner, lam = mix_batch(x, plan[0], plan[1], self.optimizer.iterations)
        self._mixing = (partner, lam)
        try:
            return super().train_step(keras.utils.pack_x_y_sample_weight(x, y, sample_weight))
        finally:
            self._mixing = None

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras's loss, with self-supervised targets when the data has none (retrieval, text generation); mixed in a MixUp step."""
        y = self._targets(x, y, y_pred)
        mixing = getattr(self, "_mixing", None)
        if mixing is None or not training:
            return super().compute_loss(x, y, y_pred, sample_weight, training)
        partner, lam = mixing
        weight = 1.0 if sample_weight is None else sample_weight
        other = tf.nest.map_structure(lambda t: tf.gather(t, partner), y)
        mine = super().compute_loss(x, y, y_pred, weight * lam, training)
        theirs = super().compute_loss(x, other, y_pred, weight * (1.0 - lam), training)
        # each call adds the model's own losses (regularizers) once: take them out of the second
        extra = super().compute_loss(x, other, y_pred, tf.zeros_like(lam), training)
        return mine + theirs - extra

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, self._targets(x, y, y_pred), y_pred, sample_weight)

    def _presence_inputs(self):
        """Names of the optional `<input>_present` inputs (see `build_fusion_model`)."""
        names = {c["name"] for c in self.spec_configs}
        return [
            t.name.split(":")[0]
            for t in self.inputs
            if t.name.split(":")[0].endswith(PRESENT_SUFFIX) and t.name.split(":")[0][: -len(PRESENT_SUFFIX)] in names
        ]

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Creates the optimizer, metric and loss variables before the train/test function is traced.

        Keras does this only under a distribution strategy; otherwise the
        variables are created inside the first trace, and a `tf.function` that
        creates variables is traced twice. Building them first from the data's
        element spec (no batch is read) roughly halves the first epoch's set-up:
        5.4-7.0 -> 3.4-3.6 s for a small two-encoder model here, same loss to the bit.
        """
        if self._distribute_strategy is None and not self.run_eagerly and data_batch is None:
            spec = getattr(getattr(iterator, "_distributed_dataset", None), "element_spec", None)
            if spec is not None:
                try:
                    self._symbolic_build(data_batch=spec)
                except (AttributeError, RuntimeError, TypeError, NotImplementedError):
                    pass  # what cannot be built symbolically is built in the first trace, as Keras does
                return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def fit(self, x=None, y=None, *args, validation_data=None, **kwargs):
        if generation.is_generation(self):  # target strings as labels move into the inputs (teacher forcing)
            x, y = generation.merge_target(self, x, y)
            if isinstance(validation_data, tuple) and len(validation_data) == 2:
                validation_data = generation.merge_target(self, *validation_data)[0]
            elif validation_data is not None:
                validation_data = generation.merge_target(self, validation_data, None)[0]
        if isinstance(validation_data, tuple) and validation_data:
            validation_data = (self._prepare(validation_data[0]),) + tuple(validation_data[1:])
        elif validation_data is not None:
            validation_data = self._prepare(validation_data)
        return super().fit(self._prepare(x), y, *args, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        if generation.is_generation(self):
            x, y = generation.merge_target(self, x, y)
        return super().evaluate(self._prepare(x), y, *args, **kwargs)

    def generate(self, x, max_length=None, sampler="greedy", batch_size=32, use_cache=True, **sampler_options):
        """Decoded strings, one per example, for a TextGeneration model.

        The decoding loop runs in one `tf.function` with a KerasHub sampler and
        a key/value cache (each new token attends to cached keys and values,
        so its cost does not grow with the prefix); `use_cache=False` reruns
        the decoder over the whole prefix at every step (same greedy output).

        Args:
            x: a dict of raw inputs keyed by input name (no target), or a dataset.
            max_length: most words to generate (default: the task's max_length).
            sampler: "greedy", "beam", "top_k", "top_p", or a
                `keras_hub.samplers.Sampler`.
            batch_size: examples decoded together.
            use_cache: decode with the key/value cache.
            **sampler_options: the sampler's arguments (`num_beams=`, `k=`,
                `p=`, `seed=`, `temperature=`).

        Returns:
            A list of strings.
        """
        return generation.generate(self, x, max_length, sampler, batch_size, use_cache, **sampler_options)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Keras's `predict`; a dict of arrays takes the compiled path of `mmzoo.inference.fast_predict`.

        Same outputs (same batches, `training=False`) without Keras's per-call
        set-up, which dominates small-batch latency.
        """
        x = self._prepare(x)
        if isinstance(x, dict):
            check_finite(x, self._input_label)
        if can_fast_predict(self, x, steps, callbacks):
            return fast_predictor(self)(x, batch_size=batch_size or 32)
        return super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)

    @property
    def class_names(self):
        """Names of the classes (Classification) or labels (MultiLabel) in output order, or None."""
        task = self.task_config or {}
        names = task.get("class_names") or task.get("label_names")
        return None if names is None else list(names)

    def predict_classes(self, x, batch_size=None):
        """The predicted class name of each example; for MultiLabel, the list of predicted names.

        Classification takes the most probable class; MultiLabel every label
        whose probability reaches the task's threshold. Without class names
        the class ids are returned instead.

        Args:
            x: what `predict` takes (a dict of arrays or a dataset).
            batch_size: examples per batch.

        Returns:
            A list with one name (or list of names) per example.

        Example:
            >>> import numpy as np, mmzoo
            >>> model = mmzoo.build_model(
            ...     "early_fusion", [mmzoo.Features("x", shape=(2,), normalize=False)],
            ...     task=mmzoo.Classification(num_classes=2, class_names=["no", "yes"]))
            >>> model.class_names
            ['no', 'yes']
            >>> model.predict_classes({"x": np.zeros((3, 2), "float32")})[0] in ("no", "yes")
            True
        """
        kind = (self.task_config or {}).get("kind")
        if kind not in ("classification", "multilabel"):
            raise ValueError(
                f"Model '{self.name}': predict_classes needs a Classification or "
                f"MultiLabel task; this model's task is {kind!r}. Use predict()."
            )
        probabilities = np.asarray(self.predict(x, batch_size=batch_size, verbose=0))
        names = self.class_names or list(range(probabilities.shape[-1]))
        if kind == "classification":
            return [names[i] for i in probabilities.argmax(axis=-1)]
        threshold = np.broadcast_to(np.asarray(self.task.threshold, "float32"), probabilities.shape[-1:])
        return [[n for n, hit in zip(names, row >= threshold) if hit] for row in probabilities]

    def check_inputs(self, inputs):
        """Raises a `ValueError` naming the input if `inputs` do not fit the model."""
        expected = {t.name.split(":")[0]: t for t in self.inputs}
        specs = {c["name"]: c for c in self.spec_configs}
        if not isinstance(inputs, dict):
            if len(expected) == 1:
                return
            raise ValueError(
                f"Model '{self.name}' takes a dict keyed by input name "
                f"({', '.join(sorted(expected))}); received {type(inputs).__name__}."
            )
        check_keys(f"Model '{self.name}'", expected, inputs)
        check_batch_sizes(self.name, inputs)
        for name, ref in expected.items():
            value = inputs[name]
            modality = specs.get(name, {}).get("modality", "model").capitalize()
            shape = tuple(getattr(value, "shape", ()))
            dtype = getattr(value, "dtype", None)
            want = tuple(ref.shape)
            ok = len(shape) == len(want) and all(
                w is None or s is None or int(s) == int(w) for s, w in zip(shape, want)
            )
            if dtype is not None and ok:
                ok = (
                    _kind(dtype) == _kind(ref.dtype)
                    or (_kind(ref.dtype) == "float" and _kind(dtype) == "int")
                    or (_kind(ref.dtype) == "int" and _kind(dtype) == "int")
                    or (_kind(ref.dtype) == "bool" and _kind(dtype) in ("int", "bool"))
                )
            if ok and dtype is not None and _kind(dtype) == "int" and _kind(ref.dtype) == "int":
                _check_int_range(name, modality, value, ref.dtype, lambda: self._describe(name, ref))
            if not ok:
                want_desc = self._describe(name, ref)  # only on failure: it rebuilds the spec (predict latency)
                got = f"{getattr(dtype, 'name', dtype)} of shape {tuple(None if d is None else int(d) for d in shape)}"
                hint = ""
                if _kind(ref.dtype) == "string":
                    hint = " Pass raw strings as a dtype=object NumPy array or a tf.constant."
                elif modality == "Audio" and len(shape) == 3:
                    hint = " Mix multi-channel audio down to mono."
                elif modality == "Audio" and dtype is not None and _kind(dtype) not in ("float", "int"):
                    hint = " Pass float32 samples in [-1, 1] (16-bit PCM / 32768)."
                elif modality == "Audio":
                    hint = " Pad or crop clips to the declared duration (mmzoo.data does this)."
                elif modality == "Video" and len(shape) == len(want) and shape[1] != want[1]:
                    hint = (
                        f" The clip has {shape[1]} frames, not {want[1]}: the model never samples or pads frames. "
                        f"Sample or pad clips to {want[1]} frames (mmzoo.data does this; or "
                        f"mmzoo.data.video.fit_frames)."
                    )
                raise ValueError(f"{modality} input '{name}' expects {want_desc}; received {got}.{hint}")

    def _describe(self, name, ref):
        for config in self.spec_configs:
            if config["name"] == name:
                return spec_from_config(config).describe()
        dims = ", ".join(["batch"] + [str(d) for d in ref.shape[1:]])
        return f"{ref.dtype} values of shape ({dims})"


def _check_int_range(name, modality, value, dtype, describe):
    """Integer arrays cast to a narrower integer input (e.g. int64 pixels into uint8) must fit: no silent wrap.

    `describe()` returns what the input expects, for the error message.
    """
    target = np.dtype(str(getattr(dtype, "name", dtype)))
    if not isinstance(value, np.ndarray) or value.size == 0 or np.can_cast(value.dtype, target):
        return  # symbolic tensors and dataset specs carry no values; a safe cast cannot wrap
    info = np.iinfo(target)
    low, high = value.min(), value.max()
    if low < info.min or high > info.max:
        raise ValueError(
            f"{modality} input '{name}' expects {describe()}; received {value.dtype} values from "
            f"{low} to {high}, outside [{info.min}, {info.max}]. Scale or clip them first"
            + (" (pixels: 0-255)." if modality == "Image" else ".")
        )


def _all_utf8_str(array):
    """True when every item of an object array is a `str` that encodes to UTF-8 (one join, no Python loop)."""
    try:
        "".join(array.reshape(-1)).encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        return False
    return True


def _with_presence_tensors(inputs, names):
    """`inputs` with all-present flags for the presence inputs in `names` it leaves out (a direct call)."""
    missing = [k for k in names if k not in inputs]
    if not missing or not inputs:
        return inputs
    first = next(iter(inputs.values()))
    if isinstance(first, np.ndarray):  # Keras refuses a mix of arrays and tensors in one call
        return {**{k: np.ones(first.shape[:1], bool) for k in missing}, **inputs}
    return {**{k: tf.ones(tf.shape(first)[:1], tf.bool) for k in missing}, **inputs}


def _with_presence(element, names):
    """Adds all-present `names` flags to a dataset element `(features, ...)`."""
    features = element[0]
    batch = tf.shape(next(iter(features.values())))[0]
    features = {**{k: tf.ones((batch,), tf.bool) for k in names}, **features}
    return (features,) + tuple(element[1:]) if len(element) > 1 else features
