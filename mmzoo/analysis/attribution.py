"""Attribution per modality: integrated gradients, modality ablation and fusion weights.

Three views of how much each input of a multimodal model matters:

- `integrated_gradients` (Sundararajan, Taly & Yan 2017, "Axiomatic
  Attribution for Deep Networks"): attributions on each modality's numeric
  representation as its encoder receives it (feature vectors, pixels,
  log-mel spectrograms), summarised per modality by
  `attribution_shares` / `modality_importance`.
- `ablation`: the metric drop when one modality is masked (its presence flag
  set to 0 for models built with `missing_modalities=True`, else the input
  replaced by a baseline).
- `fusion_weights`: the per-modality weights of fusions that compute them
  (`attention`, `weighted_sum`, `gmu`, `late_fusion`).

Text is strings turned into token ids inside the graph, which gradients cannot
pass; text modalities are attributed by ablation only and left out of the
integrated-gradients results.
"""

import keras
import numpy as np
import tensorflow as tf

from mmzoo.fusion.attention import AttentionFusion
from mmzoo.fusion.base import Fusion
from mmzoo.fusion.gated import GatedMultimodalUnit
from mmzoo.fusion.late import LateFusion
from mmzoo.fusion.weighted import WeightedSumFusion, modality_softmax, presence_mask
from mmzoo.specs.presence import PRESENT_SUFFIX, presence_name


class AblationResult(dict):
    """`{input_name: metric drop}` from `ablation`, with how it was measured.

    Attributes:
        metric: the metric name.
        score: the metric with every modality present.
        scores: `{input_name: metric with that modality masked}`.
        method: `{input_name: "presence" or "baseline"}`, how each was masked.
    """

    def __init__(self, drops, metric, score, scores, method):
        super().__init__(drops)
        self.metric, self.score, self.scores, self.method = metric, score, scores, method


def modality_names(model):
    """The model's inputs that are modalities (not `<name>_present` flags), in model order."""
    names = [t.name for t in model.inputs]
    return [n for n in names if not (n.endswith(PRESENT_SUFFIX) and n[: -len(PRESENT_SUFFIX)] in names)]


def complete_inputs(model, inputs, caller="integrated_gradients"):
    """`inputs` as NumPy arrays for every model input; missing presence flags become ones (present)."""
    if not isinstance(inputs, dict):
        raise ValueError(f"{caller} takes a dict {{input_name: array}}; received {type(inputs).__name__}.")
    names = [t.name for t in model.inputs]
    missing = [n for n in modality_names(model) if n not in inputs]
    if missing:
        raise ValueError(f"{caller}: model '{model.name}' needs input(s) {missing}; received keys {sorted(inputs)}.")
    out = {n: np.asarray(inputs[n]) for n in names if n in inputs}
    sizes = {n: len(v) for n, v in out.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"{caller}: every input needs the same batch size; received {sizes}.")
    size = next(iter(sizes.values()))
    for name in names:
        if name not in out:
            out[name] = np.ones((size,), bool)
        elif out[name].dtype.kind in "USO":
            out[name] = out[name].astype(object)
    return out


def attribution_points(model):
    """`{input_name: (symbolic tensor, preprocessing model or None)}`: where gradients meet each modality.

    A modality is attributed on what its encoder receives, the output of the
    spec's in-graph preprocessing (the input of layer `<name>_encoder`):
    normalised features, rescaled (and resized) pixels, the standardised
    log-mel spectrogram `(time, mel)` of audio. The baseline goes through the
    same preprocessing. For affine preprocessing (feature normalisation,
    pixel rescaling) this gives exactly the attributions of the raw input;
    for audio it is needed: along a straight path from a silent waveform the
    log of the power, and the per-clip standardisation after it, change
    almost entirely within the first fraction of a percent of the path, which
    no practical number of steps integrates (completeness fails). Token ids
    (text) are integers no gradient reaches: text has no point. Models whose
    encoders are not named `<name>_encoder` are attributed on float inputs.
    """
    names = modality_names(model)
    points = {}
    for tensor in model.inputs:
        if tensor.name not in names:
            continue
        point = tensor
        try:
            point = model.get_layer(f"{tensor.name}_encoder")._inbound_nodes[0].input_tensors[0]
        except (ValueError, IndexError):
            pass
        if not str(point.dtype).startswith(("float", "bfloat")):
            continue
        points[tensor.name] = (point, None if point is tensor else keras.Model(tensor, point))
    return points


