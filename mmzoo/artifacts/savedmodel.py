"""SavedModel export: a `serve` signature on raw tensors and `serve_bytes` on encoded files.

Both signatures return the model output (`probabilities`, `prediction`, ...);
a `Classification` with `class_names` also returns the names: `top_class`
(string `(batch,)`, the most probable class), `top_k_classes` (string
`(batch, k)`) and `top_k_probabilities` (float32 `(batch, k)`), k = min(5,
classes), so a server needs neither mmzoo nor the task to read them.
"""

import keras
import tensorflow as tf

from mmzoo.specs import spec_from_config


def serving_signature(model):
    """`tf.TensorSpec`s of the model's raw inputs, named after the inputs, in a fixed (sorted) order."""
    specs = []
    for tensor in sorted(model.inputs, key=lambda t: t.name):
        specs.append(tf.TensorSpec(tuple(tensor.shape), tensor.dtype, name=tensor.name.split(":")[0]))
    return specs


def output_name(model):
    """The key of the model output in every signature (`probabilities`, `prediction`, ...)."""
    task = getattr(model, "task", None) if getattr(model, "task_config", None) else None
    return getattr(task, "output_name", "output")


BYTES_MODALITIES = ("image", "audio", "video")  # inputs `serve_bytes` takes as encoded files
NAME_OUTPUTS = ("top_class", "top_k_classes", "top_k_probabilities")
TOP_K = 5


def class_names(model):
    """The class names of `model`'s `Classification` task (from its config), or None."""
    task = getattr(model, "task_config", None) or {}
    if task.get("kind") != "classification" or not task.get("class_names"):
        return None
    return [str(name) for name in task["class_names"]]


def name_outputs(probabilities, names):
    """`top_class`, `top_k_classes` and `top_k_probabilities` of a batch of class probabilities.

    Args:
        probabilities: float tensor `(batch, classes)`.
        names: the class names, in class-id order.

    Returns:
        A dict of the three tensors (see the module docstring).
    """
    table = tf.constant(names, dtype=tf.string)
    top = tf.math.top_k(tf.cast(probabilities, tf.float32), k=min(TOP_K, len(names)))
    return {
        "top_class": tf.gather(table, top.indices[:, 0]),
        "top_k_classes": tf.gather(table, top.indices),
        "top_k_probabilities": top.values,
    }


def _specs_by_name(model):
    return {c["name"]: spec_from_config(c) for c in (getattr(model, "spec_configs", None) or [])}


def describe_bytes_input(spec):
    """What `serve_bytes` takes for `spec`'s input, for metadata and `saved_model_cli show`."""
    if spec is not None and spec.modality == "image":
        return f"string (batch,): PNG/JPEG/GIF/BMP bytes, {spec.shape[0]}x{spec.shape[1]} pixels"
    if spec is not None and spec.modality == "video":
        height, width, _ = spec.frame_shape
        return (
            f"string (batch,): animated GIF bytes, {height}x{width} frames (sampled uniformly, or padded "
            f"with the last frame, to {spec.frames} frames)"
        )
    if spec is not None and spec.modality == "audio":
        return f"string (batch,): WAV bytes at {spec.sample_rate} Hz (padded/cropped to {spec.num_samples} samples)"
    return "as in serve"


def decode_image(data, spec):
    """Decodes a batch of encoded images `(batch,)` to the spec's pixels `(batch, H, W, C)`.

    PNG, JPEG, GIF (first frame) and BMP, converted to the spec's channels;
    float specs get `uint8 / 255 / spec.scale`, so after the in-graph
    rescaling pixels are in [0, 1] as for uint8 input. An image of another
    size fails with an error naming the input.
    """
    height, width, channels = spec.shape

    def one(encoded):
        image = tf.io.decode_image(encoded, channels=channels, dtype=tf.uint8, expand_animations=False)
        shape = tf.shape(image)

        def wrong_size():
            fail = tf.debugging.Assert(
                False,
                [
                    f"Image input named {spec.name} expects {height}x{width} pixels (height x width); resize "
                    f"the image before encoding it. Received height, width:",
                    shape[:2],
                ],
            )
            with tf.control_dependencies([fail]):
                return tf.zeros((height, width, channels), tf.uint8)

        right = tf.reduce_all(tf.equal(shape[:2], [height, width]))
        image = tf.cond(right, lambda: tf.reshape(image, (height, width, channels)), wrong_size)
        return tf.ensure_shape(image, (height, width, channels))

    pixels = tf.map_fn(one, data, fn_output_signature=tf.TensorSpec((height, width, channels), tf.uint8))
    if spec.dtype == "uint8":
        return pixels
    return tf.cast(pixels, tf.float32) * (1.0 / 255.0 / spec.scale)


