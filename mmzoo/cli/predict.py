"""`python -m mmzoo predict`: one example from the command line through any mmzoo artifact.

A thin layer over `mmzoo.artifacts.runtime.predict_from_artifact`: it reads
the artifact's input specs from its metadata (the `.keras` config, the
SavedModel's `assets.extra/mmzoo.json`, the `.tflite`/`.onnx` sidecar), turns
each command-line value into that input's array (text as is, image and WAV
files decoded and fitted to the spec, features from numbers or a `.npy`
file), runs the artifact and prints the predictions, with class names when
the task has them.

    python -m mmzoo predict --model run/model.keras --text "a fine film" --image poster.png --audio voice.wav
    python -m mmzoo predict --model run/savedmodel --input digit=seven.png --input voice=seven.wav --json

`--text/--image/--audio/--features VALUE` go to the model's only input of that
modality; `--input NAME=VALUE` names the input (needed when a modality has
several). A missing, unknown or unreadable input is an error naming it.

Example:
    >>> parse_assignment("review=a fine film")
    ('review', 'a fine film')
"""

import json
import os

import numpy as np

from mmzoo.artifacts.runtime import artifact_format

MODALITY_FLAGS = ("text", "image", "audio", "features")
PRESENT_SUFFIX = "_present"


class PredictInputError(ValueError):
    """A command-line input that does not fit the artifact (the message names the input)."""


def parse_assignment(text):
    """`"name=value"` -> `(name, value)`; the value may contain "=" itself."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise PredictInputError(f"--input expects NAME=VALUE; received {text!r}.")
    return name.strip(), value


def artifact_metadata(path):
    """`(spec configs, task config, expected input names or None)` from an artifact's own metadata."""
    kind = artifact_format(path)
    if kind == "keras":
        from mmzoo.artifacts.safety import read_keras_config

        config = read_keras_config(path).get("config", {})  # bounded read; nothing is deserialized here
        names = [
            layer["config"]["name"] for layer in config.get("layers", []) if layer.get("class_name") == "InputLayer"
        ]
        return config.get("specs") or [], config.get("task"), names or None
    if kind == "savedmodel":
        from mmzoo.artifacts.export import read_metadata

        meta = read_metadata(path) or {}
        serve = (meta.get("signature") or {}).get("serve") or {}
        names = list(serve.get("inputs", {})) or None
        return meta.get("inputs") or [], meta.get("task"), names
    from mmzoo.artifacts.sidecars import read_sidecars

    meta = read_sidecars(path) or {}
    return meta.get("specs") or [], meta.get("task"), list(meta.get("inputs", {})) or None


def gather_values(specs, flags, assignments):
    """`{input name: raw command-line value}` from the modality flags and `NAME=VALUE` assignments."""
    by_modality = {}
    for spec in specs:
        by_modality.setdefault(spec["modality"], []).append(spec["name"])
    names = [spec["name"] for spec in specs]
    values = {}
    for modality, value in flags.items():
        if value is None:
            continue
        candidates = by_modality.get(modality, [])
        if len(candidates) != 1:
            described = ", ".join(f"'{s['name']}' ({s['modality']})" for s in specs) or "none recorded"
            problem = "has no" if not candidates else f"has {len(candidates)}"
            raise PredictInputError(
                f"--{modality}: the model {problem} {modality} input(s); its inputs are "
                f"{described}. Use --input NAME=VALUE."
            )
        values[candidates[0]] = value
    unknown = []
    for name, value in assignments:
        if names and name not in names:
            unknown.append(name)
        elif name in values:
            raise PredictInputError(f"Input '{name}' is given twice.")
        values[name] = value
    missing = [n for n in names if n not in values]
    problems = []
    if unknown:
        problems.append(
            f"--input {', '.join(f'{n}=...' for n in unknown)}: the model has no input{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(n) for n in unknown)}; its inputs are {', '.join(repr(n) for n in names)}."
        )
    if missing:
        hints = [f"'{n}' (--{s['modality']} or --input {n}=...)" for n in missing for s in specs if s["name"] == n]
        problems.append(f"Input(s) {', '.join(hints)} missing: the model needs every input.")
    if problems:
        raise PredictInputError(" ".join(problems))
    return values


def to_array(spec, value):
    """One example's batch-of-1 array for `spec` (a spec config) from its command-line value."""
    from mmzoo.specs import spec_from_config

    name, modality = spec["name"], spec["modality"]
    if modality == "text" and not spec.get("token_ids"):
        _check_utf8(name, value)
        return np.array([value], dtype=object)
    if modality in ("image", "audio", "video"):
        if not os.path.isfile(value):
            raise PredictInputError(f"{modality.capitalize()} input '{name}': no file '{value}'.")
        return _load_file(spec_from_config(spec), value)
    return _numbers(spec, value)


