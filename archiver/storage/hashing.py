"""A file's sha256, read once at hashing speed: what plain ``verify`` spends its time on.

``file_sha256`` runs here, or in a helper process (``digests.Sha256Helper``) that runs
``serve_sha256``. This module imports only what hashing needs (not ``pathlib``, not
``typing``), so that a helper's interpreter is ready in a few milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys

TYPE_CHECKING = False  # typing itself takes longer to import than all of this module
if TYPE_CHECKING:
    from os import PathLike
    from typing import IO

READ_SIZE = 1024 * 1024  # a buffer that stays in the processor's cache while it is hashed


def file_sha256(path: str | PathLike[str], limit: int | None = None) -> tuple[str, int]:
    """(sha256 hex, size) of a whole file, or of its first ``limit`` bytes, read in chunks
    into one buffer (hashlib lets go of the GIL for each, so threads hash in parallel)."""
    sha256 = hashlib.sha256()
    size = 0
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as stream:  # (no pathlib here: see above)
        _read_in_order(stream.fileno())
        while limit is None or size < limit:
            wanted = view if limit is None else view[: min(READ_SIZE, limit - size)]
            count = stream.readinto(wanted)
            if not count:
                break
            sha256.update(view[:count])
            size += count
    return sha256.hexdigest(), size


def _read_in_order(fd: int) -> None:
    """Tell the kernel a file is read front to back (it reads further ahead)."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):  # not a regular file: it is read as it is
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)


def serve_sha256(questions: IO[bytes] | None = None, answers: IO[bytes] | None = None) -> None:
    """A helper process's loop: each line asked is a file (its path's bytes in hex) and
    the length to hash (-1: all of it); each answer ``ok SHA256 SIZE`` or ``error ERRNO
    MESSAGE`` (the message's UTF-8 in hex), one line, flushed."""
    questions = questions or sys.stdin.buffer
    answers = answers or sys.stdout.buffer
    for line in questions:
        name, limit = line.split()
        path = os.fsdecode(bytes.fromhex(name.decode("ascii")))
        try:
            digest, size = file_sha256(path, None if int(limit) < 0 else int(limit))
            answers.write(b"ok %s %d\n" % (digest.encode("ascii"), size))
        except OSError as error:
            message = (error.strerror or str(error)).encode("utf-8", "replace").hex()
            answers.write(b"error %d %s\n" % (error.errno or 0, message.encode("ascii")))
        answers.flush()
