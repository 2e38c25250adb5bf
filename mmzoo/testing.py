"""mmzoo's own test kit: one call checks a model end to end.

`run_model_test` trains a step, round-trips the config through JSON, saves
and reloads the `.keras` file, exports the SavedModel, checks that every op of
its graph is one `mmzoo.load` admits, reloads it, and checks every reloaded
copy gives the same outputs. Every registry entry runs through
it in mmzoo's test suite; use it for your own encoders and fusions too.
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from mmzoo.artifacts.savedmodel import export_savedmodel, output_name
from mmzoo.artifacts.savedmodel_scan import savedmodel_problems


def call_outputs(model, x):
    """Inference outputs from a direct (eager) call: no predict function to trace."""
    out = model({k: tf.constant(v) for k, v in x.items()}, training=False)
    return np.asarray(out)


def _copy_lookup_state(source, target):
    """Vocabularies are assets, not weights or config: copy them like `.keras` does.

    `set_weights` also skips `finalize_state` (which e.g. turns `Normalization`'s
    adapted statistics into its mean/variance); run it as loading does.
    """
    for layer in source.layers:
        if isinstance(layer, keras.layers.TextVectorization):
            state = {}
            layer.save_own_variables(state)  # tf_idf layers keep their IDF weights here
            target.get_layer(layer.name).set_vocabulary(layer.get_vocabulary(), idf_weights=state.get("idf_weights"))
    for layer in target.layers:
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()


def run_mixed_precision_step(build, x, y, policy="mixed_float16"):
    """Builds a model under `policy` with `build()` and trains one step; returns the loss.

    The global policy is restored afterwards. Fails on dtype errors or a
    non-finite loss, and checks the outputs are float32 (heads compute in float32).
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build()
        model.run_eagerly = True  # dtype errors show eagerly too; tracing a float16 graph costs ~30 s on CPU
        loss = model.fit(x, y, epochs=1, batch_size=len(next(iter(x.values()))), verbose=0).history["loss"][0]
        assert np.isfinite(loss), f"non-finite loss under {policy}: {loss}"
        out = call_outputs(model, x)  # eager, like the step: `predict` would trace a float16 graph
        assert out.dtype == np.float32, f"outputs are {out.dtype} under {policy}; heads must be float32"
        return loss
    finally:
        keras.mixed_precision.set_global_policy(previous)


def run_model_test(model, x, y, workdir, atol=1e-5, savedmodel=True):
    """Checks `model` trains one step, serializes, saves, reloads and exports.

    Args:
        model: a compiled model with named inputs.
        x: `{input_name: array}` of a few examples.
        y: labels for `x` (None for self-supervised tasks such as retrieval).
        workdir: a scratch directory.
        atol: maximum absolute difference tolerated between copies.
        savedmodel: also export a SavedModel and compare its `serve` signature
            (the export traces the model several times: for very large graphs,
            leave it to a smaller model built from the same layers).

    Returns:
        Dict of the maximum absolute differences: `config`, `keras` and
        (with `savedmodel=True`) `savedmodel`.
    """
    # One eager step: graph-mode training is exercised by the learning tests, and the
    # SavedModel export below traces the inference graph with unknown batch size.
    run_eagerly = model.run_eagerly
    model.run_eagerly = True
    history = model.fit(x, y, epochs=1, batch_size=len(next(iter(x.values()))), verbose=0)
    model.run_eagerly = run_eagerly
    loss = history.history["loss"][0]
    assert np.isfinite(loss), f"non-finite loss after one step: {loss}"
    reference = call_outputs(model, x)
    assert np.all(np.isfinite(reference)), "non-finite outputs"
    diffs = {}

    config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
    clone = keras.saving.deserialize_keras_object(config)
    clone.set_weights(model.get_weights())
    _copy_lookup_state(model, clone)
    diffs["config"] = float(np.max(np.abs(call_outputs(clone, x) - reference)))

    path = os.path.join(workdir, "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)  # safe mode
    assert type(reloaded) is type(model), f"reloaded as {type(reloaded).__name__}, not {type(model).__name__}"
    diffs["keras"] = float(np.max(np.abs(call_outputs(reloaded, x) - reference)))

    if savedmodel:
        # only the `serve` signature: `serve_bytes` decodes in front of the same model call (its tests are
        # tests/artifacts/test_serve_bytes.py) and tracing it too would add ~40% to every export here
        saved = os.path.join(workdir, "savedmodel")
        export_savedmodel(model, saved, serve_bytes=False)
        problems = savedmodel_problems(saved)
        assert not problems, f"mmzoo.load would refuse this SavedModel without trust=True: {problems}"
        serve = tf.saved_model.load(saved).signatures["serve"]
        out = serve(**{k: tf.constant(v) for k, v in x.items()})
        diffs["savedmodel"] = float(np.max(np.abs(out[output_name(model)].numpy() - reference)))

    for kind, diff in diffs.items():
        assert diff <= atol, f"{kind} copy differs from the model by {diff} > {atol}"
    return diffs