def _check_utf8(name, value):
    """Command-line bytes that are not UTF-8 reach Python as lone surrogates (`surrogateescape`): refuse them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        char = value[error.start]
        byte = f"0x{ord(char) - 0xDC00:02x}" if 0xDC80 <= ord(char) <= 0xDCFF else repr(char)
        raise PredictInputError(
            f"Text input '{name}' expects UTF-8 text; the value has the byte {byte} at "
            f"character {error.start}, which is not valid UTF-8. Convert it first (e.g. "
            f"`iconv -f latin1 -t utf-8`)."
        ) from None


def _load_file(spec, path):
    import tensorflow as tf

    from mmzoo.data.decode import check_wav, load_audio, load_image, read_wav_header

    if spec.modality == "video":
        return _load_clip(spec, path)
    if spec.modality == "audio":
        try:
            problem = check_wav(read_wav_header(path), spec, resample_audio=True)
        except ValueError as error:
            problem = ("corrupt file", str(error), "")
        if problem is not None:
            reason, detail, fix = problem
            raise PredictInputError(f"Audio input '{spec.name}': {path} is a {reason}: {detail}. {fix}".strip())
        return load_audio(path, spec, resample_audio=True).numpy()[None]
    try:
        return load_image(path, spec, resize=True).numpy()[None]
    except (tf.errors.InvalidArgumentError, ValueError) as error:
        raise PredictInputError(
            f"Image input '{spec.name}': cannot decode {path} as PNG/JPEG/GIF/BMP ({str(error).splitlines()[0]})."
        ) from None


def _numbers(spec, value):
    """Features (or token ids) from a `.npy` file or numbers separated by commas/spaces."""
    shape = tuple(spec.get("shape") or (-1,))
    dtype = "int32" if spec["modality"] == "text" else "float32"
    try:
        array = (
            np.load(value)
            if value.endswith(".npy")
            else np.array([float(v) for v in value.replace(",", " ").split()], dtype)
        )
    except (OSError, ValueError) as error:
        raise PredictInputError(
            f"Input '{spec['name']}' expects numbers separated by commas or a .npy file; received {value!r} ({error})."
        ) from None
    if array.size != int(np.prod(shape)):
        raise PredictInputError(
            f"Input '{spec['name']}' expects {int(np.prod(shape))} values (shape {shape}); received {array.size}."
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        position = int(np.flatnonzero(~np.isfinite(array.reshape(-1)))[0])
        raise PredictInputError(
            f"Input '{spec['name']}' expects finite numbers; value {position} is "
            f"{array.reshape(-1)[position]}. Replace NaN/Inf values first."
        )
    return array.astype(dtype).reshape((1,) + shape)


def prepare_inputs(path, flags=None, assignments=()):
    """`({input name: batch-of-1 array}, task config)` for the artifact at `path` from command-line values."""
    specs, task, expected = artifact_metadata(path)
    values = gather_values(specs, flags or {}, [parse_assignment(a) for a in assignments])
    by_name = {spec["name"]: spec for spec in specs}
    inputs = {}
    for name, value in values.items():
        if name in by_name:
            inputs[name] = to_array(by_name[name], value)
        else:  # an input without a recorded spec (not an mmzoo model): numbers or a .npy file
            inputs[name] = _numbers({"name": name, "modality": "features", "shape": None}, value)
    for name in expected or []:
        if name.endswith(PRESENT_SUFFIX) and name not in inputs and name[: -len(PRESENT_SUFFIX)] in inputs:
            inputs[name] = np.array([True])  # every given modality is present
    return inputs, task


def describe(outputs, task, top=5):
    """Printable lines and a JSON-able dict of the predictions of one example."""
    from mmzoo.artifacts.savedmodel import NAME_OUTPUTS

    task = task or {}
    record = {"outputs": {k: _plain(v) for k, v in outputs.items()}}
    lines = []
    for key, value in outputs.items():
        if key in NAME_OUTPUTS:  # a SavedModel's class names of the main output, shown with it below
            continue
        row = np.asarray(value, dtype="float64").reshape(len(value), -1)[0]
        if task.get("kind") in ("classification", "multilabel"):
            names = task.get("class_names") or task.get("label_names")
            order = np.argsort(-row)[:top]
            record["top"] = [
                {"class": int(i), "name": names[i] if names else None, "probability": float(row[i])} for i in order
            ]
            lines.append(f"{key} (top {len(order)} of {len(row)}):")
            lines += [f"  {row[i]:.4f}  " + (f"{names[i]} (class {i})" if names else f"class {i}") for i in order]
        else:
            lines.append(f"{key}: " + ", ".join(f"{v:.6g}" for v in row))
    return lines, record


def _plain(value):
    """A JSON-able list of an output array; string tensors' bytes become text."""
    array = np.asarray(value)
    if array.dtype.kind in "OS":
        return np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else str(v), otypes=[object])(array).tolist()
    return array.tolist()


def main(args):
    """Runs `predict` for parsed CLI `args`; returns the exit status (errors exit with the message)."""
    from mmzoo.artifacts.runtime import predict_from_artifact

    flags = {m: getattr(args, m, None) for m in MODALITY_FLAGS}
    try:
        inputs, task = prepare_inputs(args.model, flags, args.inputs or ())
        outputs = predict_from_artifact(args.model, inputs, trust=args.trust)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"mmzoo predict: {error}") from None
    lines, record = describe(outputs, task, top=args.top)
    print(json.dumps(record) if args.json else "\n".join(lines))
    return 0


def _load_clip(spec, path):
    """A video file (GIF, or MP4/WebM/AVI/MKV/MOV through PyAV) as a batch of one clip, frames sampled uniformly."""
    from mmzoo.data import video

    try:
        info = video.probe_video(path)
    except ValueError as error:
        raise PredictInputError(f"Video input '{spec.name}': cannot decode {path} ({error}).") from None
    gif = not video.is_container(path)
    return video.load_clip(path, info.num_frames, spec, resize=True, gif=gif).numpy()[None]
