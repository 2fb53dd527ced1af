"""A store replayed through pywb, in place: what ``archiver serve`` runs.

pywb is configured, not fed: its ``config.yaml`` names one collection whose
``archive_paths`` is the store folder itself and whose ``index`` is a CDXJ file made from
the store's WARC files by ``archiver.export.cdxj`` (what ``cdxj-indexer`` writes; the
files the manifest lists, each where its bytes are), so nothing is copied or linked and
the store is not touched: the configuration and the index live in a folder of their own
(a temporary one for ``archiver serve``). pywb runs as ``WaybackServer`` runs it for the
tests (a subprocess on its own port, proxies unset), configured for a reader:

- ``redirect_to_exact``: an address with any datetime lands on the capture's own, so the
  address bar shows the memento time a reader is looking at;
- framed replay (pywb's default): pywb's banner above the page names the capture's date;
  ``mp_`` after the datetime gives the page alone;
- Memento headers on: a replayed page says its ``Memento-Datetime`` and original URL.

Captured redirects are ``response`` records in the store (status 3xx, ``Location``), so
pywb replays a cited URL that redirected as the redirect it was.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from archiver.demo.simweb.wayback import WaybackServer
from archiver.errors import StoreError
from archiver.export.cdxj import cdxj_lines
from archiver.export.contents import StoreContents

__all__ = ["COLLECTION", "StoreReplay", "is_loopback", "write_replay_index"]

COLLECTION = "sources"
INDEX_NAME = "index.cdxj"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address only this machine reaches (127.0.0.0/8, ::1,
    ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def write_replay_index(store: StoreContents, folder: Path) -> Path:
    """Write the sorted CDXJ index of the WARC files ``store``'s manifest lists into
    ``folder``; its path. Each line names its file as it is in the store folder."""
    lines: list[str] = []
    for entry in store.warc_files:
        try:
            path, committed = store.path_of(entry.name), store.committed_size(entry)
            lines.extend(cdxj_lines(path, size=committed))  # of a .open file, what is committed
        except StoreError:
            raise
        except Exception as e:  # warcio and zlib raise many kinds on a damaged file
            raise StoreError(
                f"{entry.name} could not be read ({type(e).__name__}): "
                "`archiver verify` names what is wrong with it"
            ) from e
    index = folder / INDEX_NAME
    index.write_text("".join(sorted(lines)), encoding="utf-8")
    return index


def _config_yaml(store_root: Path, index: Path) -> str:
    # JSON strings are YAML strings: paths with any character stay one value.
    archive = json.dumps(str(store_root.resolve()) + "/")
    return (
        "redirect_to_exact: true\n"
        "enable_memento: true\n"
        "collections:\n"
        f"  {COLLECTION}:\n"
        f"    index: {json.dumps(str(index.resolve()))}\n"
        f"    archive_paths: {archive}\n"
    )


class StoreReplay(WaybackServer):
    """pywb replaying the store at ``store_root`` with the index ``index`` (see
    ``write_replay_index``) as collection ``sources``; ``workdir`` receives its
    ``config.yaml`` and ``pywb.log``."""

    def __init__(
        self,
        workdir: Path,
        store_root: Path,
        index: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        super().__init__(workdir, [], COLLECTION, port=port, host=host)
        self.store_root = Path(store_root)
        self.index = Path(index)

    def replay_url(self, url: str, timestamp: str) -> str:
        """Where a reader sees ``url`` as captured at ``timestamp`` (14 digits)."""
        return f"{self.base_url}{timestamp}/{url}"

    def _build_collection(self) -> None:
        """Configure pywb to read the store where it is (replaces the parent's collection
        of links to WARC files and pywb's own index)."""
        for directory in (self.workdir / "static", self.workdir / "templates"):
            directory.mkdir(parents=True, exist_ok=True)
        config = _config_yaml(self.store_root, self.index)
        (self.workdir / "config.yaml").write_text(config, encoding="utf-8")

    def wait(self) -> None:
        """Block until pywb stops by itself (an error: it should run until stopped)."""
        process = self._process
        if process is None:
            return
        code = process.wait()
        if self._process is process:  # not stopped by us
            raise self._startup_error(f"pywb stopped with status {code}")
