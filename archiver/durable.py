"""Replacing files so that a reader, or a rerun after a crash, never sees half of one.

Every file archiver rewrites in place (the store's manifest, reports, index caches) goes
through ``replace_file``: write a temporary file in the same directory, flush it to disk,
rename it over the target (atomic on POSIX), then flush the directory so the rename
itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


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
