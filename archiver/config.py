"""Settings: every knob of a run in one frozen object.

The CLI builds a ``Settings`` from its flags and hands it to the stages; library users
build one directly. ``host_map`` and ``resolve_only`` are the network seam: they pin host
names to loopback addresses (like curl's ``--resolve``), which is how the demo and the
tests put real-looking sites on a simulated web without any DNS traffic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from archiver import __version__

DEFAULT_USER_AGENT = f"archiver/{__version__} (citation link checker and web-archiving tool)"


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
    processes: int = 0  # event loops (one per process) for checking; 0: one per core, long lists
    store: Path = Path("warcs")
    state_path: Path | None = None  # default: <store>/state.sqlite
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
    ca_bundle: Path | None = None  # trust these CA certificates instead of the system's
    host_map: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    resolve_only: bool = False  # names missing from host_map fail as "no such host"

    @property
    def state_file(self) -> Path:
        return self.state_path if self.state_path is not None else self.store / "state.sqlite"

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
