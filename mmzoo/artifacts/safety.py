"""Pre-load inspection of model files: refuse what could run code or read files before Keras reads it.

`mmzoo.load` calls `check_artifact` before Keras deserialises anything (Keras's
own `safe_mode=True` stays on behind it as a second line). A `.keras` file is
a zip, checked in this order:

- the archive: at most `MAX_MEMBERS` members, every name checked once (no
  absolute path, no `..`, no backslash, no link, no duplicate);
- `config.json`: read with a cap (`MAX_JSON_BYTES`, checked against the size
  the zip declares and again while inflating, since that size can lie), then
  walked; every object it names must resolve, without importing anything, to
  an allowlisted kind: a Keras or registered layer, initializer, regularizer,
  constraint, loss, metric, optimizer, learning-rate schedule or dtype policy,
  or a function from `keras.activations`/`keras.losses`/`keras.metrics`
  (`allowed_object`). Everything else is refused by name, and so is
  - a layer that carries or loads code: `Lambda` (marshalled Python bytecode),
    `TFSMLayer` (loads a SavedModel, which is a program);
  - a module outside `keras`/`mmzoo`, unless the class is one this process
    already registered under that module;
  - a file read outside the archive: a lookup layer's `vocabulary` (or any
    `weights`) given as a path string;
- `model.weights.h5`: no HDF5 external or soft link, no virtual dataset, no
  dataset stored in external files (each would make HDF5 read another file).

mmzoo's own layers never restore a file path from a config either
(`Encoder.file_arguments`), so `keras.saving.load_model` opens no path a file
names. Legacy `.h5`/`.hdf5` models are refused: mmzoo does not inspect them,
and Keras's safe mode did not cover them before Keras 3.11.3 (CVE-2025-9905).
Anything that is neither a `.keras` file nor a directory is refused. Every
refusal is an `UnsafeArtifactError` (a `ValueError`) naming the file, the
entry (e.g. `config.layers[3].config.function`, an archive member, an HDF5
dataset) and the offending value or limit. `mmzoo.load(path, trust=True)`
skips the inspector.
"""

import collections
import io
import json
import os
import re
import stat
import zipfile
import zlib

import h5py
import keras

from mmzoo.artifacts.allowlist import DATA_MARKERS, allowed_object, resolve_entry
from mmzoo.artifacts.hdf5_inspect import hdf5_problems, member_file

_TRUST_HINT = "If you wrote this file or trust its source, load it with mmzoo.load(path, trust=True)."
ALLOWED_PACKAGES = ("keras", "mmzoo")
# Modules inside keras that hold no modelling objects, only saving/loading/config switches.
DENIED_MODULES = (
    "keras.config",
    "keras.saving",
    "keras.export",
    "keras.src.saving",
    "keras.src.export",
    "keras.src.legacy.saving",
    "keras.src.utils.file_utils",
    "keras.src.utils.python_utils",
)
CODE_LAYERS = {
    "Lambda": "a Lambda layer carries Python code (marshalled bytecode) that runs when the model is rebuilt",
    "__lambda__": "a serialised Python lambda carries code that runs when it is rebuilt",
    "TFSMLayer": "a TFSMLayer loads a SavedModel from disk, and a SavedModel is a program",
}
# Names that load, download, save or switch off safety, and Python built-ins that run code.
DENIED_NAMES = frozenset(
    name.lower()
    for name in (
        "enable_unsafe_deserialization",
        "get_file",
        "load_model",
        "load_weights",
        "model_from_json",
        "save_model",
        "save_weights",
        "deserialize_keras_object",
        "register_keras_serializable",
        "clear_session",
        "load_img",
        "save_img",
        "image_dataset_from_directory",
        "text_dataset_from_directory",
        "audio_dataset_from_directory",
        "exec",
        "eval",
        "compile",
        "__import__",
        "import_module",
        "open",
        "system",
        "popen",
        "spawn",
        "fork",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "breakpoint",
        "check_call",
        "check_output",
        "remove",
        "unlink",
        "rmtree",
        "func_load",
        "lambda",
        "tfsmlayer",
    )
)
# Config keys whose string values are file paths read at load time.
FILE_KEYS = {"vocabulary": "reads the vocabulary from the file path", "weights": "reads weights from the file path"}

