"""The store's WARC files: the one a writer appends captures to, and their committed bytes.

Captures go into WARC files of up to ``warc_size`` bytes (1 GB by default, the size Heritrix
and Browsertrix roll their files at), one gzip member per record, one capture after
another. Each writer (one ``Store``, that is one run) appends to a file of its own, so two
runs never write to the same file::

    <name>.warc.gz.open   the file a writer is appending to, or one a killed run left
    <name>.warc.gz        a closed file: it reached the size limit or its writer finished;
                          it never changes again

**Committed bytes.** The manifest lists each file with a ``size`` and the sha256 of its
first ``size`` bytes: its *committed* bytes, which hold the captures the manifest lists. A
capture is appended after them, synced, and committed by replacing the manifest with the
file's new size and sha256. The writer keeps the running sha256 in memory, so no byte is
hashed twice. Bytes after the committed size are a capture still being written, or what a
killed run wrote half: nothing reads them as part of the store (``committed_stream``), and
the next ``Store`` opened in the folder cuts them off (``settle_left_file``). A file is
cut to its committed size before it is closed (renamed), so a closed file has no such
bytes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeVar

from archiver.config import DEFAULT_WARC_SIZE
from archiver.durable import fsync_directory
from archiver.errors import StoreError
from archiver.storage.manifest import FileEntry

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock between processes
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_WARC_SIZE",
    "OPEN_SUFFIX",
    "WARC_SUFFIX",
    "Appender",
    "OpenWarc",
    "committed_sha256",
    "committed_stream",
    "is_in_use",
    "listed_path",
    "settle_left_file",
]

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
_READ_SIZE = 1024 * 1024

T = TypeVar("T")
log = logging.getLogger(__name__)


class _Appending:
    """The stream a capture's records are written to: each write goes to the file at its
    place (``pwrite``: no buffer a kill could lose silently) and into the running sha256."""

    def __init__(
        self, fd: int, position: int, sha256: Any, on_write: Callable[[], None] | None
    ) -> None:
        self._fd = fd
        self.position = position
        self.sha256 = sha256
        self._on_write = on_write

    def write(self, data: bytes, /) -> int:
        if not data:
            return 0
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, self.position)
            self.sha256.update(view[:written])
            self.position += written
            view = view[written:]
        if self._on_write is not None:
            self._on_write()
        return len(data)

    def flush(self) -> None:
        pass


class OpenWarc:
    """A ``.open`` WARC file this writer appends captures to, and holds a ``flock`` on.

    ``size`` and ``sha256`` are of its committed bytes. ``append`` writes a capture after
    them; ``entry`` is then what the manifest lists for the file with that capture, and
    ``commit`` (once the manifest says so) makes it part of the committed bytes, or
    ``rewind`` drops it. ``on_write`` is called after each write (the kill tests stop a
    process there, with a record half written).
    """

    def __init__(self, root: Path, name: str, fd: int, on_write: Callable[[], None] | None) -> None:
        self.root = root
        self.name = name
        self.path = root / (name + OPEN_SUFFIX)
        self.size = 0
        self._fd = fd
        self._sha256 = hashlib.sha256()
        self._pending: _Appending | None = None
        self._on_write = on_write

    @classmethod
    def create(
        cls, root: Path, name: str, on_write: Callable[[], None] | None = None
    ) -> OpenWarc | None:
        """A new, empty, ``flock``-ed ``<name>.open``; None when that name is taken.
        Raises ``OSError`` when it cannot be made."""
        try:
            fd = os.open(root / (name + OPEN_SUFFIX), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return None
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        return cls(root, name, fd, on_write)

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def append(self, write: Callable[[_Appending, int], T]) -> T:
        """Call ``write(stream, offset)`` to write one capture after the committed bytes
        (``offset`` is where it begins in the file), then sync the file."""
        self._pending = _Appending(self._fd, self.size, self._sha256.copy(), self._on_write)
        result = write(self._pending, self.size)
        os.fsync(self._fd)
        return result

    def entry(self) -> FileEntry:
        """The manifest's entry for this file with the capture just appended committed."""
        if self._pending is None:
            return FileEntry(self.name, self.sha256, self.size)
        return FileEntry(self.name, self._pending.sha256.hexdigest(), self._pending.position)

    def commit(self) -> None:
        if self._pending is not None:
            self.size, self._sha256 = self._pending.position, self._pending.sha256
            self._pending = None

    def rewind(self) -> None:
        """Drop what was appended since the last commit. Raises ``OSError`` when the file
        cannot be cut back (then ``abandon`` it)."""
        self._pending = None
        os.ftruncate(self._fd, self.size)
        os.fsync(self._fd)

    def close(self) -> None:
        """Cut the file to its committed bytes and rename it to its final name (the caller
        holds the store's lock); a file with nothing committed is deleted instead."""
        if self.size == 0:
            self.path.unlink(missing_ok=True)
        else:
            if os.fstat(self._fd).st_size != self.size:
                os.ftruncate(self._fd, self.size)
            os.fsync(self._fd)
            os.replace(self.path, self.root / self.name)
        fsync_directory(self.root)
        self.abandon()

    def abandon(self) -> None:
        """Stop writing to the file and leave it as it is, for the next ``Store`` opened in
        the folder to settle (``settle_left_file``); closing releases the ``flock``."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = -1

    def __del__(self) -> None:  # a Store dropped without being closed
        self.abandon()


class Appender:
    """The WARC file one writer (a ``Store``) appends its captures to: made when its first
    capture comes, closed once it holds ``warc_size`` bytes or when ``close`` is called.

    ``locked`` is the store's lock, held to make, rename and delete files; ``on_step`` is
    told "renamed" when a file gets its final name and "bytes-written" after each write.
    """

    def __init__(
        self,
        root: Path,
        warc_size: int,
        locked: Callable[[], contextlib.AbstractContextManager[object]],
        on_step: Callable[[str], None] | None,
    ) -> None:
        if warc_size < 1:
            raise ValueError(f"warc_size must be at least 1 byte, not {warc_size}")
        self.root = root
        self.warc_size = warc_size
        self._locked = locked
        self._on_step = on_step
        self._current: OpenWarc | None = None

    def file(self, names: Callable[[], Iterable[str]]) -> OpenWarc:
        """The file to append to: the current one, or a new one under the first free name
        ``names()`` gives (asked under the lock). Raises ``OSError`` when none can be made."""
        if self._current is None:
            on_write = None
            if self._on_step is not None:
                on_write = functools.partial(self._on_step, "bytes-written")
            with self._locked():
                for name in names():
                    if not (self.root / name).exists():
                        self._current = OpenWarc.create(self.root, name, on_write)
                    if self._current is not None:
                        break
            if self._current is None:
                raise StoreError(f"could not find a free file name in {self.root}")
        return self._current

    def drop_uncommitted(self) -> None:
        """Cut off what was appended since the last commit: a file with nothing committed
        goes; one that cannot be cut is left for the next Store to settle."""
        warc = self._current
        if warc is None:
            return
        if warc.size == 0:
            self.close()
            return
        try:
            warc.rewind()
        except OSError:
            self.abandon()

    def abandon(self) -> None:
        """Stop writing to the file, left as it is for the next Store to settle."""
        warc, self._current = self._current, None
        if warc is not None:
            warc.abandon()

    def roll(self) -> None:
        """Close the file once it holds ``warc_size`` bytes: the next capture starts one."""
        if self._current is not None and self._current.size >= self.warc_size:
            self.close()

    def close(self) -> None:
        """Give the file its final name (``OpenWarc.close``); one that cannot be renamed
        now is left for the next Store to settle."""
        warc, self._current = self._current, None
        if warc is None:
            return
        try:
            with self._locked():
                warc.close()
        except OSError as e:
            warc.abandon()
            log.warning("%s stays open: %s (the next run renames it)", warc.path, e)
            return
        if warc.size and self._on_step is not None:
            self._on_step("renamed")


def is_in_use(path: Path) -> bool:
    """True when a writer (another open file description) holds the ``flock`` of ``path``."""
    if fcntl is None:  # pragma: no cover
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def listed_path(root: Path, name: str) -> Path:
    """Where the bytes of the listed file ``name`` are: under its name, or under its
    ``.open`` name while it is being appended to (or a killed run left it so)."""
    path = root / name
    pending = root / (name + OPEN_SUFFIX)
    return pending if not path.exists() and pending.exists() else path


class _Prefix(io.RawIOBase):
    """The first ``size`` bytes of a file, readable and seekable as a file of that size."""

    def __init__(self, raw: IO[bytes], size: int) -> None:
        super().__init__()
        self._raw = raw
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        room = min(len(buffer), self._size - self._position)
        if room <= 0:
            return 0
        count = self._raw.readinto(memoryview(buffer)[:room])  # type: ignore[attr-defined]
        self._position += count or 0
        return count or 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        self._raw.seek(self._position)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._raw.close()
        super().close()


def committed_stream(path: Path, size: int | None) -> BinaryIO:
    """``path`` opened for reading its first ``size`` bytes (all of it when None)."""
    raw = path.open("rb")
    if size is None:
        return raw
    return io.BufferedReader(_Prefix(raw, size), _READ_SIZE)


def committed_sha256(path: Path, size: int) -> tuple[str, int]:
    """(sha256 hex, bytes read) of the first ``size`` bytes of ``path``: fewer bytes
    when the file is shorter."""
    sha256 = hashlib.sha256()
    read = 0
    with path.open("rb") as stream:
        while read < size and (chunk := stream.read(min(_READ_SIZE, size - read))):
            sha256.update(chunk)
            read += len(chunk)
    return sha256.hexdigest(), read


def settle_left_file(path: Path, entry: FileEntry | None) -> bool:
    """Finish or discard the ``.open`` file ``path`` that no writer holds any more;
    ``entry`` is what the manifest lists for it. True when something changed.

    Not listed (or its final name taken): none of its captures was committed, so it is
    deleted. Listed, with its committed bytes intact: cut to them and renamed into place.
    Listed, but its committed bytes are not what the manifest says: left as it is, for
    ``verify`` to report and a person to look at (its captures are not thrown away).
    """
    final = path.with_name(path.name[: -len(OPEN_SUFFIX)])
    if entry is None or final.exists():
        path.unlink(missing_ok=True)
        return True
    if committed_sha256(path, entry.size) != (entry.sha256, entry.size):
        return False
    with path.open("rb+") as stream:
        if os.fstat(stream.fileno()).st_size != entry.size:
            os.ftruncate(stream.fileno(), entry.size)
        os.fsync(stream.fileno())
    os.replace(path, final)
    return True
