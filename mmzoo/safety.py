"""Pre-load inspection of model files: refuse what could run code before Keras reads it.

`mmzoo.load` calls `check_artifact` before Keras deserialises anything (Keras's
own `safe_mode=True` stays on behind it as a second line). A `.keras` file is
a zip: every member name is checked (no absolute path, no `..`, no backslash,
no link), then `config.json` is walked and refused if it names

- a layer that carries or loads code: `Lambda` (marshalled Python bytecode),
  `TFSMLayer` (loads a SavedModel, which is a program);
- a module outside `keras`/`mmzoo` (e.g. `os.system`, `subprocess.Popen`),
  unless the class is one this process already registered under that module;
- a loading, downloading or security-switching helper
  (`keras.config.enable_unsafe_deserialization`, `keras.utils.get_file`,
  `load_model`, ...) or a Python built-in such as `exec`/`eval`;
- a file read outside the archive: a lookup layer's `vocabulary` (or any
  `weights`) given as a path string.

Legacy `.h5`/`.hdf5` models are refused: mmzoo does not inspect them, and
Keras's safe mode did not cover them before Keras 3.11.3 (CVE-2025-9905).
Anything that is neither a `.keras` file nor a directory is refused. Every
refusal is an `UnsafeArtifactError` (a `ValueError`) naming the file, the
config entry (e.g. `config.layers[3].config.function`), the layer and the
offending value. `mmzoo.load(path, trust=True)` skips the inspector.
"""

import io
import json
import os
import re
import stat
import zipfile

import keras

_TRUST_HINT = ("If you wrote this file or trust its source, load it with "
               "mmzoo.load(path, trust=True).")
ALLOWED_PACKAGES = ("keras", "mmzoo")
# Modules inside keras that hold no modelling objects, only saving/loading/config switches.
DENIED_MODULES = ("keras.config", "keras.saving", "keras.export", "keras.src.saving",
                  "keras.src.export", "keras.src.legacy.saving", "keras.src.utils.file_utils",
                  "keras.src.utils.python_utils")
CODE_LAYERS = {
    "Lambda": "a Lambda layer carries Python code (marshalled bytecode) that runs when the "
              "model is rebuilt",
    "__lambda__": "a serialised Python lambda carries code that runs when it is rebuilt",
    "TFSMLayer": "a TFSMLayer loads a SavedModel from disk, and a SavedModel is a program",
}
# Names that load, download, save or switch off safety, and Python built-ins that run code.
DENIED_NAMES = frozenset(name.lower() for name in (
    "enable_unsafe_deserialization", "get_file", "load_model", "load_weights", "model_from_json",
    "save_model", "save_weights", "deserialize_keras_object", "register_keras_serializable",
    "clear_session", "load_img", "save_img", "image_dataset_from_directory",
    "text_dataset_from_directory", "audio_dataset_from_directory", "exec", "eval", "compile",
    "__import__", "import_module", "open", "system", "popen", "spawn", "fork", "getattr",
    "setattr", "delattr", "globals", "locals", "breakpoint", "check_call", "check_output",
    "remove", "unlink", "rmtree", "func_load", "lambda", "tfsmlayer"))
# Config keys whose string values are file paths read at load time.
FILE_KEYS = {"vocabulary": "reads the vocabulary from the file path",
             "weights": "reads weights from the file path"}


class UnsafeArtifactError(ValueError):
    """A model file `mmzoo.load` refuses without `trust=True`; the message says why."""


