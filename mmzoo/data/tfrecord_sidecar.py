"""The JSON sidecar of a sharded TFRecord dataset: what `from_tfrecords` needs to read it back.

`<prefix>.json` holds the input specs (`spec.get_config()`, plus the adapted
state a config leaves out: Text vocabularies and IDF weights, Features
normalization statistics), the label dtype and shape, the shard files with
their record counts, and the compression. It is written last and atomically
(temporary file, fsync, `os.replace`), so it only ever describes complete shards.
"""

import json
import os

import numpy as np

from mmzoo.specs import Features, Text, spec_from_config

FORMAT = "mmzoo.tfrecords"
VERSION = 1
COMPRESSIONS = ("GZIP", "ZLIB", None)


def sidecar_path(path):
    """`<prefix>.json` for a path prefix; a path ending in `.json` is the sidecar itself."""
    return path if path.endswith(".json") else path + ".json"


def spec_entry(spec):
    """`(config, state)`: `spec.get_config()` and the adapted state its config leaves out.

    Text puts an adapted vocabulary in the config (`vocabulary=`), or, for
    "tf_idf", vocabulary and IDF weights in the state; adapted Features keep
    their `Normalization` variables in the state. (The specs keep these
    layers private: in a model they are saved with the layer, not the config.)
    """
    config, state = spec.get_config(), {}
    if isinstance(spec, Text) and not spec.token_ids and spec.adapted:
        vocabulary = [str(token) for token in spec.get_vocabulary()]
        if spec.output_mode == "tf_idf":
            weights = {}
            spec._vectorize_layer().save_own_variables(weights)
            state = {"vocabulary": vocabulary, "idf_weights": np.asarray(weights["idf_weights"]).tolist()}
        else:
            config["vocabulary"] = vocabulary
    if isinstance(spec, Features) and spec.normalize and spec.adapted:
        layer, variables = spec._normalizer, {}
        layer.save_own_variables(variables)
        state = {
            "build": layer.get_build_config(),
            "variables": {k: np.asarray(v).tolist() for k, v in variables.items()},
        }
    return config, state


def rebuild_spec(config, state, where):
    """The spec `spec_entry` described, adapted state restored; errors name `where` and the entry."""
    try:
        spec = spec_from_config(config)
        if state and isinstance(spec, Text):
            spec._vectorize_layer().set_vocabulary(state["vocabulary"], idf_weights=np.asarray(state["idf_weights"]))
        elif state and isinstance(spec, Features):
            spec._normalizer.build_from_config(state["build"])
            spec._normalizer.load_own_variables({k: np.asarray(v) for k, v in state["variables"].items()})
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"{where}: cannot rebuild the input spec {config!r} (state: {sorted(state or {})}): {error}"
        ) from None
    return spec


def write_sidecar(sidecar, meta):
    """Writes `meta` to `sidecar` atomically (temporary file in the same folder, fsync, `os.replace`)."""
    directory, name = os.path.split(os.path.abspath(sidecar))
    temp = os.path.join(directory, f".{name}.tmp-{os.getpid()}")
    try:
        with open(temp, "w") as f:
            json.dump({"format": FORMAT, "version": VERSION, **meta}, f, indent=1)
        fsync(temp)
        os.replace(temp, sidecar)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def fsync(path):
    """Flushes `path` to disk before it is renamed into place."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def previous_shards(sidecar):
    """Shard file names an existing sidecar lists (empty if there is none or it is unreadable)."""
    try:
        with open(sidecar) as f:
            return {shard["file"] for shard in json.load(f)["shards"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def read_sidecar(path):
    """Loads and checks a sidecar; returns `(meta, inputs, shard_paths)`.

    Raises `FileNotFoundError` naming a missing sidecar or shard, and
    `ValueError` naming the sidecar and the entry that is malformed.
    """
    sidecar = sidecar_path(path)
    if not os.path.exists(sidecar):
        raise FileNotFoundError(
            f"No TFRecord sidecar '{sidecar}': write the dataset with "
            f"mmzoo.data.to_tfrecords (an interrupted write leaves no sidecar)."
        )
    try:
        with open(sidecar) as f:
            meta = json.load(f)
    except ValueError as error:
        raise ValueError(f"TFRecord sidecar '{sidecar}' is not valid JSON: {error}.") from None
    missing = [
        k
        for k in ("format", "version", "compression", "inputs", "label", "num_records", "shards")
        if not isinstance(meta, dict) or k not in meta
    ]
    if missing or meta["format"] != FORMAT or meta["version"] != VERSION:
        raise ValueError(
            f"TFRecord sidecar '{sidecar}' is not an mmzoo {FORMAT} v{VERSION} sidecar "
            f"(missing entries: {missing or 'none'}; format/version: "
            f"{meta.get('format') if isinstance(meta, dict) else None!r})."
        )
    if meta["compression"] not in COMPRESSIONS:
        raise ValueError(
            f"TFRecord sidecar '{sidecar}': 'compression' must be one of {COMPRESSIONS}; "
            f"received {meta['compression']!r}."
        )
    for shard in meta["shards"]:
        if not (
            isinstance(shard, dict)
            and isinstance(shard.get("file"), str)
            and isinstance(shard.get("records"), int)
            and shard["records"] >= 0
        ):
            raise ValueError(
                f"TFRecord sidecar '{sidecar}': each 'shards' entry needs a 'file' name and a "
                f"count of 'records'; received {shard!r}."
            )
    total = sum(shard["records"] for shard in meta["shards"])
    if total != meta["num_records"]:
        raise ValueError(
            f"TFRecord sidecar '{sidecar}': the shards' 'records' add up to {total}, "
            f"not 'num_records' = {meta['num_records']}."
        )
    state = meta.get("state", {})
    inputs = [
        rebuild_spec(
            config, state.get(config.get("name")) if isinstance(config, dict) else None, f"TFRecord sidecar '{sidecar}'"
        )
        for config in meta["inputs"]
    ]
    directory = os.path.dirname(os.path.abspath(sidecar))
    paths = [os.path.join(directory, shard["file"]) for shard in meta["shards"]]
    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"TFRecord shard '{path}' listed in the sidecar '{sidecar}' is missing "
                f"({len(paths)} shards expected). Copy every shard, or rewrite them with "
                f"mmzoo.data.to_tfrecords."
            )
    return meta, inputs, paths
