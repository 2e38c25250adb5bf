"""Private copies of model files, so that `mmzoo.load` inspects and loads the same bytes.

Inspecting a file and then loading it again by name leaves a window in which
anyone who can write the file (or its folder) swaps in another one. `mmzoo.load`
reads a `.keras` file once into memory, inspects those bytes and loads them
from a copy; a SavedModel directory is copied first and the copy is inspected
and loaded. Copies live in a fresh `tempfile.mkdtemp` folder (mode 0700, files
0600) that nobody else can write.
"""

import os
import shutil
import stat
import tempfile

# A .keras file is read into memory whole: mmzoo's largest (ResNet-50 encoders) are ~100 MB.
MAX_KERAS_BYTES = 2 * 1024**3
# Everything a SavedModel directory holds (graph, variables, assets) is copied before loading.
MAX_SAVEDMODEL_BYTES = 8 * 1024**3
_CHUNK = 1 << 20


def read_keras_file(path, limit=None):
    """The bytes of the `.keras` file at `path`, read once, at most `limit` (`MAX_KERAS_BYTES`) of them.

    Raises:
        UnsafeArtifactError: the file is larger than the limit or not a regular file.
    """
    from mmzoo.artifacts.safety import UnsafeArtifactError

    limit = MAX_KERAS_BYTES if limit is None else limit
    with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise UnsafeArtifactError(f"Refusing to load '{path}': not a regular file.")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': the file is over {_size(limit)}, the most mmzoo.load reads "
            f"into memory to inspect a .keras file (mmzoo's largest models are ~100 MB). If you trust "
            f"its source, load it with mmzoo.load(path, trust=True)."
        )
    return data


def private_folder():
    """A new folder only this user can enter (`tempfile.mkdtemp`, mode 0700)."""
    return tempfile.mkdtemp(prefix="mmzoo-load-")


def write_private_file(folder, name, data):
    """Writes `data` to a new file `folder/name` (mode 0600; fails if anything is already there)."""
    target = os.path.join(folder, name)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return target


def copy_savedmodel(path, folder, limit=None):
    """Copies the SavedModel directory `path` into `folder/savedmodel` and returns the copy's path.

    Only folders and regular files are copied: a symbolic link (which could
    make the loader read any file on the machine) or a device, FIFO or socket
    is refused, and so is more than `limit` (`MAX_SAVEDMODEL_BYTES`) in all.

    Raises:
        UnsafeArtifactError: naming the entry and why it is refused.
    """
    from mmzoo.artifacts.safety import UnsafeArtifactError

    limit = MAX_SAVEDMODEL_BYTES if limit is None else limit
    target = os.path.join(folder, "savedmodel")
    os.mkdir(target, 0o700)
    total, stack = 0, [("", target)]
    while stack:
        relative, destination = stack.pop()
        with os.scandir(os.path.join(path, relative)) as entries:
            for entry in entries:
                inner = os.path.join(relative, entry.name)
                if entry.is_dir(follow_symlinks=False):
                    os.mkdir(os.path.join(destination, entry.name), 0o700)
                    stack.append((inner, os.path.join(destination, entry.name)))
                elif entry.is_file(follow_symlinks=False):
                    total += _copy_file(entry.path, os.path.join(destination, entry.name), limit - total)
                else:
                    kind = "a symbolic link" if entry.is_symlink() else "not a regular file or folder"
                    raise UnsafeArtifactError(
                        f"Refusing to load '{path}': '{inner}' is {kind}; a SavedModel mmzoo wrote holds "
                        f"only folders and regular files. If you trust its source, load it with "
                        f"mmzoo.load(path, trust=True)."
                    )
                if total > limit:
                    raise UnsafeArtifactError(
                        f"Refusing to load '{path}': it holds over {_size(limit)}, the most mmzoo.load "
                        f"copies to inspect a SavedModel. If you trust its source, load it with "
                        f"mmzoo.load(path, trust=True)."
                    )
    return target


def remove(folder):
    """Deletes a private folder and what it holds (errors ignored: it is a temporary folder)."""
    shutil.rmtree(folder, ignore_errors=True)


def _copy_file(source, target, budget):
    """Copies one regular file (not through a link), at most `budget + 1` bytes; returns the count."""
    from mmzoo.artifacts.safety import UnsafeArtifactError

    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(source, flags)
    except OSError as error:
        raise UnsafeArtifactError(
            f"Refusing to load: cannot open '{source}' without following links ({error.strerror or error})."
        ) from None
    copied = 0
    with os.fdopen(fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise UnsafeArtifactError(f"Refusing to load: '{source}' is not a regular file.")
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(out, "wb") as dst:
            while copied <= budget:
                chunk = src.read(_CHUNK)
                if not chunk:
                    break
                dst.write(chunk)
                copied += len(chunk)
    return copied


def _size(limit):
    if limit >= 1024**3:
        return f"{limit / 1024**3:g} GiB"
    return f"{limit / 1024**2:g} MiB" if limit >= 1024**2 else f"{limit} bytes"
