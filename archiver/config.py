"""Settings: every knob of a run in one frozen object.

The CLI builds a ``Settings`` from its flags and hands it to the stages; library users
build one directly. ``host_map`` and ``resolve_only`` are the network seam: they pin host
names to loopback addresses (like curl's ``--resolve``), which is how the demo and the
tests put real-looking sites on a simulated web without any DNS traffic.

**Where the state file lives.** A store holds what an archivist preserves (WARC files,
``manifest.json``, ``report.json``): bagged, hashed or copied, it must stay true. The state
file (every link check ever made, the archives' answers) changes on each run, so by
default it lives outside the store, in the user's state directory as the XDG Base
Directory spec names it ("state data that should persist between application restarts",
such as history): ``$ARCHIVER_STATE_DIR``, else ``$XDG_STATE_HOME/archiver``, else
``~/.local/state/archiver``. There, each store has its own file, named after the store's
folder and the sha256 of its absolute, symlink-resolved path (``warcs-<16 hex>.sqlite``),
so that one store named two ways shares one history and two stores never share one. A
store that is moved starts a new history (``--state FILE`` points at the old one).
``ARCHIVER_STATE_DIR`` is for tests, CI and anyone who wants the history elsewhere;
``--state FILE`` (``state_path``) chooses one file outright. ``archiver.state.open_state``
adopts the ``STORE/state.sqlite`` of an older version.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from archiver import __version__

DEFAULT_USER_AGENT = f"archiver/{__version__} (citation link checker and web-archiving tool)"
STATE_DIR_ENV = "ARCHIVER_STATE_DIR"


def default_state_dir() -> Path:
    """Where state files live by default: ``$ARCHIVER_STATE_DIR``, else
    ``$XDG_STATE_HOME/archiver``, else ``~/.local/state/archiver`` (see the module
    docstring). A relative ``XDG_STATE_HOME`` is ignored, as the XDG spec asks."""
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / "archiver"


def default_state_file(store: Path) -> Path:
    """The state file of ``store`` in ``default_state_dir()``: ``<folder name>-<sha256 of
    the resolved path, 16 hex digits>.sqlite``; the name is for people, the digest is the key."""
    import hashlib  # not at the top: `archiver --help` reads these settings, not this

    resolved = Path(store).resolve()
    key = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", resolved.name)[:40].strip("._") or "store"
    return default_state_dir() / f"{name}-{key}.sqlite"


# A store's WARC files are rolled at this size: 1 GB (10^9 bytes), Heritrix's and
# Browsertrix's default.
DEFAULT_WARC_SIZE = 1_000_000_000


@dataclass(frozen=True)
class Settings:
    timeout: float = 10.0  # seconds: a link check's request (connect and answer, per hop);
    # for archive requests, the connection and each read
    link_deadline: float | None = None  # seconds for one link's whole check: every hop,
    # HEAD then GET, Retry-After pauses and retries (not waits for a free slot); None: 3 × timeout
    retries: int = 1  # extra attempts after a timeout or connection failure
    user_agent: str = DEFAULT_USER_AGENT
    max_bytes: int = 20 * 1024 * 1024  # cap on any body we read
    max_redirects: int = 10
    per_host: int = 4  # requests in flight to one host
    workers: int = 1024  # requests in flight overall (per process); politeness is per_host
    processes: int = 0  # event loops (one per process) for checking; 0: one, or for a long
    # list one per core, at most 2 (archiver.check.processes)
    cluster: str | None = None  # a Dask scheduler's address: check there (archiver.check.cluster)
    store: Path = Path("warcs")
    warc_size: int = DEFAULT_WARC_SIZE  # bytes: a store's WARC file is closed once this full
    state_path: Path | None = None  # default: default_state_file(store), outside the store
    fresh_for: float = 24 * 3600.0  # reuse a check result younger than this (seconds)
    max_retry_after: float = 30.0  # wait at most this long when a 429/503 asks us to
    confirm_failures: int = 3  # failures needed before "dead" is confirmed ...
    confirm_days: float = 3.0  # ... spread over at least this many days
    canary_url: str = "https://web.archive.org/"  # tried when nothing else answers
    # Save Page Now 2 (archiver.save.spn); the keys are never settings, see save.load_keys
    spn_endpoint: str = "https://web.archive.org/save"
    spn_if_not_archived_within: str = "30d"  # reuse a capture younger than this (SPN2 syntax)
    spn_poll_interval: float = 5.0  # seconds between polls of a capture job
    spn_job_timeout: float = 180.0  # stop waiting for one capture job after this (seconds)
    spn_concurrency: int = 2  # capture jobs in flight at once (SPN2 allows few per user)
    archives: tuple[str, ...] = ("ia",)
    look_up: str = "every"  # which citations run looks up: "every", or "broken" (not alive)
    ca_bundle: Path | None = None  # trust these CA certificates instead of the system's
    host_map: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    resolve_only: bool = False  # names missing from host_map fail as "no such host"
    # A captured page's requisites (archiver.storage.wholepage): whether to store them, and
    # the bounds per page: how many are asked for, how many bytes stored, how many seconds
    requisites: bool = True
    requisite_count: int = 50
    requisite_bytes: int = 20 * 1024 * 1024
    requisite_seconds: float = 60.0
    browser: str | None = None  # capture live pages in this Chromium (path or name) instead

    @property
    def state_file(self) -> Path:
        """``state_path``, else the store's own file in the state directory."""
        return self.state_path if self.state_path is not None else default_state_file(self.store)

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
