"""Text generation on a MultimodalModel: the decoder head, the training targets, and `generate`.

`attach_decoder` adds the target input, its in-graph tokenizer, the memory
the decoder attends to and the decoder itself to a fusion graph (called by
`build_fusion_model` for a `TextGeneration` task). `Generator` decodes with a
KerasHub sampler (greedy, beam, top-k, top-p) inside one `tf.function`
holding the whole loop (`tf.while_loop`), so the same function serves
`model.generate` and the exported SavedModel signature.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mmzoo.models.caption_tokenizer import CaptionTokenizer
from mmzoo.models.input_checks import check_batch_sizes, check_keys, optional_presence
from mmzoo.models.prefix_lm import attach_prefix_lm  # registers the GPT-2 layers a saved model can hold
from mmzoo.models.text_decoder import TextDecoder, keras_hub
from mmzoo.specs.presence import PRESENT_SUFFIX

SAMPLERS = {"greedy": "GreedySampler", "beam": "BeamSampler", "top_k": "TopKSampler", "top_p": "TopPSampler"}


def is_generation(model):
    return (getattr(model, "task_config", None) or {}).get("kind") == "text_generation"


def attach_decoder(keras_inputs, features, task, name):
    """Adds the target input, tokenizer, memory and decoder; returns the logits tensor."""
    if task.vocabulary is None and task.decoder != "gpt2":
        raise ValueError(
            f"TextGeneration target '{task.target}' has no vocabulary: call task.adapt(train_targets) "
            f"(or pass vocabulary=) before building the model."
        )
    if task.target in keras_inputs:
        raise ValueError(
            f"TextGeneration target '{task.target}' has the name of an input; name the target differently."
        )
    if task.decoder == "gpt2":
        return attach_prefix_lm(keras_inputs, features, task)
    target = keras_inputs[task.target] = keras.Input(shape=(), dtype="string", name=task.target)
    tokenizer = CaptionTokenizer(task.vocabulary, task.max_length, task.standardize, name=f"{task.target}_tokenizer")
    ids = tokenizer(target)
    units = task.units
    if len(features.shape) == 3:
        memory = keras.layers.Dense(units, name=f"{task.target}_memory")(features)
    elif len(features.shape) == 2:
        hidden = keras.layers.Dense(units * task.prefix_length // 2, activation="tanh", name=f"{task.target}_mapping")
        prefix = keras.layers.Dense(units * task.prefix_length, name=f"{task.target}_prefix")(hidden(features))
        memory = keras.layers.Reshape((task.prefix_length, units), name=f"{task.target}_memory")(prefix)
    else:
        raise ValueError(
            f"TextGeneration conditions on a fused vector or token sequence; the fusion gave shape {features.shape}."
        )
    decoder = TextDecoder(
        tokenizer.vocabulary_size,
        task.max_length + 1,
        units=units,
        num_heads=task.num_heads,
        num_layers=task.num_layers,
        dropout=task.dropout,
        name=f"{task.target}_decoder",
    )
    return decoder(ids, memory)


def target_ids(model, x):
    """The next-token labels `(batch, max_length + 1)` of the target strings in `x` (teacher forcing)."""
    target = model.task_config["target"]
    return model.get_layer(f"{target}_tokenizer")(x[target])[:, 1:]


def merge_target(model, x, y):
    """Moves targets given as `y` (arrays, or a dataset's labels) into the input dict under the target's name."""
    target = model.task_config["target"]
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        if isinstance(spec, tuple) and len(spec) >= 2 and isinstance(spec[0], dict) and target not in spec[0]:
            return x.map(lambda f, t, *rest: {**f, target: t}, num_parallel_calls=tf.data.AUTOTUNE), None
        return x, y
    if isinstance(x, dict) and y is not None and target not in x:
        return {**x, target: np.asarray(y, dtype=object)}, None
    return x, y


def make_sampler(sampler, **options):
    """A KerasHub sampler from a name in `SAMPLERS` (with its options) or a sampler instance."""
    hub = keras_hub()
    if isinstance(sampler, hub.samplers.Sampler):
        if options:
            raise ValueError(f"generate: sampler options {sorted(options)} go to the sampler's constructor.")
        return sampler
    if sampler not in SAMPLERS:
        raise ValueError(
            f"generate sampler must be one of {', '.join(SAMPLERS)} or a keras_hub.samplers.Sampler; "
            f"received {sampler!r}."
        )
    return getattr(hub.samplers, SAMPLERS[sampler])(**options)


class Generator:
    """Decoding for one model: encoder sub-model, decoder, tokenizer, and traced loops per setting."""

    def __init__(self, model):
        task = model.task_config
        self.model = model
        self.target = task["target"]
        self.max_length = task["max_length"]
        self.tokenizer = model.get_layer(f"{self.target}_tokenizer")
        self.decoder = model.get_layer(f"{self.target}_decoder")
        memory = model.get_layer(f"{self.target}_memory").output
        inputs = {t.name.split(":")[0]: t for t in model.inputs if t.name.split(":")[0] != self.target}
        self.input_names = sorted(inputs)
        self.encoder = keras.Model(inputs, memory, name=f"{model.name}_encoder")
        self.signature = {k: tf.TensorSpec((None, *v.shape[1:]), v.dtype, name=k) for k, v in sorted(inputs.items())}
        self._functions = {}

    def check_length(self, max_length):
        max_length = self.max_length if max_length is None else max_length
        if not isinstance(max_length, (int, np.integer)) or not 1 <= max_length <= self.max_length:
            raise ValueError(
                f"generate max_length must be an integer from 1 to the task's max_length={self.max_length}; "
                f"received {max_length!r}."
            )
        return int(max_length)

    def decode(self, inputs, max_length, sampler, use_cache=True):
        """Token ids `(batch, max_length + 2)` starting with `[START]`; ops only, so it traces into any graph."""
        memory = self.encoder(inputs, training=False)
        batch, length = ops.shape(memory)[0], max_length + 2
        start, end = self.tokenizer.start_id, self.tokenizer.end_id
        prompt = ops.concatenate(
            [ops.full((batch, 1), start, "int32"), ops.zeros((batch, length - 1), "int32")], axis=1
        )
        mask = ops.concatenate([ops.ones((batch, 1), "bool"), ops.zeros((batch, length - 1), "bool")], axis=1)
        if use_cache:
            cache = self.decoder.start_cache(memory, length)

            def next_token(ids, cache, index):
                logits, cache = self.decoder.step(ids, cache, index - 1)
                return logits, None, cache

        else:
            cache = (memory,)

            def next_token(ids, cache, index):
                logits = self.decoder(ids, cache[0], training=False)
                return ops.take(logits, index - 1, axis=1), None, cache

        return sampler(next_token, prompt, cache=cache, index=1, mask=mask, stop_token_ids=[end])

    def strings(self, inputs, max_length, sampler, use_cache=True):
        """Generated strings (a string tensor) for a batch of raw inputs."""
        return self.tokenizer.detokenize(self.decode(inputs, max_length, sampler, use_cache))

    def function(self, max_length, sampler="greedy", use_cache=True, **options):
        """The traced decoding function (dict of input tensors -> strings), one per setting."""
        max_length = self.check_length(max_length)
        key = (
            max_length,
            sampler if isinstance(sampler, str) else id(sampler),
            use_cache,
            repr(sorted(options.items())),
        )
        if key not in self._functions:
            chosen = make_sampler(sampler, **options)
            fn = tf.function(
                lambda inputs: self.strings(inputs, max_length, chosen, use_cache), input_signature=[self.signature]
            )
            self._functions[key] = fn
        return self._functions[key]

    def batches(self, x, batch_size):
        """Batches of inputs (dicts of tensors) from a dict of arrays or a dataset."""
        if isinstance(x, tf.data.Dataset):
            for element in x:
                features = element[0] if isinstance(element, tuple) else element
                yield self.complete({k: v for k, v in features.items() if k in self.signature})
            return
        if not isinstance(x, dict):
            raise ValueError(
                f"Model '{self.model.name}': generate takes a dict keyed by input name "
                f"({', '.join(self.input_names)}) or a dataset; received {type(x).__name__}."
            )
        x = {k: v for k, v in x.items() if k != self.target}
        check_keys(f"Model '{self.model.name}'", self.input_names, x, optional=optional_presence(self.input_names))
        check_batch_sizes(self.model.name, x)
        x = self.complete({k: self.model._as_strings(k, v) for k, v in x.items()})
        n = len(next(iter(x.values())))
        self.model.check_inputs({**x, self.target: np.full((n,), "", object)})
        for start in range(0, n, batch_size):
            yield {
                k: tf.convert_to_tensor(v[start : start + batch_size], self.signature[k].dtype) for k, v in x.items()
            }

    def complete(self, x):
        """Adds all-present flags for absent `<input>_present` inputs."""
        first = next(iter(x.values()))
        n = tf.shape(first)[0] if tf.is_tensor(first) else len(first)
        for name in self.signature:
            if name.endswith(PRESENT_SUFFIX) and name not in x:
                x = {**x, name: tf.ones((n,), tf.bool) if tf.is_tensor(first) else np.ones((n,), bool)}
        return x


def generator(model):
    """The model's `Generator` (made once per model)."""
    if not is_generation(model):
        kind = (model.task_config or {}).get("kind")
        raise ValueError(
            f"Model '{model.name}': generate needs a TextGeneration task; this model's task is {kind!r}. Use predict()."
        )
    if getattr(model, "_mmzoo_generator", None) is None:
        model._mmzoo_generator = Generator(model)
    return model._mmzoo_generator


def generate(model, x, max_length=None, sampler="greedy", batch_size=32, use_cache=True, **sampler_options):
    """Generated strings for `x`; see `MultimodalModel.generate`."""
    gen = generator(model)
    fn = gen.function(max_length, sampler, use_cache, **sampler_options)
    texts = []
    for batch in gen.batches(x, batch_size):
        texts.extend(t.decode("utf-8") for t in fn(batch).numpy())
    return texts
