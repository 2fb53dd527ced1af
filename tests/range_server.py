"""A static file server on loopback that honours HTTP Range requests.

ReplayWeb.page reads a WACZ as a client does from any web server: the zip's central
directory, then each record, by byte ranges. Python's ``http.server`` answers every
request whole, so this one answers ``Range: bytes=A-B`` (and ``A-``, ``-N``) with 206 and
``Content-Range``, as a real web server would. Threaded: a browser opens several
connections at once.
"""

from __future__ import annotations

import mimetypes
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import unquote, urlsplit

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_TYPES = {
    ".js": "application/javascript",
    ".wacz": "application/wacz+zip",
    ".json": "application/json",
}


def _content_type(path: Path) -> str:
    return (
        _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet in test output
        self.server.requests.append(f"{self.command} {self.path} {self.headers.get('Range', '')}")

    def _file(self) -> Path | None:
        relative = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        for root in self.server.roots:
            path = (root / relative).resolve()
            if path.is_relative_to(root) and path.is_file():
                return path
        return None

    def _span(self, size: int) -> tuple[int, int] | None:
        """The (first, last) byte a Range header asks for; None for the whole file."""
        match = _RANGE.match(self.headers.get("Range", "").strip())
        if not match:
            return None
        first, last = match.groups()
        if not first:
            return max(size - int(last or 0), 0), size - 1
        return int(first), min(int(last), size - 1) if last else size - 1

    def _answer(self, body: bool) -> None:
        path = self._file()
        if path is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = path.stat().st_size
        span = self._span(size)
        first, last = span or (0, size - 1)
        if span is not None and first > last:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if span else 200)
        self.send_header("Content-Type", _content_type(path))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(last - first + 1))
        if span:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        if body:
            with path.open("rb") as stream:
                stream.seek(first)
                self.wfile.write(stream.read(last - first + 1))

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    roots: list[Path]
    requests: list[str]


class RangeServer:
    """Serves the files under ``roots`` (the first that has a path wins) on 127.0.0.1."""

    def __init__(self, *roots: Path) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.roots = [Path(r).resolve() for r in roots]
        self._server.requests = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def requests(self) -> list[str]:
        return self._server.requests

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
