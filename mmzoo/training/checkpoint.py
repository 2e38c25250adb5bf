"""Resumable training checkpoints: atomic epoch folders, integrity checks, configuration checks.

A checkpoint directory holds `run_config.json` (the model and compile
configuration the run started with) and one folder per finished epoch,
`epoch-0001/`, `epoch-0002/`, ..., each with `variables.npz` (every model
variable, including dropout seed-generator states, and every optimizer
variable: step count, moments) and `state.json` (epoch, history, best-epoch
bookkeeping and the SHA-256 of `variables.npz`). A folder is written under a
temporary name, fsynced and renamed into place, so a crash leaves either the
whole checkpoint or none; a damaged one (truncated, edited) fails its
checksum and `restore` falls back to the previous one with a warning. A
write that fails (a full disk) raises an `OSError` naming the checkpoint and
leaves no partial folder, so the previous checkpoint is still the newest.
"""

import errno
import hashlib
import json
import os
import re
import shutil
import warnings

import keras
import numpy as np

from mmzoo.training.atomic import atomic_directory, atomic_write_json, check_writable, remove_stale_temporaries
from mmzoo.training.config_diff import config_diff, jsonable, run_signature

CONFIG_FILE = "run_config.json"
VARIABLES_FILE = "variables.npz"
STATE_FILE = "state.json"
_CHECKPOINT = re.compile(r"^epoch-(\d+)$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: damaged, or from a different model."""


class Checkpoints:
    """The epoch checkpoints of one training run, kept in `directory`.

    Args:
        directory: the checkpoint folder (created on first write).
        keep: how many of the newest checkpoints to keep (at least 1); a
            checkpoint named in `save(..., protect=)` is kept as well.

    Example:
        >>> import keras, tempfile
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="adam", loss="mse")
        >>> store = Checkpoints(tempfile.mkdtemp())
        >>> store.check_config(model)
        >>> _ = store.save(model, epoch=1, state={"history": {}})
        >>> store.restore(model)["epoch"]
        1
    """

    def __init__(self, directory, keep=2):
        if keep < 1:
            raise ValueError(f"Checkpoints(keep=...) must be at least 1; received {keep}.")
        self.directory = str(directory)
        self.keep = int(keep)

    def epochs(self):
        """The epochs with a checkpoint folder, oldest first."""
        if not os.path.isdir(self.directory):
            return []
        found = [int(m.group(1)) for m in map(_CHECKPOINT.match, os.listdir(self.directory)) if m]
        return sorted(found)

    def path(self, epoch):
        return os.path.join(self.directory, f"epoch-{int(epoch):04d}")

    def check_config(self, model, settings=None):
        """Records the run's configuration, or raises `CheckpointError` with a diff if it changed.

        Args:
            model: the compiled model (its config and compile config are compared).
            settings: optional JSON-able dict of further settings that must match (e.g. the seed).
        """
        current = run_signature(model)
        if settings is not None:
            current["training"] = json.loads(json.dumps(settings, default=jsonable))
        config_path = os.path.join(self.directory, CONFIG_FILE)
        if os.path.isfile(config_path) and self.epochs():  # nothing to resume: a new config may start over
            try:
                with open(config_path) as f:
                    saved = json.load(f)
            except (OSError, ValueError) as error:
                raise CheckpointError(
                    f"Cannot read {config_path} ({error}); delete the folder {self.directory} to start the run over."
                ) from None
            if saved != current:
                lines = config_diff(saved, current)
                raise CheckpointError(
                    f"Refusing to resume from {self.directory}: the model or compile configuration "
                    f"differs from the one these checkpoints were trained with (saved -> now):\n  "
                    + "\n  ".join(lines)
                    + f"\nUse a new run folder, or delete {self.directory} to start over."
                )
            return
        check_writable(self.directory, "checkpoint directory")
        atomic_write_json(config_path, current)

    def save(self, model, epoch, state, protect=()):
        """Writes checkpoint `epoch` atomically and prunes old ones; returns its folder.

        Args:
            model: the model (its optimizer is saved too).
            epoch: number of finished epochs.
            state: JSON-serializable training state stored in `state.json`.
            protect: epochs whose checkpoints pruning must keep (e.g. the best one).

        Raises:
            OSError: the checkpoint could not be written (e.g. no space left on
                the device); one line naming its folder and the previous
                checkpoint, which is left as it was. Its errno is the cause's.
        """
        target = self.path(epoch)
        previous = [e for e in self.epochs() if e != int(epoch)]
        try:
            self._write(model, epoch, state)
        except OSError as error:
            kept = (
                f"The previous checkpoint, {self.path(previous[-1])}, is intact"
                if previous
                else "No earlier checkpoint exists"
            )
            reason = " ".join((error.strerror or str(error)).split())  # one line
            fix = "free space on its disk" if error.errno in (errno.ENOSPC, errno.EDQUOT) else "make it writable"
            raise OSError(
                error.errno,
                f"Cannot write the checkpoint {target}: {reason}. {kept}; {fix}, then "
                f"run the same training again to resume from it.",
            ) from None
        keep = set(self.epochs()[-self.keep :]) | {int(e) for e in protect if e is not None}
        for old in self.epochs():
            if old not in keep:
                shutil.rmtree(self.path(old), ignore_errors=True)
        return target

    def _write(self, model, epoch, state):
        """Writes `epoch-<epoch>/` (variables, then state with their checksum) under a temporary name, then renames it."""
        model_vars, optimizer_vars = _variables(model)
        arrays = {f"model/{i:05d}": keras.ops.convert_to_numpy(v) for i, v in enumerate(model_vars)}
        arrays.update({f"optimizer/{i:05d}": keras.ops.convert_to_numpy(v) for i, v in enumerate(optimizer_vars)})
        with atomic_directory(self.path(epoch)) as tmp:
            variables_path = os.path.join(tmp, VARIABLES_FILE)
            with open(variables_path, "wb") as f:
                np.savez(f, **arrays)
            record = {
                **state,
                "epoch": int(epoch),
                "sha256": {VARIABLES_FILE: _sha256(variables_path)},
                "variables": {"model": [v.path for v in model_vars], "optimizer": [v.path for v in optimizer_vars]},
            }
            with open(os.path.join(tmp, STATE_FILE), "w") as f:
                json.dump(record, f, indent=1)

    def restore(self, model):
        """Loads the newest usable checkpoint into `model` and its optimizer.

        A checkpoint that fails to load (truncated or altered file, wrong
        checksum) is skipped with a `UserWarning` naming it, and the previous
        one is tried.

        Returns:
            The checkpoint's state (with "epoch" and "path"), or None when
            there is no usable checkpoint.
        """
        remove_stale_temporaries(self.directory)
        for epoch in reversed(self.epochs()):
            try:
                state, arrays = self.read(epoch)
                _assign(model, arrays, self.path(epoch))
            except CheckpointError as error:
                warnings.warn(
                    f"Skipping damaged checkpoint {self.path(epoch)}: {error} Falling back to the previous checkpoint.",
                    stacklevel=2,
                )
                continue
            return {**state, "path": self.path(epoch)}
        return None

    def read(self, epoch):
        """`(state, {name: array})` of checkpoint `epoch`, verified against its checksum."""
        folder = self.path(epoch)
        try:
            with open(os.path.join(folder, STATE_FILE)) as f:
                state = json.load(f)
            expected = state["sha256"][VARIABLES_FILE]
            variables_path = os.path.join(folder, VARIABLES_FILE)
            actual = _sha256(variables_path)
            if actual != expected:
                raise CheckpointError(
                    f"{VARIABLES_FILE} has SHA-256 {actual[:12]}..., expected "
                    f"{expected[:12]}... (truncated or modified)."
                )
            with np.load(variables_path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except CheckpointError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"cannot read it ({type(error).__name__}: {error}).") from None
        return state, arrays

    def model_weights(self, model, epoch):
        """The values of `model.weights` stored in checkpoint `epoch` (for restoring the best epoch)."""
        _, arrays = self.read(epoch)
        model_vars, _ = _variables(model, build_optimizer=False)
        index = {id(v): i for i, v in enumerate(model_vars)}
        return [arrays[f"model/{index[id(w)]:05d}"] for w in model.weights]


def _variables(model, build_optimizer=True):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and build_optimizer and not optimizer.built:
        optimizer.build(model.trainable_variables)
    optimizer_vars = list(optimizer.variables) if optimizer is not None and optimizer.built else []
    return list(model.variables), optimizer_vars


def _assign(model, arrays, where):
    model_vars, optimizer_vars = _variables(model)
    for prefix, variables in (("model", model_vars), ("optimizer", optimizer_vars)):
        stored = sorted(k for k in arrays if k.startswith(prefix + "/"))
        if len(stored) != len(variables):
            raise CheckpointError(f"it holds {len(stored)} {prefix} variables, the model has {len(variables)}.")
        for key, variable in zip(stored, variables):
            value = arrays[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise CheckpointError(
                    f"{prefix} variable '{variable.path}' has shape {tuple(variable.shape)}; "
                    f"the checkpoint stores {tuple(value.shape)}."
                )
    for prefix, variables in (("model", model_vars), ("optimizer", optimizer_vars)):
        for i, variable in enumerate(variables):
            variable.assign(arrays[f"{prefix}/{i:05d}"])


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
