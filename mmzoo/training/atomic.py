"""Crash-safe writes: write under a temporary name next to the target, fsync, then `os.replace`.

A reader (or a run restarted after a crash) sees either the old file or the
complete new one, never a half-written one. Folders are swapped with two
renames (old out, new in), so a crash between them leaves the previous
version beside the target as `.<name>.old-<pid>` rather than a mixed folder.
"""

import contextlib
import json
import os
import shutil
import tempfile


def check_writable(directory, what="output directory"):
    """Creates `directory` if needed and proves it is writable with a probe file.

    Args:
        directory: the folder.
        what: how error messages name it ("checkpoint directory", ...).

    Raises:
        OSError: naming the folder and the reason, before any work is done.

    Example:
        >>> import tempfile
        >>> check_writable(os.path.join(tempfile.mkdtemp(), "run"))
    """
    try:
        os.makedirs(directory, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".mmzoo-write-probe-", dir=directory)
        os.close(fd)
        os.remove(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        raise OSError(error.errno, f"Cannot write to the {what} '{directory}': {reason}. "
                                   f"Choose a writable folder or fix its permissions.") from None


@contextlib.contextmanager
def atomic_file(path):
    """Yields a temporary path next to `path` (same extension); on success it replaces `path`.

    Example:
        >>> import tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> with atomic_file(target) as tmp:
        ...     with open(tmp, "w") as f:
        ...         _ = f.write("done")
        >>> open(target).read()
        'done'
    """
    directory, name = os.path.split(os.path.abspath(path))
    stem, ext = os.path.splitext(name)
    tmp = os.path.join(directory, f".{stem}.tmp-{os.getpid()}{ext}")
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_dir(directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write_json(path, value, indent=2):
    """Writes `value` as JSON to `path` atomically."""
    with atomic_file(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(value, f, indent=indent)


@contextlib.contextmanager
def atomic_directory(path):
    """Yields an empty temporary folder next to `path`; on success it becomes `path`.

    An existing `path` is replaced (renamed aside, the new folder renamed in,
    the old one deleted).

    Example:
        >>> import tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "export")
        >>> with atomic_directory(target) as tmp:
        ...     open(os.path.join(tmp, "a.txt"), "w").close()
        >>> os.listdir(target)
        ['a.txt']
    """
    parent, name = os.path.split(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        yield tmp
        fsync_tree(tmp)
        if os.path.lexists(path):
            old = os.path.join(parent, f".{name}.old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            _fsync_dir(parent)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
            _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def remove_stale_temporaries(directory):
    """Deletes `.<name>.tmp-<pid>` leftovers of writes that a crash interrupted; returns their names."""
    if not os.path.isdir(directory):
        return []
    stale = [n for n in os.listdir(directory) if n.startswith(".") and ".tmp-" in n]
    for name in stale:
        target = os.path.join(directory, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.remove(target)
    return stale


def fsync_tree(folder):
    """fsyncs every file and folder under `folder` (so a rename publishes durable data)."""
    for root, _, files in os.walk(folder):
        for name in files:
            _fsync_file(os.path.join(root, name))
        _fsync_dir(root)


def _fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
