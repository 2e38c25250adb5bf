"""Crash-safe writes: write under a temporary name next to the target, fsync, then `os.replace`.

A reader (or a run restarted after a crash) sees either the old file or the
complete new one, never a half-written one. Folders are swapped with two
renames (old out, new in), so a crash between them leaves the previous
version beside the target as `.<name>.old-<pid>` rather than a mixed folder.
`remove_stale_temporaries` clears what a killed writer leaves, and
`hold_folder` keeps a second process from writing a folder that a run is
writing.
"""

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import tempfile
import time
import warnings

try:
    import fcntl
except ImportError:  # Windows: no flock; `hold_folder` then locks nothing
    fcntl = None

LOCK_FILE = ".mmzoo.lock"
_PROBE_PREFIX = ".mmzoo-write-probe-"
_TEMPORARY = re.compile(r"^\..+\.tmp-\d+(\.[^.]+)?$")  # atomic_file's `.<stem>.tmp-<pid><ext>`, atomic_directory's
_OLD = re.compile(r"^\.(?P<name>.+)\.old-\d+$")  # atomic_directory's previous version, between its two renames


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
        fd, probe = tempfile.mkstemp(prefix=_PROBE_PREFIX, dir=directory)
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):  # a run starting in this folder may have cleared it
            os.remove(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        raise OSError(
            error.errno,
            f"Cannot write to the {what} '{directory}': {reason}. Choose a writable folder or fix its permissions.",
        ) from None


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
    """Clears what writers killed mid-write left in `directory` (not its subfolders); returns the names handled.

    - `.<name>.tmp-<pid>[.ext]` (an `atomic_file` or `atomic_directory` write
      that never finished) and `.mmzoo-write-probe-*` (`check_writable`) are
      deleted.
    - `.<name>.old-<pid>` (`atomic_directory` killed between its two renames)
      is deleted when `<name>` exists, and renamed back to `<name>` when it
      does not, so the previous complete version is what readers find.

    Only call it while no other process writes `directory` (hold it with
    `hold_folder`): a live writer's temporaries look the same.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> open(os.path.join(folder, ".metrics.tmp-123.json"), "w").close()
        >>> remove_stale_temporaries(folder), os.listdir(folder)
        (['.metrics.tmp-123.json'], [])
    """
    if not os.path.isdir(directory):
        return []
    handled = []
    for name in sorted(os.listdir(directory)):
        target = os.path.join(directory, name)
        old = _OLD.match(name)
        if old and not os.path.lexists(os.path.join(directory, old.group("name"))):
            with contextlib.suppress(OSError):
                os.replace(target, os.path.join(directory, old.group("name")))
                handled.append(name)
        elif old or _TEMPORARY.match(name) or name.startswith(_PROBE_PREFIX):
            _remove(target)
            handled.append(name)
    return handled


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.remove(path)


class FolderInUseError(RuntimeError):
    """Another process holds the folder (`hold_folder`): two runs writing it would interleave their files."""


@contextlib.contextmanager
def hold_folder(directory, what="run folder"):
    """Holds an exclusive lock on `directory` while the block runs, so no second run writes it meanwhile.

    The lock is `fcntl.flock` on `<directory>/.mmzoo.lock`, which records the
    holder (pid, host, start time) for the refusal message. The operating
    system releases a flock when its process dies, so a run killed with
    SIGKILL leaves at most an unlocked lock file, which the next run takes
    over: there is no stale lock to delete by hand. The holder deletes the
    file when the block ends. On NFS the lock holds across hosts where the
    server supports locking (Linux maps flock to NFS byte-range locks); where
    the file system supports no locking, or on Windows, the block runs
    unlocked, with a warning on the former.

    Args:
        directory: the folder (created if needed).
        what: how the refusal names it ("run folder", "checkpoint directory").

    Raises:
        FolderInUseError: another process holds the folder; the message names
            the folder and the holder.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> with hold_folder(folder):
        ...     try:
        ...         with hold_folder(folder):
        ...             pass
        ...     except FolderInUseError as error:
        ...         str(error).startswith(f"The run folder '{folder}' is in use by pid {os.getpid()} on ")
        True
    """
    if fcntl is None:
        yield None
        return
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, LOCK_FILE)
    fd = _acquire(path, directory, what)
    if fd is None:
        yield None
        return
    try:
        holder = f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        yield path
    finally:
        # removed before it is unlocked: a process that opened this file meanwhile finds it gone and retries
        with contextlib.suppress(OSError):
            os.remove(path)
        os.close(fd)


def _acquire(path, directory, what):
    """The locked descriptor of `path`; None where the file system has no locks."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "a process that is starting"
            os.close(fd)
            raise FolderInUseError(
                f"The {what} '{directory}' is in use by {holder}: two runs writing it would interleave their "
                f"files. Wait for that run to end (or stop it), or write to another folder."
            ) from None
        except OSError as error:
            os.close(fd)
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            warnings.warn(
                f"Cannot lock the {what} '{directory}' ({error.strerror}): nothing keeps a second run "
                f"from writing it at the same time.",
                stacklevel=4,
            )
            return None
        if _same_file(fd, path):
            return fd
        os.close(fd)  # the previous holder deleted this file as it finished: lock the current one


def _same_file(fd, path):
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (current.st_dev, current.st_ino)


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