# Archive limits. A genuine config.json is a few hundred KiB (vocabularies live in assets/);
# a .keras file holds config.json, metadata.json, the weights and one asset folder per layer.
MAX_JSON_BYTES = 16 * 2**20
MAX_MEMBERS = 10_000
READ_CHUNK = 2**20
WEIGHTS_MEMBER = "model.weights.h5"
# A compressed weights member is copied to a temporary file to be inspected; past this size it
# must not expand more than MAX_EXPANSION times its stored size (Keras writes members stored, 1:1).
BOMB_FLOOR_BYTES = 2**28
MAX_EXPANSION = 100


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
            f"from a trusted source, load it with mmzoo.load(path, trust=True)."
        )
    if not path.endswith(".keras"):
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': expected a .keras file or a SavedModel directory; "
            f"received a file named '{os.path.basename(path)}'."
        )
    check_keras_archive(path, data)


def check_keras_archive(path, data=None):
    """Checks a `.keras` zip: its members, its `config.json`, then its HDF5 weights file.

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
    import mmzoo.artifacts.frontend  # noqa: F401  (with mmzoo.models: mmzoo's classes, which the allowlist resolves)
    import mmzoo.models  # noqa: F401

    with open_keras_archive(path, data) as archive:
        infos = archive.infolist()
        problems = archive_problems(infos)
        if problems:
            _refuse(path, problems)
        names = {info.filename for info in infos}
        if "config.json" not in names:
            raise UnsafeArtifactError(
                f"Refusing to load '{path}': the archive has no config.json "
                f"(members: {', '.join(sorted(names)[:10]) or 'none'})."
            )
        config = parse_json(read_member(archive, "config.json", path), path, "config.json")
        import_optional_packages(config, path)
        problems = config_problems(config)
        if WEIGHTS_MEMBER in names:
            problems += weights_problems(archive, path)
    if problems:
        _refuse(path, problems)


# Optional packages whose classes a saved mmzoo model may hold (KerasHub backbones and tokenizers):
# imported only when a config names one of their modules, so that the allowlist can resolve
# those classes as registered by this process; never a module named in the file itself.
OPTIONAL_PACKAGES = {"keras_hub": 'pip install "mmzoo[hub]"'}


def import_optional_packages(config, path):
    """Imports each of `OPTIONAL_PACKAGES` that `config` names a module of; an ImportError naming the extra."""
    import importlib

    named, stack = set(), [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module = node.get("module")
            if isinstance(module, str) and module.split(".")[0] in OPTIONAL_PACKAGES:
                named.add(module.split(".")[0])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    for package in sorted(named):
        try:
            importlib.import_module(package)
        except ImportError:
            raise ImportError(
                f"'{path}' holds {package} layers (a pretrained encoder); install them: {OPTIONAL_PACKAGES[package]}."
            ) from None


def open_keras_archive(path, data=None):
    """`zipfile.ZipFile` of `path` (or of its bytes `data`), or an `UnsafeArtifactError` naming the file."""
    source = path if data is None else io.BytesIO(data)
    if not zipfile.is_zipfile(source):
        raise UnsafeArtifactError(f"Refusing to load '{path}': a .keras file is a zip archive; this file is not one.")
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': its zip structure is broken ({type(error).__name__}: {error})."
        ) from None


def read_keras_config(path):
    """The parsed `config.json` of a `.keras` file, read within `MAX_JSON_BYTES`; nothing deserialised.

    For readers of a `.keras` file's metadata (e.g. `python -m mmzoo predict`).

    Raises:
        UnsafeArtifactError: for a file that is not a zip, has no `config.json`,
            or whose `config.json` is over the limit or not JSON.
    """
    with open_keras_archive(path) as archive:
        return parse_json(read_member(archive, "config.json", path), path, "config.json")


def read_member(archive, name, path, limit=None):
    """The bytes of archive member `name`, refused past `limit` bytes.

    The size the zip declares is checked first; the member is then inflated
    in `READ_CHUNK` pieces and the read stops as soon as it passes `limit`,
    because the declared size is attacker-written and can lie.

    Args:
        archive: an open `zipfile.ZipFile`.
        name: the member, e.g. "config.json".
        path: the archive's path, for messages.
        limit: the most bytes accepted; `MAX_JSON_BYTES` by default.

    Raises:
        UnsafeArtifactError: naming the file, the member and the limit.
    """
    limit = MAX_JSON_BYTES if limit is None else limit
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise UnsafeArtifactError(f"Refusing to load '{path}': the archive has no {name}.") from None
    if info.file_size > limit:
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': archive member '{name}' declares {info.file_size:,} bytes "
            f"uncompressed, over the {limit:,}-byte limit for it (a decompression bomb, not a model "
            f"file). {_TRUST_HINT}"
        )
    try:
        data = _read_capped(archive, info, limit)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as error:
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': archive member '{name}' is unreadable ({type(error).__name__}: {error})."
        ) from None
    if data is None:
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': archive member '{name}' inflates past the {limit:,}-byte "
            f"limit for it although it declares {info.file_size:,} bytes (a decompression bomb). "
            f"{_TRUST_HINT}"
        )
    return data


def _read_capped(archive, info, limit):
    """The member's bytes, read `READ_CHUNK` at a time; None as soon as they pass `limit`."""
    chunks, total = [], 0
    with archive.open(info) as member:
        while chunk := member.read(READ_CHUNK):
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def read_json_file(path, limit=None):
    """A JSON metadata file (e.g. a SavedModel's `assets.extra/mmzoo.json`), refused past `limit` bytes.

    Raises:
        UnsafeArtifactError: for a file over the limit (`MAX_JSON_BYTES` by default) or not JSON.
    """
    limit = MAX_JSON_BYTES if limit is None else limit
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise UnsafeArtifactError(
            f"Refusing to read '{path}': it holds more than the {limit:,}-byte limit for a metadata file."
        )
    return parse_json(data, path, os.path.basename(path))


