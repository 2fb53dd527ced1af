"""Digests as WARC files and CDX indexes write them: one way to read them, one to compare.

A payload digest reaches archiver spelt many ways: a WARC header's ``sha1:BASE32`` (the
form the WARC spec recommends), ``SHA1:`` or ``sha-1:``, lowercase base32, base16 (some
indexers write hex), base64, ``sha256:hex`` (Browsertrix); a CDX line's bare ``BASE32``
(the Wayback Machine, pywb) or ``-`` for none. ``decode_digest`` reads any encoding of a
digest of known size; ``sha1_base32_digest`` turns any spelling of a sha1 into the one form
archiver keeps and compares (the collection index's ``digest``, a capture's
``archive_digest``): base32, upper case, no label. A digest of another algorithm, or one
that does not decode to 20 bytes, is no sha1 digest at all: None, never a string that
could only ever mismatch.

``DigestCheck`` hashes a record's bytes against its own ``WARC-Block-Digest`` or
``WARC-Payload-Digest``, as ``warcio check`` does.

``file_sha256`` hashes a whole file; ``Sha256Helper`` does it in a helper process, so
that the hashing never waits for this interpreter's GIL. hashlib lets go of the GIL while
it hashes each chunk, but takes it back between chunks, and Python's own C code (``json``
parsing or writing a manifest of thousands of records) holds it for tens or hundreds of
milliseconds at a time: threads alone would hash a file *after* the manifest it is
checked against is parsed, not while.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archiver.storage.hashing import READ_SIZE as _READ_SIZE
from archiver.storage.hashing import file_sha256

if TYPE_CHECKING:
    import subprocess

__all__ = ["Sha256Helper", "Sha256Helpers", "file_sha256", "start_helper_early"]

SHA1_SIZE = 20
_HEX = frozenset("0123456789abcdefABCDEF")


def algorithm_name(label: str) -> str:
    """A digest label as hashlib names it: ``SHA-1`` -> ``sha1``."""
    return label.strip().lower().replace("-", "")


def decode_digest(text: str, size: int) -> bytes | None:
    """The ``size`` bytes that ``text`` (base16, base32 or base64) encodes, or None."""
    value = text.strip()
    if len(value) == 2 * size:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    try:
        padded = value.upper() + "=" * (-len(value) % 8)
        decoded = base64.b32decode(padded)
        if len(decoded) == size:
            return decoded
    except (binascii.Error, ValueError):
        pass
    try:
        altchars = b"-_" if ("-" in value or "_" in value) else None
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), altchars=altchars)
        if len(decoded) == size:
            return decoded
    except (binascii.Error, ValueError):
        pass
    return None


def encode_like(example: str, digest: bytes) -> str:
    """``digest`` in the encoding of ``example``: base16 if that is hex, else base32."""
    value = example.strip()
    if len(value) == 2 * len(digest) and all(c in _HEX for c in value):
        return digest.hex()
    return base64.b32encode(digest).decode("ascii")


def sha1_base32_digest(value: str | None) -> str | None:
    """A sha1 digest in any spelling (see the module docstring) as upper-case base32.

    Without a label the value is taken for a sha1 (CDX digests carry none); another
    label, ``-``, or a value that is not 20 bytes in base16, base32 or base64 gives None.
    """
    if not value:
        return None
    text = value.strip()
    label, colon, encoded = text.partition(":")
    if not colon:
        label, encoded = "sha1", text
    if algorithm_name(label) != "sha1":
        return None
    digest = decode_digest(encoded, SHA1_SIZE)
    return None if digest is None else base64.b32encode(digest).decode("ascii")


def base32_of(hasher: Any) -> str:
    """A hash object's digest in base32, as CDX ``digest`` fields are written."""
    return base64.b32encode(hasher.digest()).decode("ascii")


def payload_sha1_base32(payload: bytes) -> str:
    """The digest archives put in CDX ``digest``: sha1 of the payload, base32."""
    return base32_of(hashlib.sha1(payload))


# What a helper process runs: the folder archiver is imported from, then serve_sha256.
_HELPER_PROGRAM = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from archiver.storage.hashing import serve_sha256; serve_sha256()"
)


