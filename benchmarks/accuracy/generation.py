"""The accuracy table's text-generation datasets: a trained generator per seed, and the baselines.

For `emoji_captions` (emoji image -> its name) and `fsdd_words` (spoken digit
-> its word) every seed trains the generator (the `early_fusion` builder on
the one input with a `TextGeneration` head: the input's encoder, a mapping
network to a prefix memory, a Transformer decoder), decodes the test split
greedily with `model.generate`, and scores the strings with
`captioning.text_metrics`; the baselines of `captioning` are scored on the
same test split. The runs and a few example outputs per row go to the
dataset's JSON like every other row of the table.
"""

import time

import numpy as np

from . import captioning

EXAMPLES = 8  # test outputs kept per run in the JSON, beside their references


def _arrays(dataset):
    """`(inputs, targets)` of a batched split as NumPy arrays (targets as str)."""
    xs, ys = [], []
    for x, y in dataset:
        xs.append({k: v.numpy() for k, v in x.items()})
        ys.extend(t.decode("utf-8") for t in y.numpy())
    return {k: np.concatenate([x[k] for x in xs]) for k in xs[0]}, ys


def _record(model_row, kind, seed, inputs, hypotheses, references, params=0, seconds=0.0, epochs=0, extra=None):
    metrics = captioning.text_metrics(hypotheses, references)
    return {
        "model": model_row,
        "kind": kind,
        "seed": seed,
        "inputs": inputs,
        "params": int(params),
        "train_seconds": round(seconds, 1),
        "epochs_run": epochs,
        "metrics": metrics,
        "examples": [{"output": h, "reference": r} for h, r in zip(hypotheses[:EXAMPLES], references[:EXAMPLES])],
        **(extra or {}),
    }


def train_generator(splits, seed, cfg, encoders, epochs=None):
    """Trains the generator for one seed; returns `(model, seconds, epochs run)`."""
    import keras

    import mmzoo

    epochs = epochs or cfg["epochs"]
    keras.utils.set_random_seed(seed)
    model = mmzoo.build_model(
        "early_fusion", splits.inputs, splits.task, encoders=encoders, compile=False, **cfg.get("model_options", {})
    )
    steps = int(splits.train.cardinality())
    schedule = keras.optimizers.schedules.CosineDecay(cfg["learning_rate"], decay_steps=max(1, steps * epochs))
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=cfg.get("weight_decay", 0.004))
    model.compile(optimizer=optimizer, loss=splits.task.loss(), metrics=splits.task.metrics())
    stop = keras.callbacks.EarlyStopping(patience=cfg["patience"], restore_best_weights=True)
    start = time.time()
    history = model.fit(
        splits.train,
        validation_data=splits.validation,
        epochs=epochs,
        verbose=0,
        callbacks=[keras.callbacks.TerminateOnNaN(), stop],
    )
    losses = history.history["loss"]
    if not np.all(np.isfinite(losses)):
        raise FloatingPointError(f"generator seed {seed}: loss became {losses[-1]}.")
    return model, time.time() - start, len(losses)


def encoder_embedding(model, x, batch_size=64):
    """The trained generator's conditioning for `x` (its decoder memory, flattened): an embedding of the input."""
    import keras

    target = model.task_config["target"]
    memory = model.get_layer(f"{target}_memory").output
    inputs = {t.name.split(":")[0]: t for t in model.inputs if t.name.split(":")[0] != target}
    encoder = keras.Model(inputs, memory)
    out = encoder.predict({k: x[k] for k in inputs}, batch_size=batch_size, verbose=0)
    return out.reshape(len(out), -1)


def run_seed(dataset, seed, splits, cfg, encoders, models=None, epochs=None):
    """Every row of one seed: the generator and the baselines (`models` picks rows by name)."""
    wanted = (lambda row: row in models) if models else (lambda row: True)
    names = [s.name for s in splits.inputs]
    train_x, train_y = _arrays(splits.train)  # the baselines see what the generator trains on
    test_x, test_y = _arrays(splits.test)
    rows = []
    if wanted("most frequent words"):
        caption = captioning.most_frequent_words(train_y)
        rows.append(_record("most frequent words", "baseline", seed, names, [caption] * len(test_y), test_y))
    image = next((s.name for s in splits.inputs if type(s).__name__ == "Image"), None)
    if image and wanted("nearest neighbour (pixels)"):
        train_emb, test_emb = captioning.pixel_embedding(train_x[image], test_x[image])
        outputs = captioning.nearest_neighbour(train_emb, train_y, test_emb)
        rows.append(_record("nearest neighbour (pixels)", "baseline", seed, names, outputs, test_y))
    generator = "early_fusion + decoder"
    if wanted(generator) or wanted("nearest neighbour (generator's encoder)"):
        model, seconds, epochs_run = train_generator(splits, seed, cfg, encoders, epochs)
        if wanted(generator):
            start = time.time()
            outputs = model.generate(test_x, sampler="greedy", batch_size=64)
            history = model.history.history if model.history else {}
            extra = {
                "decode_seconds": round(time.time() - start, 1),
                "history": {k: [round(float(v), 4) for v in history[k]] for k in sorted(history)},
            }
            rows.append(
                _record(
                    generator,
                    "generator",
                    seed,
                    names,
                    outputs,
                    test_y,
                    model.count_params(),
                    seconds,
                    epochs_run,
                    extra,
                )
            )
        if image and wanted("nearest neighbour (generator's encoder)"):
            outputs = captioning.nearest_neighbour(
                encoder_embedding(model, train_x), train_y, encoder_embedding(model, test_x)
            )
            rows.append(_record("nearest neighbour (generator's encoder)", "baseline", seed, names, outputs, test_y))
    return rows