def decode_video(data, spec):
    """Decodes a batch of animated GIFs `(batch,)` to clips `(batch, frames, H, W, C)` of the spec.

    Frames are sampled uniformly (or the last one repeated) to `spec.frames`,
    as `mmzoo.data` does in evaluation, converted to the spec's channels and
    dtype like `decode_image`. A GIF of another frame size fails with an
    error naming the input.
    """
    from mmzoo.data.video import fit_frames

    height, width, channels = spec.frame_shape

    def one(encoded):
        clip = tf.io.decode_gif(encoded)
        check = tf.debugging.assert_equal(
            tf.shape(clip)[1:3],
            tf.constant([height, width]),
            message=f"Video input named {spec.name} expects {height}x{width} frames (height x width); resize "
            f"the clip before encoding it. Received height, width:",
        )
        with tf.control_dependencies([check]):
            clip = fit_frames(tf.identity(clip), spec.frames)
        if channels == 1:
            clip = tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(clip, tf.float32))), tf.uint8)
        return tf.ensure_shape(clip, spec.shape)

    clips = tf.map_fn(one, data, fn_output_signature=tf.TensorSpec(spec.shape, tf.uint8))
    if spec.dtype == "uint8":
        return clips
    return tf.cast(clips, tf.float32) * (1.0 / 255.0 / spec.scale)


def decode_audio(data, spec):
    """Decodes a batch of WAV files `(batch,)` to mono waveforms `(batch, num_samples)`.

    Channels are mixed down (mean); clips are zero-padded or cropped to the
    declared duration like `mmzoo.data` does. A WAV at another sample rate
    fails with an error naming the input.
    """

    def one(encoded):
        audio, rate = tf.audio.decode_wav(encoded)
        check = tf.debugging.assert_equal(
            rate,
            tf.constant(spec.sample_rate, tf.int32),
            message=f"Audio input named {spec.name} expects WAV at {spec.sample_rate} Hz; resample it first "
            f"(mmzoo.data does). Received sample rate:",
        )
        with tf.control_dependencies([check]):
            mono = tf.reduce_mean(audio, axis=-1)[: spec.num_samples]
        mono = tf.pad(mono, [[0, spec.num_samples - tf.shape(mono)[0]]])
        return tf.ensure_shape(mono, (spec.num_samples,))

    return tf.map_fn(one, data, fn_output_signature=tf.TensorSpec((spec.num_samples,), tf.float32))


def bytes_signature(model):
    """`serve_bytes` TensorSpecs: scalar strings per example for image, audio and video inputs, else as `serve`."""
    specs = _specs_by_name(model)
    signature = []
    for raw in serving_signature(model):
        spec = specs.get(raw.name)
        if spec is not None and spec.modality in BYTES_MODALITIES:
            signature.append(tf.TensorSpec((None,), tf.string, name=raw.name))
        else:
            signature.append(raw)
    return signature


def export_savedmodel(model, path, serve_bytes=True):
    """Writes `model` as a SavedModel with `serve` and (for mmzoo models) `serve_bytes` signatures.

    Args:
        model: a Keras model with named inputs (a `mmzoo.MultimodalModel`).
        path: output directory.
        serve_bytes: also write the `serve_bytes` signature. Each signature
            traces the model again (about 40% of the export time of a small
            model), so `mmzoo.testing.run_model_test` leaves it out: the
            decoding in front of the model is the same for every model.

    Returns:
        The signature metadata `{name: {"inputs": {...}, "outputs": [...]}}`.

    Example:
        >>> import os, tempfile, mmzoo
        >>> spec = mmzoo.Image("photo", shape=(8, 8, 3))
        >>> model = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(2))
        >>> sorted(export_savedmodel(model, os.path.join(tempfile.mkdtemp(), "m")))
        ['serve', 'serve_bytes']
    """
    signature = serving_signature(model)
    names = [s.name for s in signature]
    out = output_name(model)
    specs = _specs_by_name(model)
    classes = class_names(model)
    outputs = [out] + (list(NAME_OUTPUTS) if classes else [])

    def result(inputs):
        value = model(inputs, training=False)
        return {out: value, **(name_outputs(value, classes) if classes else {})}

    def serve(*args):
        return result(dict(zip(names, args)))

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=signature)
    meta = {"serve": {"inputs": {s.name: f"{s.dtype.name} {tuple(s.shape)}" for s in signature}, "outputs": outputs}}
    if specs and serve_bytes:

        def serve_bytes_fn(*args):
            inputs = {}
            for name, value in zip(names, args):
                spec = specs.get(name)
                if spec is not None and spec.modality == "image":
                    value = decode_image(value, spec)
                elif spec is not None and spec.modality == "audio":
                    value = decode_audio(value, spec)
                elif spec is not None and spec.modality == "video":
                    value = decode_video(value, spec)
                inputs[name] = value
            return result(inputs)

        archive.add_endpoint("serve_bytes", serve_bytes_fn, input_signature=bytes_signature(model))
        meta["serve_bytes"] = {
            "inputs": {
                n: describe_bytes_input(specs.get(n))
                if specs.get(n) and specs[n].modality in BYTES_MODALITIES
                else meta["serve"]["inputs"][n]
                for n in names
            },
            "outputs": outputs,
        }
    archive.write_out(path, verbose=False)
    return meta
