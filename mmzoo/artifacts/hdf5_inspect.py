"""HDF5 checks for the weights inside a `.keras` zip: nothing in them may make HDF5 open another file."""

import struct
import tempfile
import zipfile

import h5py


def hdf5_problems(group):
    """Every link or dataset under an HDF5 group that would make HDF5 open another file.

    External links, soft links (Keras writes none; they alias or loop),
    virtual datasets (their data maps other files) and datasets with external
    storage are reported by path; links are read with `getlink=True`, so none
    is followed.

    Args:
        group: an open `h5py.File` or `h5py.Group`.

    Returns:
        A list of `(path, why)` pairs.

    Example:
        >>> import io, h5py
        >>> with h5py.File(io.BytesIO(), "w") as f:
        ...     f["w"] = [1.0]
        ...     f["alias"] = h5py.SoftLink("/w")
        ...     hdf5_problems(f)
        [('/alias', "an HDF5 soft link to '/w'; Keras weights files hold none")]
    """
    problems, seen, stack = [], set(), [("", group)]
    while stack:
        prefix, current = stack.pop()
        for name in current:
            where = f"{prefix}/{name}"
            link = current.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                problems.append(
                    (where, f"an HDF5 external link to {link.filename!r} ({link.path}); it reads another file")
                )
            elif isinstance(link, h5py.SoftLink):
                problems.append((where, f"an HDF5 soft link to {link.path!r}; Keras weights files hold none"))
            elif not isinstance(link, h5py.HardLink):
                problems.append((where, f"an HDF5 link of unknown type {type(link).__name__}"))
            else:
                problems += _hdf5_object_problems(where, current[name], seen, stack)
    return problems


def _hdf5_object_problems(where, obj, seen, stack):
    if isinstance(obj, h5py.Group):
        key = h5py.h5o.get_info(obj.id).addr
        if key not in seen:  # a hard link can point back up: visit each group once
            seen.add(key)
            stack.append((where, obj))
        return []
    found = []
    if isinstance(obj, h5py.Dataset) and obj.is_virtual:
        sources = sorted({source.file_name for source in obj.virtual_sources()})
        found.append((where, f"an HDF5 virtual dataset mapping data from {', '.join(sources)}; it reads other files"))
    if isinstance(obj, h5py.Dataset) and obj.external:
        files = sorted({str(entry[0]) for entry in obj.external})
        found.append((where, f"an HDF5 dataset stored in external files {', '.join(files)}"))
    return found


class ZipWindow:
    """A read-only, seekable view of `size` bytes at `start` of an open binary file."""

    def __init__(self, file, start, size):
        self._file, self._start, self._size, self._pos = file, start, size, 0

    def seekable(self):
        return True

    def readable(self):
        return True

    def tell(self):
        return self._pos

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n=-1):
        n = self._size - self._pos if n is None or n < 0 else min(n, self._size - self._pos)
        if n <= 0:
            return b""
        self._file.seek(self._start + self._pos)
        data = self._file.read(n)
        self._pos += len(data)
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def member_file(archive, info, chunk=2**20):
    """A seekable file of a zip member's bytes: a window on the zip if stored, else a temporary copy.

    HDF5 seeks back and forth; a stored member (as Keras writes them) is read
    in place, a compressed one is inflated once, `chunk` bytes at a time, into
    a temporary file (the caller bounds its size first).
    """
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
        archive.fp.seek(info.header_offset)
        header = archive.fp.read(30)
        if len(header) == 30 and header[:4] == b"PK\x03\x04":
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            start = info.header_offset + 30 + name_length + extra_length
            return ZipWindow(archive.fp, start, info.compress_size)
    copy = tempfile.TemporaryFile()
    with archive.open(info) as member:
        while data := member.read(chunk):
            copy.write(data)
    copy.seek(0)
    return copy