def parse_json(data, path, name):
    """`json.loads(data)`, or an `UnsafeArtifactError` naming the file and member."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': its {name} is not valid JSON ({type(error).__name__}: {error})."
        ) from None


def archive_problems(infos):
    """Problems of an archive's member list, in one pass (linear in the number of members).

    Args:
        infos: `zipfile.ZipInfo`s (or member names).

    Returns:
        A list of problems; empty for a member list that is safe to extract.

    Example:
        >>> archive_problems(["config.json", "assets/a", "assets/a"])
        ["archive member 'assets/a' appears more than once"]
    """
    if len(infos) > MAX_MEMBERS:
        return [
            f"the archive has {len(infos):,} members, over the limit of {MAX_MEMBERS:,} "
            f"(a .keras file holds a config, the weights and one asset folder per layer)"
        ]
    problems = [f"archive member {_name(info)!r}: {why}" for info in infos for why in [member_problem(info)] if why]
    counts = collections.Counter(_name(info) for info in infos)
    problems += [
        f"archive member {name!r} appears more than once" for name, count in sorted(counts.items()) if count > 1
    ]
    return problems


def _name(info):
    return info if isinstance(info, str) else info.filename


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
            stack += [(v, f"{where}.{k}" if where else str(k), layer) for k, v in reversed(node.items())]
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
        found.append(
            f"module {module!r} (class_name {class_name!r}) holds saving, loading or "
            f"configuration switches, not modelling objects"
        )
    elif "module" in node and module is not None and not _module_allowed(module, class_name, registered):
        found.append(
            f"module {module!r} (class_name {class_name!r}) is outside the allowed "
            f"packages ({', '.join(ALLOWED_PACKAGES)}); importing it could run "
            f"arbitrary code"
        )
    names = {"module": module, "class_name": class_name, "registered_name": registered}
    if class_name == "function":
        names["config"] = node.get("config")
    for field, value in names.items():
        denied = _denied_parts(value)
        if denied and not (field == "class_name" and class_name in CODE_LAYERS):
            found.append(
                f"{field} {value!r} names {', '.join(denied)}, which loads files, "
                f"downloads, switches off safe mode or runs code"
            )
    if not found and isinstance(class_name, str) and class_name not in DATA_MARKERS:
        found += _allowlist_problems(node)
    return found


def _allowlist_problems(node):
    """Why a class or function entry is not on the allowlist (see `allowed_object`), or []."""
    class_name, module = node.get("class_name"), node.get("module")
    if class_name == "function":
        what, name = "function", node.get("config")
    else:
        what, name = "class", class_name
    candidates = resolve_entry(node)
    if not candidates:
        return [
            f"{what} {name!r} from module {module!r} is neither a Keras object nor one registered "
            f"in this process; Keras would have to import or guess it"
        ]
    refused = [obj for obj in candidates if not allowed_object(obj)]
    if refused:
        qualified = ", ".join(
            sorted({f"{getattr(o, '__module__', '?')}.{getattr(o, '__qualname__', o)}" for o in refused})
        )
        return [
            f"{what} {name!r} from module {module!r} resolves to {qualified}, which is not on "
            f"the allowlist (Keras/mmzoo layers, activations, initializers, regularizers, "
            f"constraints, losses, metrics, optimizers, learning-rate schedules)"
        ]
    return []


def weights_problems(archive, path):
    """Problems of the `.keras` file's `model.weights.h5`: links and datasets that read other files.

    The member is inspected in place when stored (as Keras writes it), else
    copied to a temporary file after a decompression-bomb check; only HDF5
    metadata is read, never the weights.

    Args:
        archive: the open `zipfile.ZipFile`.
        path: the archive's path, for messages.

    Returns:
        A list of `"model.weights.h5 <dataset path>: <why>"` problems.
    """
    info = archive.getinfo(WEIGHTS_MEMBER)
    if info.file_size > BOMB_FLOOR_BYTES and info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
        return [
            f"archive member '{WEIGHTS_MEMBER}' declares {info.file_size:,} bytes but stores "
            f"{info.compress_size:,} (over {MAX_EXPANSION}x: a decompression bomb)"
        ]
    try:
        with member_file(archive, info, READ_CHUNK) as fileobj, h5py.File(fileobj, "r") as h5:
            return [f"{WEIGHTS_MEMBER} {where}: {why}" for where, why in hdf5_problems(h5)]
    except (OSError, ValueError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as error:
        return [f"archive member '{WEIGHTS_MEMBER}' is not a readable HDF5 file ({type(error).__name__}: {error})"]


def _denied_module(module):
    return any(module == denied or module.startswith(denied + ".") for denied in DENIED_MODULES)


def _module_allowed(module, class_name, registered_name):
    if not isinstance(module, str):
        return False
    if module.split(".")[0] in ALLOWED_PACKAGES:
        return True
    if module == "builtins" and class_name == "function":
        # How Keras saves its own loss and metric functions: it looks the name up in its built-in
        # modules and imports nothing; the allowlist then checks what the name resolves to.
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
    lines = [
        f"Refusing to load '{path}': it could run code or read files when loaded "
        f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):"
    ]
    lines += [f"  - {p}" for p in problems[:10]]
    if len(problems) > 10:
        lines.append(f"  ... and {len(problems) - 10} more.")
    lines.append(_TRUST_HINT)
    raise UnsafeArtifactError("\n".join(lines))
