"""Replacing files so that a reader, or a rerun after a crash, never sees half of one.

Every file archiver rewrites in place (the store's manifest, reports, index caches) goes
through ``replace_file``: write a temporary file in the same directory, flush it to disk,
rename it over the target (atomic on POSIX), then flush the directory so the rename
itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from archiver.errors import DiskFull, StoreError

# What the user can do about a file operation that failed, by errno.
_ADVICE = {
    errno.ENOSPC: "free some space, then run the command again",
    errno.EDQUOT: "free some space, then run the command again",
    errno.EFBIG: "raise the file size limit (ulimit -f), then run the command again",
    errno.EROFS: "make it writable, or use another folder",
    errno.EACCES: "give this user access to it, or use another folder",
    errno.EPERM: "give this user access to it, or use another folder",
    errno.EISDIR: "it is a folder where archiver expects a file: move it out of the way",
    errno.ENOTDIR: "a part of its path is a file, not a folder: move that file out of the way",
    errno.EEXIST: "a file is where archiver needs a folder: move it out of the way",
}
FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def file_error(error: OSError, path: Path, *, doing: str = "write") -> StoreError:
    """``error``, met while trying to ``doing`` ``path``, as one line that names the file
    and says what to do (``DiskFull`` for a full disk); raise it ``from error``."""
    reason = error.strerror or str(error) or type(error).__name__
    reason = reason[:1].lower() + reason[1:]
    advice = _ADVICE.get(error.errno or 0)
    message = f"cannot {doing} {path}: {reason}" + (f"; {advice}" if advice else "")
    return (DiskFull if error.errno in FULL else StoreError)(message)


def replace_file(path: Path, data: bytes, *, temp: Path | None = None, sync: bool = True) -> None:
    """Make ``path`` hold ``data``: the old content or the new, never a mix.

    ``temp`` fixes the temporary file's name (so a crash leaves a name that can be
    cleaned up); by default a unique one is made beside ``path``. ``sync=False`` skips
    the disk flushes, for caches that can be rebuilt.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if temp is None:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        temp = Path(name)
        stream = os.fdopen(handle, "wb")
    else:
        stream = temp.open("wb")
    try:
        with stream:
            stream.write(data)
            stream.flush()
            if sync:
                os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    if sync:
        fsync_directory(path.parent)


def fsync_directory(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable (a no-op where directories can't be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
