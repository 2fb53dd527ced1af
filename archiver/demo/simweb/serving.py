"""The lifecycle shared by the simulated web's threaded servers: serve on a daemon
thread, stop cleanly, work as a context manager, say where they listen."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Self


class ThreadedService:
    """Subclasses set ``self._server`` (bound to a loopback port) in their ``__init__``."""

    _server: ThreadingHTTPServer
    _thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """``ip:port`` the server listens on (for ``Settings.host_map``)."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
