"""Keras side of the throughput benchmark: the mmzoo models and hand-written Keras baselines.

`build_mmzoo(name)` is the zoo architecture at the reference input set, text
as token ids (like the PyTorch ports, whose tokenizer runs outside the model;
the cost of mmzoo's in-graph `TextVectorization` on raw strings is measured
separately by the benchmark). `build_handwritten(name)` is the same network
written as a plain Keras functional model, no mmzoo import, the way a Keras
user would write it from the Keras guides; it exists for the architectures in
`HANDWRITTEN` and is compiled with Adam, sparse cross-entropy and accuracy.
"""

import numpy as np

VOCABULARY, TOKENS, IMAGE_SIZE, SAMPLE_RATE, CLASSES = 20_000, 64, 64, 16_000, 10
# the `video_step` benchmark's clips: RGB, 8 frames of 32x32, through mmzoo's r2plus1d encoder
VIDEO_FRAMES, VIDEO_SIZE, VIDEO_ENCODER = 8, 32, ("r2plus1d", {})
HANDWRITTEN = ("early_fusion", "tfn")


def reference_specs(
    modalities=("audio", "image", "text"), sequence_length=TOKENS, image_size=IMAGE_SIZE, token_ids=True
):
    """The reference input set as mmzoo specs (text as token ids unless `token_ids=False`)."""
    import mmzoo
    from mmzoo.models.reference import reference_inputs

    if not token_ids:
        return reference_inputs(modalities, sequence_length=sequence_length, image_size=image_size)
    specs = []
    for m in modalities:
        if m == "video":
            specs.append(mmzoo.Video("video", frames=VIDEO_FRAMES, shape=(VIDEO_SIZE, VIDEO_SIZE, 3)))
        elif m == "text":
            specs.append(
                mmzoo.Text("text", vocabulary_size=VOCABULARY, sequence_length=sequence_length, token_ids=True)
            )
        else:
            specs += reference_inputs((m,), sequence_length=sequence_length, image_size=image_size)
    return specs


def build_mmzoo(name, modalities=("audio", "image", "text"), jit_compile=None, steps_per_execution=1, **sizes):
    """`mmzoo.build_model(name, reference specs)` compiled as mmzoo compiles it (plus benchmark knobs)."""
    import mmzoo
    from mmzoo.registry import MODELS

    specs = reference_specs(modalities, **sizes)
    if MODELS.meta(name).get("task") == "retrieval":
        specs = [s for s in specs if s.name in ("image", "text")][:2] if len(specs) > 2 else specs
        task = mmzoo.Retrieval()
    else:
        task = mmzoo.Classification(num_classes=CLASSES)
    encoders = {"video": VIDEO_ENCODER} if "video" in modalities else None
    model = mmzoo.build_model(name, specs, task, encoders=encoders, compile=False)
    task.compile(
        model, jit_compile=False if jit_compile is None else jit_compile, steps_per_execution=steps_per_execution
    )
    return model


def reference_arrays(
    batch, modalities=("audio", "image", "text"), sequence_length=TOKENS, image_size=IMAGE_SIZE, seed=0, strings=False
):
    """Random inputs `{name: array}` and integer labels for one batch."""
    rng = np.random.default_rng(seed)
    x = {}
    if "audio" in modalities:
        x["audio"] = (0.1 * rng.standard_normal((batch, SAMPLE_RATE))).astype("float32")
    if "image" in modalities:
        x["image"] = rng.integers(0, 256, (batch, image_size, image_size, 3)).astype("uint8")
    if "video" in modalities:
        x["video"] = rng.integers(0, 256, (batch, VIDEO_FRAMES, VIDEO_SIZE, VIDEO_SIZE, 3)).astype("uint8")
    if "text" in modalities:
        ids = rng.integers(2, VOCABULARY, (batch, sequence_length)).astype("int32")
        x["text"] = np.array([" ".join(f"w{i - 2}" for i in row) for row in ids], dtype=object) if strings else ids
    return x, rng.integers(0, CLASSES, (batch,)).astype("int32")


# ---- hand-written Keras (no mmzoo) ---------------------------------------------------------------


def _cnn(x, prefix):
    import keras

    for i, f in enumerate((32, 64, 128)):
        x = keras.layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"{prefix}_conv{i}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"{prefix}_bn{i}")(x)
        x = keras.layers.ReLU(name=f"{prefix}_relu{i}")(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"{prefix}_pool{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(x)
    x = keras.layers.Dropout(0.1, name=f"{prefix}_drop")(x)
    return keras.layers.Dense(128, activation="relu", name=f"{prefix}_proj")(x)


def _branches(sequence_length=TOKENS, image_size=IMAGE_SIZE, modalities=("audio", "image", "text")):
    import keras

    inputs, features = {}, []
    if "audio" in modalities:
        inputs["audio"] = audio = keras.Input((SAMPLE_RATE,), name="audio")
        a = keras.layers.MelSpectrogram(
            fft_length=512,
            sequence_stride=160,
            sequence_length=400,
            sampling_rate=SAMPLE_RATE,
            num_mel_bins=64,
            max_freq=SAMPLE_RATE / 2,
            top_db=1e6,
            min_power=1e-10,
        )(audio)
        a = keras.layers.Permute((2, 1))(a)
        a = keras.layers.LayerNormalization(axis=(-2, -1), center=False, scale=False)(a)
        features.append(_cnn(keras.layers.Reshape((-1, 64, 1))(a), "audio"))
    if "image" in modalities:
        inputs["image"] = image = keras.Input((image_size, image_size, 3), dtype="uint8", name="image")
        features.append(_cnn(keras.layers.Rescaling(1.0 / 255)(image), "image"))
    if "text" in modalities:
        inputs["text"] = text = keras.Input((sequence_length,), dtype="int32", name="text")
        t = keras.layers.Embedding(VOCABULARY, 64, mask_zero=True)(text)
        features.append(keras.layers.Bidirectional(keras.layers.LSTM(64))(t))
    return inputs, features


def build_handwritten(
    name, modalities=("audio", "image", "text"), sequence_length=TOKENS, image_size=IMAGE_SIZE, jit_compile=False
):
    """The architecture as a plain Keras functional model (see `HANDWRITTEN`)."""
    import keras

    class OuterProduct(keras.layers.Layer):
        """TFN's flattened outer product of `[h; 1]` vectors (a hand-written user's small custom layer)."""

        def call(self, xs):
            z = None
            for x in xs:
                a = keras.ops.concatenate([x, keras.ops.ones_like(x[:, :1])], axis=-1)
                z = (
                    a
                    if z is None
                    else keras.ops.reshape(z[:, :, None] * a[:, None, :], (-1, z.shape[-1] * a.shape[-1]))
                )
            return z

    inputs, features = _branches(sequence_length, image_size, modalities)
    if name == "early_fusion":
        x = keras.layers.Concatenate()(features) if len(features) > 1 else features[0]
    elif name == "tfn":
        x = OuterProduct()([keras.layers.Dense(12)(f) for f in features])
    else:
        raise KeyError(f"No hand-written Keras model for '{name}'; have {HANDWRITTEN}.")
    x = keras.layers.Dropout(0.2)(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    outputs = keras.layers.Dense(CLASSES, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name=f"handwritten_{name}")
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model