class Sha256Helper:
    """``file_sha256`` in a helper process (see the module docstring): one file at a time,
    asked through a pipe. When the process cannot be started or stops, the file is hashed
    here instead; an ``OSError`` opening or reading it is raised here as it was there."""

    def __init__(self) -> None:
        self._process = self._start()
        self._ahead: Path | None = None  # a whole file asked ahead, its answer not read

    @staticmethod
    def _start() -> subprocess.Popen[bytes] | None:
        import subprocess  # only plain verify starts helpers

        root = str(Path(__file__).resolve().parents[2])  # the folder holding archiver/
        try:
            return subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _HELPER_PROGRAM, root],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return None

    def ask_ahead(self, path: Path) -> None:
        """Start hashing the whole of ``path`` now, before anyone asks for it (the answer
        is kept for the first ``sha256`` of it, when as many bytes were asked)."""
        if self._send(path, None):
            self._ahead = path

    def sha256(self, path: Path, limit: int | None = None) -> tuple[str, int]:
        """``file_sha256(path, limit)``, hashed by the helper."""
        if self._ahead is not None:
            ahead, self._ahead = self._ahead, None
            if ahead != path:  # another file: not worth waiting for, start afresh
                self.close()
                self._process = self._start()
            else:
                early = self._answer()
                # the same bytes as asked for, if the file was then as long as asked
                if early is not None and (early[0] != b"ok" or int(early[2]) == limit):
                    return self._result(early)
        answer = self._ask(path, limit)
        if answer is None:
            return file_sha256(path, limit)
        return self._result(answer)

    @staticmethod
    def _result(answer: list[bytes]) -> tuple[str, int]:
        if answer[0] == b"ok":
            return answer[1].decode("ascii"), int(answer[2])
        raise OSError(int(answer[1]), bytes.fromhex(answer[2].decode("ascii")).decode())

    def _ask(self, path: Path, limit: int | None) -> list[bytes] | None:
        return self._answer() if self._send(path, limit) else None

    def _send(self, path: Path, limit: int | None) -> bool:
        process = self._process
        if process is None or process.stdin is None:
            return False
        name = os.fsencode(path).hex().encode("ascii")
        try:
            process.stdin.write(b"%s %d\n" % (name, -1 if limit is None else limit))
            process.stdin.flush()
        except (OSError, ValueError):  # the helper stopped: a broken pipe, a closed file
            self.close()
            return False
        return True

    def _answer(self) -> list[bytes] | None:
        process = self._process
        answer: list[bytes] = []
        if process is not None and process.stdout is not None:
            with contextlib.suppress(OSError, ValueError):  # it stopped
                answer = process.stdout.readline().split()
        if len(answer) != 3 or answer[0] not in (b"ok", b"error"):
            self.close()
            return None
        return answer

    def close(self) -> None:
        """Stop the helper (it holds nothing worth keeping)."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):  # what was left to send to it
                        stream.close()


_EARLY: list[Sha256Helper] = []  # started by start_helper_early, for Sha256Helpers


def start_helper_early(ahead: Path | None = None) -> None:
    """Start a helper now, for the next ``Sha256Helpers`` to take: a new interpreter takes
    milliseconds to start, which this one can spend importing and reading a manifest;
    with ``ahead``, it starts hashing that file meanwhile (the first file asked for, when
    it is as long as the manifest says: the largest, say). Not taken, it stops when this
    process ends (its questions' pipe closes)."""
    if not _EARLY:
        helper = Sha256Helper()
        if ahead is not None:
            helper.ask_ahead(ahead)
        _EARLY.append(helper)


class Sha256Helpers:
    """Helper processes for threads that hash at once: ``sha256`` takes a free one."""

    def __init__(self) -> None:
        import queue

        self._free: queue.SimpleQueue[Sha256Helper] = queue.SimpleQueue()
        self._started: list[Sha256Helper] = []

    def start(self, wanted: int) -> None:
        """Have ``wanted`` helpers (started ahead of the first question: that takes a
        new interpreter's start-up)."""
        while len(self._started) < wanted:
            helper = _EARLY.pop() if _EARLY else Sha256Helper()
            self._started.append(helper)
            self._free.put(helper)

    def sha256(self, path: Path, limit: int | None = None) -> tuple[str, int]:
        """``file_sha256(path, limit)``, by a free helper (one per thread asking; none
        started: hashed here)."""
        if not self._started:
            return file_sha256(path, limit)
        helper = self._free.get()
        try:
            return helper.sha256(path, limit)
        finally:
            self._free.put(helper)

    def close(self) -> None:
        for helper in self._started:
            helper.close()


class HashingReader:
    """A binary stream read once, front to back, by someone else (warcio): every byte read
    is counted, and the first ``limit`` (all, without a limit) go through sha256 as well,
    so a file's own hash comes from the same pass that reads its records.

    With ``stop=True`` nothing past ``limit`` is handed out (the end of what a manifest
    lists of a file still being appended to); ``finish`` reads what the reader left.
    """

    def __init__(self, stream: Any, limit: int | None = None, *, stop: bool = False) -> None:
        self._stream = stream
        self._limit = limit
        self._stop = stop and limit is not None
        self._sha256 = hashlib.sha256()
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        if self._stop and self._limit is not None:
            room = self._limit - self.position
            size = room if size is None or size < 0 else min(size, room)
            if size <= 0:
                return b""
        data: bytes = self._stream.read(size)
        limit = self._limit
        if limit is None or self.position + len(data) <= limit:
            self._sha256.update(data)
        elif self.position < limit:
            self._sha256.update(data[: limit - self.position])
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.position

    def finish(self) -> tuple[str, int]:
        """(sha256 hex of the bytes hashed, bytes read in all), once the rest is read."""
        while self.read(_READ_SIZE):
            pass
        return self._sha256.hexdigest(), self.position


class DigestCheck:
    """Hashes bytes against one ``WARC-*-Digest`` value such as ``sha1:BASE32``.

    ``known`` is False when the value names no algorithm hashlib has, or has no digest.
    """

    def __init__(self, header: str, value: str) -> None:
        self.header = header
        self.value = value.strip()
        label, _, self.encoded = self.value.partition(":")
        self.algorithm = algorithm_name(label)
        try:
            self.hasher: Any = hashlib.new(self.algorithm) if self.encoded else None
        except ValueError:
            self.hasher = None

    @property
    def known(self) -> bool:
        return self.hasher is not None

    def update(self, data: bytes) -> None:
        if self.hasher is not None:
            self.hasher.update(data)

    def mismatch(self) -> str | None:
        """``algorithm:digest`` of the bytes seen when it is not the value, else None."""
        digest = self.hasher.digest()
        if decode_digest(self.encoded, len(digest)) == digest:
            return None
        return f"{self.algorithm}:{encode_like(self.encoded, digest)}"