def check_artifact(path, data=None):
    """Refuses a model file or directory that could run code when loaded.

    A directory is left to the SavedModel rules of `mmzoo.load` (only
    artifacts mmzoo wrote, whose graphs hold only the ops mmzoo's exports
    use, load without trust); a `.keras` file is inspected (see the module
    docstring); anything else is refused.

    Args:
        path: the file or directory `mmzoo.load` was given.
        data: the file's bytes, when the caller read them already (then
            these are inspected, and `path` only names the file in errors).

    Raises:
        UnsafeArtifactError: naming the file, the rule and the offending entry.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "model.h5")
        >>> open(path, "wb").close()
        >>> try:
        ...     check_artifact(path)
        ... except UnsafeArtifactError as error:
        ...     print("mmzoo does not inspect legacy h5 files" in str(error))
        True
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        return
    if path.lower().endswith((".h5", ".hdf5")):
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': a legacy HDF5 (.h5/.hdf5) model. mmzoo does not inspect "
            f"legacy h5 files, and Keras's safe mode has been bypassed through them before (Keras "
            f"< 3.11.3 ignored safe_mode for h5 files, so a Lambda layer ran its code on load: "
            f"CVE-2025-9905). Re-save it as .keras from a trusted environment, or, if it comes "
            f"from a trusted source, load it with mmzoo.load(path, trust=True).")
    if not path.endswith(".keras"):
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': expected a .keras file or a SavedModel directory; "
            f"received a file named '{os.path.basename(path)}'.")
    check_keras_archive(path, data)


def check_keras_archive(path, data=None):
    """Checks a `.keras` zip: its member names, then every entry of its `config.json`.

    Args:
        path: the `.keras` file.
        data: its bytes, if already read (inspected instead of reading `path`).

    Raises:
        UnsafeArtifactError: listing every problem found.

    Example:
        >>> import os, tempfile, keras
        >>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
        >>> inputs = keras.Input((2,))
        >>> keras.Model(inputs, keras.layers.Dense(1)(inputs)).save(path)
        >>> check_keras_archive(path)  # nothing to refuse
    """
    source = path if data is None else io.BytesIO(data)
    if not zipfile.is_zipfile(source):
        raise UnsafeArtifactError(f"Refusing to load '{path}': a .keras file is a zip archive; "
                                  f"this file is not one.")
    with zipfile.ZipFile(source) as archive:
        infos = archive.infolist()
        problems = [f"archive member {info.filename!r}: {why}"
                    for info in infos for why in [member_problem(info)] if why]
        names = [info.filename for info in infos]
        problems += [f"archive member {name!r} appears more than once"
                     for name in sorted({n for n in names if names.count(n) > 1})]
        if problems:
            _refuse(path, problems)
        if "config.json" not in names:
            raise UnsafeArtifactError(f"Refusing to load '{path}': the archive has no config.json "
                                      f"(members: {', '.join(names[:10]) or 'none'}).")
        try:
            config = json.loads(archive.read("config.json"))
        except (ValueError, RecursionError) as error:
            raise UnsafeArtifactError(f"Refusing to load '{path}': its config.json is not valid "
                                      f"JSON ({type(error).__name__}: {error}).") from None
    problems = config_problems(config)
    if problems:
        _refuse(path, problems)


def member_problem(info):
    """Why a zip member's name or type is unsafe to extract, or None.

    Args:
        info: a `zipfile.ZipInfo` (or a member name).

    Returns:
        A short reason, or None for a name that stays inside the archive's folder.

    Example:
        >>> member_problem("assets/vocabulary.txt") is None, member_problem("../x")
        (True, "its path has a '..' component and would escape the extraction folder")
    """
    name = info if isinstance(info, str) else info.filename
    if not name or "\x00" in name:
        return "its name is empty or holds a NUL byte"
    if "\\" in name:
        return "its name holds a backslash (a path separator on Windows)"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "its path is absolute"
    if ".." in name.split("/"):
        return "its path has a '..' component and would escape the extraction folder"
    if not isinstance(info, str) and stat.S_ISLNK(info.external_attr >> 16):
        return "it is a symbolic link"
    return None


def config_problems(config):
    """Every unsafe entry of a Keras object config, as `"<where> (layer ...): <why>"` strings.

    Args:
        config: a config dict as in a `.keras` file's `config.json` (or
            `keras.saving.serialize_keras_object(model)`).

    Returns:
        A list of problems; empty when the config is safe to hand to Keras.

    Example:
        >>> lam = {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "f"}}
        >>> config_problems({"config": {"layers": [lam]}})[0][:51]
        "config.layers[0] (layer 'f'): class_name 'Lambda': "
    """
    problems = []
    stack = [(config, "", None)]
    while stack:
        node, where, layer = stack.pop()
        if isinstance(node, dict):
            inner = node.get("config")
            if isinstance(node.get("class_name"), str) and isinstance(inner, dict):
                layer = inner.get("name", layer)
            who = where or "config.json"
            who += f" (layer {layer!r})" if isinstance(layer, str) else ""
            problems += [f"{who}: {why}" for why in _object_problems(node)]
            for key, value in node.items():
                if key in FILE_KEYS and isinstance(value, str):
                    entry = f"{where}.{key}" if where else key
                    entry += f" (layer {layer!r})" if isinstance(layer, str) else ""
                    problems.append(f"{entry}: {FILE_KEYS[key]} {value!r}, outside the archive")
            stack += [(v, f"{where}.{k}" if where else str(k), layer)
                      for k, v in reversed(node.items())]
        elif isinstance(node, list):
            stack += [(v, f"{where}[{i}]", layer) for i, v in reversed(list(enumerate(node)))]
    return problems


def _object_problems(node):
    """Problems of one `{"module", "class_name", "config", "registered_name"}` entry."""
    class_name, module = node.get("class_name"), node.get("module")
    registered = node.get("registered_name")
    found = []
    if isinstance(class_name, str) and class_name in CODE_LAYERS:
        found.append(f"class_name {class_name!r}: {CODE_LAYERS[class_name]}")
    if isinstance(module, str) and _denied_module(module):
        found.append(f"module {module!r} (class_name {class_name!r}) holds saving, loading or "
                     f"configuration switches, not modelling objects")
    elif "module" in node and module is not None and not _module_allowed(module, registered):
        found.append(f"module {module!r} (class_name {class_name!r}) is outside the allowed "
                     f"packages ({', '.join(ALLOWED_PACKAGES)}); importing it could run "
                     f"arbitrary code")
    names = {"module": module, "class_name": class_name, "registered_name": registered}
    if class_name == "function":
        names["config"] = node.get("config")
    for field, value in names.items():
        denied = _denied_parts(value)
        if denied and not (field == "class_name" and class_name in CODE_LAYERS):
            found.append(f"{field} {value!r} names {', '.join(denied)}, which loads files, "
                         f"downloads, switches off safe mode or runs code")
    return found


def _denied_module(module):
    return any(module == denied or module.startswith(denied + ".") for denied in DENIED_MODULES)


def _module_allowed(module, registered_name):
    if not isinstance(module, str):
        return False
    if module.split(".")[0] in ALLOWED_PACKAGES:
        return True
    # A class this process registered itself (an mmzoo extension the user imported): Keras
    # resolves it from the registry and imports nothing.
    obj = keras.saving.get_registered_object(registered_name) if registered_name else None
    return obj is not None and getattr(obj, "__module__", None) == module


def _denied_parts(value):
    if not isinstance(value, str):
        return []
    parts = [p for p in re.split(r"[.>:/\s]+", value.lower()) if p]
    return sorted({p for p in parts if p in DENIED_NAMES})


def _refuse(path, problems):
    lines = [f"Refusing to load '{path}': it could run code or read files when loaded "
             f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):"]
    lines += [f"  - {p}" for p in problems[:10]]
    if len(problems) > 10:
        lines.append(f"  ... and {len(problems) - 10} more.")
    lines.append(_TRUST_HINT)
    raise UnsafeArtifactError("\n".join(lines))
