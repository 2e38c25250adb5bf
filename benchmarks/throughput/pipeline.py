"""Input pipeline part of the throughput benchmark: training fed from files vs from cached tensors.

Writes a manifest of real files built from the embedded AV-MNIST sample
(digits resized to 64x64 RGB PNGs, spoken digits as 1 s 16 kHz 16-bit WAVs,
random vocabulary words as text), then trains the same mmzoo model (raw
strings in, log-mel computed in the model graph) from

- `mmzoo.data.from_csv(...)`: PNG and WAV decoded in tf.data on every epoch
  (parallel map, prefetch), and
- `mmzoo.data.from_arrays(..., cache=True)`: the same decoded examples as
  in-memory tensors,

alternating the two, and reports samples/s of each and their ratio. It also
times the file pipeline alone (no model), to show how much headroom it has,
and the file pipeline with `num_parallel_calls=1` (the tf.data default).
"""

import csv
import os
import tempfile
import time
import wave

import numpy as np


def write_manifest(root, examples, seed=0, image_size=64, sample_rate=16_000, vocabulary=20_000, tokens=64):
    """Writes `examples` PNG/WAV/text rows under `root`; returns the CSV path and the decoded arrays."""
    import tensorflow as tf

    from mmzoo.datasets.avmnist_sample import load_avmnist_sample_arrays

    x, y = load_avmnist_sample_arrays()["train"]
    rng = np.random.default_rng(seed)
    index = rng.choice(len(y), examples, replace=examples > len(y))
    digits = tf.image.resize(tf.image.grayscale_to_rgb(tf.constant(x["digit"][index])), (image_size, image_size))
    images = np.clip(digits.numpy(), 0, 255).astype("uint8")
    voices = np.repeat(x["voice"][index], sample_rate // 8000, axis=1)[:, :sample_rate]
    pcm = np.clip(np.round(voices * 32767), -32768, 32767).astype("<i2")
    words = rng.integers(0, vocabulary - 2, (examples, tokens))
    texts = [" ".join(f"w{i}" for i in row) for row in words]
    rows = []
    for i in range(examples):
        image_path, audio_path = f"img_{i}.png", f"wav_{i}.wav"
        tf.io.write_file(os.path.join(root, image_path), tf.io.encode_png(images[i]))
        with wave.open(os.path.join(root, audio_path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm[i].tobytes())
        rows.append({"text": texts[i], "image": image_path, "audio": audio_path, "label": int(y[index[i]])})
    path = os.path.join(root, "manifest.csv")
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["text", "image", "audio", "label"])
        writer.writeheader()
        writer.writerows(rows)
    arrays = {"text": np.array(texts, dtype=object), "image": images, "audio": pcm.astype("float32") / 32768.0}
    return path, arrays, np.array([r["label"] for r in rows], "int32")


def measure(cmd, measured):
    """Runs the comparison; `measured` wraps a timing function with peak-memory bookkeeping."""
    import keras

    import mmzoo

    from . import keras_models as K

    examples, steps, rounds = cmd.get("examples", 512), cmd["steps"], cmd["rounds"]
    batch = min(cmd.get("batch", 64), examples)
    modalities = tuple(cmd.get("modalities", ("audio", "image", "text")))
    root = tempfile.mkdtemp(prefix="mmzoo_pipeline_")
    start = time.perf_counter()
    path, arrays, labels = write_manifest(root, examples)
    arrays = {k: v for k, v in arrays.items() if k in modalities}
    write_s = time.perf_counter() - start
    specs = K.reference_specs(modalities, token_ids=False)
    keras.utils.set_random_seed(0)
    model = mmzoo.build_model(cmd.get("model", "early_fusion"), specs, mmzoo.Classification(K.CLASSES))
    sources = {
        "cached tensors": mmzoo.data.from_arrays(
            arrays, labels, batch_size=batch, shuffle=True, seed=0, cache=True, drop_remainder=True
        ).repeat(),
        "files (PNG+WAV decoded in tf.data)": mmzoo.data.from_csv(
            path, specs, label="label", batch_size=batch, shuffle=True, seed=0, drop_remainder=True
        ).repeat(),
        "files, num_parallel_calls=1": mmzoo.data.from_csv(
            path,
            specs,
            label="label",
            batch_size=batch,
            shuffle=True,
            seed=0,
            drop_remainder=True,
            num_parallel_calls=1,
        ).repeat(),
    }
    for ds in sources.values():  # warm-up: traces, fills the cache
        model.fit(ds, steps_per_epoch=max(2, examples // batch), epochs=1, verbose=0)

    def fit_rate(ds):
        times = []

        class Timer(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                times.append(time.perf_counter())

        model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[Timer()])
        return (len(times) - 1) * batch / (times[-1] - times[0])

    rates = {name: [] for name in sources}
    memory = {}
    for _ in range(rounds):
        for name, ds in sources.items():
            result = measured(lambda ds=ds: {"samples_per_s": fit_rate(ds)})
            rates[name].append(result["samples_per_s"])
            memory[name] = max(memory.get(name, 0.0), result["peak_rss_mb"])

    def pipeline_only():
        it = iter(sources["files (PNG+WAV decoded in tf.data)"])
        next(it)
        start = time.perf_counter()
        for _ in range(steps):
            next(it)
        return {"samples_per_s": steps * batch / (time.perf_counter() - start)}

    alone = pipeline_only()
    median = {name: float(np.median(r)) for name, r in rates.items()}
    return {
        "examples": examples,
        "batch": batch,
        "write_s": write_s,
        "samples_per_s": median,
        "runs": rates,
        "peak_rss_mb": memory,
        "files_pipeline_alone_samples_per_s": alone["samples_per_s"],
        "ratio_files_to_cached": median["files (PNG+WAV decoded in tf.data)"] / median["cached tensors"],
        "audio_features": "log-mel computed in the model graph (keras MelSpectrogram layer); the pipeline only "
        "decodes WAV to float32 waveforms",
        "text": "raw strings; TextVectorization in the graph",
    }