def _select(outputs, target, caller):
    if isinstance(outputs, (dict, list, tuple)):
        raise ValueError(
            f"{caller} needs a model with a single output tensor; received {type(outputs).__name__} "
            f"outputs (for retrieval, attribute one tower's embedding model instead)."
        )
    outputs = tf.reshape(tf.cast(outputs, tf.float32), (tf.shape(outputs)[0], -1))
    if target is None:
        target = tf.argmax(outputs, axis=1) if outputs.shape[1] > 1 else tf.zeros_like(outputs[:, 0], tf.int64)
    target = tf.broadcast_to(tf.reshape(tf.cast(target, tf.int64), (-1,)), tf.shape(outputs[:, 0]))
    return tf.gather(outputs, target, axis=1, batch_dims=1), target


def integrated_gradients(
    model, inputs_batch, baseline=None, steps=32, target=None, return_delta=False, internal_batch_size=512
):
    """Integrated gradients of one output per example, for every differentiable modality.

    Implements Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for
    Deep Networks": `(x - x') * integral_0^1 dF(x' + a (x - x')) / dx da`,
    the integral by `steps`-point Gauss-Legendre quadrature, all modalities
    moved along the path together (presence flags and text held fixed).
    Completeness holds: per example the attributions sum to
    `F(x) - F(x')` up to the quadrature error (`return_delta` reports it).
    Each modality is attributed on what its encoder receives (normalised
    features, rescaled pixels, the standardised log-mel of audio; see
    `attribution_points`), the baseline mapped there by the same
    preprocessing; text is not attributed (use `ablation`).

    Args:
        model: a Keras model with dict inputs and one output tensor.
        inputs_batch: `{input_name: array}`; `<name>_present` flags default to ones.
        baseline: `{input_name: array or scalar}` in raw input units; zeros by default.
        steps: quadrature points.
        target: output column per example (int or `(batch,)` ints); by
            default the predicted class (argmax), or column 0 for one output.
        return_delta: also return `sum(attributions) - (F(x) - F(x'))` per example.
        internal_batch_size: rows per forward/backward pass (several
            quadrature points of the batch go through the model together).

    Returns:
        `{input_name: float32 array}` shaped like the encoder's input
        (`(batch, time, mel)` for log-mel audio), and with `return_delta` a
        `(batch,)` array.

    Example:
        >>> import numpy as np, mmzoo
        >>> specs = [mmzoo.Features("a", shape=(3,), normalize=False), mmzoo.Features("b", shape=(2,), normalize=False)]
        >>> model = mmzoo.build_model("early_fusion", specs, mmzoo.Regression())
        >>> x = {"a": np.ones((4, 3), "float32"), "b": np.ones((4, 2), "float32")}
        >>> ig, delta = integrated_gradients(model, x, return_delta=True)
        >>> ig["a"].shape, bool(np.all(np.abs(delta) < 1e-3))
        ((4, 3), True)
    """
    inputs = complete_inputs(model, inputs_batch)
    points = attribution_points(model)
    if not points:
        raise ValueError(
            f"integrated_gradients: model '{model.name}' has no float or pixel input to attribute "
            f"(inputs {modality_names(model)}); text inputs are attributed with ablation()."
        )
    if int(steps) < 1:
        raise ValueError(f"integrated_gradients: steps must be a positive int; received {steps}.")
    # the model from the attribution points (e.g. float pixels, log-mel) and the other inputs
    order = [t.name for t in model.inputs]
    sub = keras.Model(
        [points[t.name][0] if t.name in points else t for t in model.inputs],
        model.outputs[0] if len(model.outputs) == 1 else model.outputs,
    )

    def call(values):
        return sub([values[n] for n in order], training=False)

    size = len(next(iter(inputs.values())))
    if target is not None and np.size(target) not in (1, size):
        raise ValueError(
            f"integrated_gradients: target must be one int or one per example ({size}); "
            f"received {np.size(target)} values."
        )
    fixed = {n: tf.constant(v) for n, v in inputs.items() if n not in points}
    baseline = dict(baseline or {})
    unknown = sorted(set(baseline) - set(points))
    if unknown:
        raise ValueError(
            f"integrated_gradients: baseline names {unknown}, which are not attributed inputs ({sorted(points)})."
        )
    x, base = {}, {}
    for name, (_, preprocess) in points.items():
        raw = inputs[name]
        ref = np.broadcast_to(np.asarray(baseline.get(name, 0), raw.dtype), raw.shape)
        x[name] = tf.cast(preprocess(raw, training=False) if preprocess is not None else raw, tf.float32)
        base[name] = tf.cast(preprocess(ref, training=False) if preprocess is not None else ref, tf.float32)
    outputs_x, target = _select(call({**fixed, **x}), target, "integrated_gradients")
    outputs_b, _ = _select(call({**fixed, **base}), target, "integrated_gradients")
    nodes, weights = np.polynomial.legendre.leggauss(int(steps))
    nodes, weights = (nodes + 1) / 2, weights / 2
    per_call = max(1, int(internal_batch_size) // max(size, 1))  # quadrature points evaluated per call
    total = {n: tf.zeros_like(v) for n, v in x.items()}
    for start in range(0, len(nodes), per_call):
        chunk = nodes[start : start + per_call]
        path = {n: tf.concat([base[n] + float(a) * (x[n] - base[n]) for a in chunk], axis=0) for n in x}
        repeated = {n: tf.concat([v] * len(chunk), axis=0) for n, v in fixed.items()}
        with tf.GradientTape() as tape:
            tape.watch(list(path.values()))
            chosen, _ = _select(call({**repeated, **path}), tf.tile(target, [len(chunk)]), "integrated_gradients")
            objective = tf.reduce_sum(chosen)
        grads = tape.gradient(objective, path)
        step_weights = tf.constant(weights[start : start + per_call], tf.float32)
        for n, grad in grads.items():
            if grad is not None:  # None: this modality does not reach the output
                grad = tf.reshape(grad, (len(chunk), size) + tuple(x[n].shape[1:]))
                total[n] += tf.tensordot(step_weights, grad, axes=1)
    result = {n: ((x[n] - base[n]) * total[n]).numpy() for n in x}
    if not return_delta:
        return result
    summed = sum(v.reshape(len(v), -1).sum(axis=1) for v in result.values())
    return result, summed - (outputs_x - outputs_b).numpy()


def attribution_shares(attributions):
    """Each modality's share of the total |attribution|, per example then averaged; sums to 1.

    Args:
        attributions: `{input_name: array}` from `integrated_gradients`.

    Returns:
        `{input_name: float}`.

    Example:
        >>> attribution_shares({"a": np.array([[3.0, -1.0]]), "b": np.array([[0.0, 0.0]])})
        {'a': 1.0, 'b': 0.0}
    """
    totals = np.stack([np.abs(v).reshape(len(v), -1).sum(axis=1) for v in attributions.values()], axis=1)
    shares = totals / np.maximum(totals.sum(axis=1, keepdims=True), 1e-12)
    return {n: float(s) for n, s in zip(attributions, shares.mean(axis=0))}


def modality_importance(model, inputs_batch, labels=None, steps=32, baseline=None):
    """Mean |integrated gradients| share of each differentiable modality (normalised to sum 1).

    Args:
        model, inputs_batch, steps, baseline: as for `integrated_gradients`.
        labels: optional integer class labels `(batch,)`: attribute the true
            class instead of the predicted one (ignored for other label shapes).

    Returns:
        `{input_name: share}` over the modalities gradients reach (not text).

    Example:
        >>> import numpy as np, mmzoo
        >>> specs = [mmzoo.Features("a", shape=(3,), normalize=False), mmzoo.Features("b", shape=(2,), normalize=False)]
        >>> model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2))
        >>> shares = modality_importance(model, {"a": np.ones((4, 3), "float32"), "b": np.ones((4, 2), "float32")})
        >>> round(sum(shares.values()), 6)
        1.0
    """
    target = None
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim == 1 and labels.dtype.kind in "iu":
            target = labels
    return attribution_shares(integrated_gradients(model, inputs_batch, baseline, steps, target))


def _metric(metric, model):
    if metric is None:
        kind = (getattr(model, "task_config", None) or {}).get("kind")
        metric = {"classification": "accuracy", "regression": "mae", "multilabel": "binary_accuracy"}.get(kind)
        if metric is None:
            raise ValueError(
                f"ablation: cannot pick a metric for model '{model.name}' (task {kind!r}); pass "
                f"metric='accuracy', 'binary_accuracy', 'mae' or 'mse'."
            )
    functions = {
        "accuracy": (lambda y, p: np.mean(np.argmax(p.reshape(len(p), -1), 1) == y.reshape(-1)), True),
        "binary_accuracy": (lambda y, p: np.mean((p >= 0.5) == (y.reshape(p.shape) > 0.5)), True),
        "mae": (lambda y, p: np.mean(np.abs(p - y.reshape(p.shape))), False),
        "mse": (lambda y, p: np.mean((p - y.reshape(p.shape)) ** 2), False),
    }
    if metric not in functions:
        raise ValueError(f"ablation: metric must be one of {sorted(functions)}; received {metric!r}.")
    return metric, functions[metric]


def _materialise(data, labels):
    if isinstance(data, tf.data.Dataset):
        xs, ys = [], []
        for element in data.as_numpy_iterator():
            if not isinstance(element, tuple) or len(element) < 2:
                raise ValueError("ablation: a dataset must yield (inputs, labels) pairs.")
            xs.append(element[0])
            ys.append(element[1])
        if not xs:
            raise ValueError("ablation: the dataset is empty.")
        return {k: np.concatenate([x[k] for x in xs]) for k in xs[0]}, np.concatenate(ys)
    if labels is None:
        raise ValueError("ablation: pass labels= with a dict of arrays (or a dataset of (inputs, labels)).")
    return data, np.asarray(labels)


def ablation(model, data, labels=None, metric=None, baseline=None, batch_size=256):
    """The metric drop when each modality is masked, one modality at a time.

    A modality is masked by its presence flag (`<name>_present` = 0) when
    the model was built with `missing_modalities=True` (method "presence"),
    else by replacing the input with a baseline: zeros for numbers, empty
    strings for text, or `baseline[name]` (method "baseline"). A drop is
    `score - masked score` for accuracies and `masked error - error` for
    errors, so a larger drop always means the modality matters more.

    Args:
        model: a Keras model with dict inputs and one output.
        data: `{input_name: array}` with `labels`, or a `tf.data.Dataset` of
            `(inputs, labels)` batches (read once into memory).
        labels: the labels for dict data.
        metric: "accuracy", "binary_accuracy", "mae" or "mse"; by default
            from the model's task.
        baseline: optional `{input_name: array or scalar}` replacement values.
        batch_size: prediction batch size.

    Returns:
        An `AblationResult`: `{input_name: drop}` with `.score`, `.scores`,
        `.metric` and `.method` (`{input_name: "presence" | "baseline"}`).

    Example:
        >>> import numpy as np, mmzoo
        >>> specs = [mmzoo.Features("a", shape=(3,), normalize=False), mmzoo.Features("b", shape=(2,), normalize=False)]
        >>> model = mmzoo.build_model("early_fusion", specs, mmzoo.Classification(2), missing_modalities=True)
        >>> x = {"a": np.ones((8, 3), "float32"), "b": np.ones((8, 2), "float32")}
        >>> result = ablation(model, x, np.zeros(8, int))
        >>> sorted(result), result.method["a"]
        (['a', 'b'], 'presence')
    """
    x, y = _materialise(data, labels)
    name, (function, higher_better) = _metric(metric, model)
    x = complete_inputs(model, x, caller="ablation")
    baseline = dict(baseline or {})

    def score(inputs):
        outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
        if isinstance(outputs, (dict, list, tuple)):
            raise ValueError(f"ablation needs a model with a single output; model '{model.name}' has several.")
        return float(function(y, np.asarray(outputs, np.float64)))

    full = score(x)
    scores, method = {}, {}
    for modality in modality_names(model):
        masked = dict(x)
        flag = presence_name(modality)
        if flag in x:
            masked[flag] = np.zeros_like(x[flag])
            method[modality] = "presence"
        else:
            value = baseline.get(modality, "" if x[modality].dtype == object else 0)
            masked[modality] = np.broadcast_to(np.asarray(value, x[modality].dtype), x[modality].shape).copy()
            method[modality] = "baseline"
        scores[modality] = score(masked)
    drops = {m: (full - s) if higher_better else (s - full) for m, s in scores.items()}
    return AblationResult(drops, name, full, scores, method)


def _attention_weights(layer, features, presence):
    saved = layer.return_weights
    layer.return_weights = True  # the layer computes its weights in call and returns them when asked
    try:
        return layer.call(features, presence=presence)[1]
    finally:
        layer.return_weights = saved


def _late_weights(layer, features, presence):
    xs = layer.ordered(features)
    return modality_softmax(
        layer.modality_logits(len(xs)), presence_mask(xs, layer.ordered_presence(features, presence))
    )


# Which fusions expose per-modality weights, and how: (batch, M) or (M,) in sorted-name order.
WEIGHT_READERS = {
    AttentionFusion: _attention_weights,
    WeightedSumFusion: lambda layer, f, p: layer.modality_weights(f, p),
    GatedMultimodalUnit: lambda layer, f, p: tf.reduce_mean(layer.gates(f, p), axis=-1),  # mean gate over units
    LateFusion: _late_weights,
}


def fusion_weights(model, inputs_batch, layer=None):
    """Per-example modality weights of the model's fusion layer, where it computes them.

    Reads `attention` (softmax attention weights), `weighted_sum` and learned
    `late_fusion` (softmax modality weights), and `gmu` (gates, averaged
    over units); see `WEIGHT_READERS`. Other fusions (concat, tensor,
    bilinear, cross_attention, transformer) expose no per-modality weights
    and give `{}`.

    Args:
        model: a model with one `Fusion` layer (or name it with `layer`).
        inputs_batch: `{input_name: array}`; presence flags default to ones.
        layer: optional fusion layer name.

    Returns:
        `{input_name: (batch,) float32 weights}`; weights are >= 0 and sum to 1
        over the present modalities of each example.

    Example:
        >>> import numpy as np, mmzoo
        >>> specs = [mmzoo.Features("a", shape=(3,), normalize=False), mmzoo.Features("b", shape=(2,), normalize=False)]
        >>> model = mmzoo.build_model("weighted_sum", specs, mmzoo.Classification(2))
        >>> w = fusion_weights(model, {"a": np.ones((4, 3), "float32"), "b": np.ones((4, 2), "float32")})
        >>> w["a"].tolist()
        [0.5, 0.5, 0.5, 0.5]
    """
    fusions = [fl for fl in model.layers if isinstance(fl, Fusion) and (layer is None or fl.name == layer)]
    if layer is not None and not fusions:
        raise ValueError(
            f"fusion_weights: model '{model.name}' has no fusion layer {layer!r}; fusion layers: "
            f"{[fl.name for fl in model.layers if isinstance(fl, Fusion)]}."
        )
    readable = [fl for fl in fusions if type(fl) in WEIGHT_READERS]
    if not readable:
        return {}
    if len(readable) > 1:
        raise ValueError(
            f"fusion_weights: model '{model.name}' has several fusion layers with weights "
            f"({[fl.name for fl in readable]}); pass layer=<name>."
        )
    fusion = readable[0]
    arguments = fusion._inbound_nodes[0].arguments
    outputs = {"features": arguments.args[0]}
    if arguments.kwargs.get("presence") is not None:
        outputs["presence"] = arguments.kwargs["presence"]
    probe = keras.Model({t.name: t for t in model.inputs}, outputs)
    inputs = complete_inputs(model, inputs_batch, caller="fusion_weights")
    values = probe({n: tf.constant(v) for n, v in inputs.items()}, training=False)
    weights = WEIGHT_READERS[type(fusion)](fusion, values["features"], values.get("presence"))
    weights = np.asarray(weights, np.float32)
    size = len(next(iter(inputs.values())))
    weights = np.broadcast_to(weights, (size, weights.shape[-1]))
    return {n: weights[:, i].copy() for i, n in enumerate(sorted(values["features"]))}
