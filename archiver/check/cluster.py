"""Checking links on a Dask distributed cluster (``--cluster tcp://SCHEDULER:8786``).

The URLs are split by host (``archiver.check.hosts``) into tasks, so that each host's
links are checked by one task, on one worker, with the usual ``per_host`` limit: the
limit holds across the cluster as it does on one machine. A worker runs a task with the
same checker as a local run and sends back the verdicts; it keeps no state. Everything
else stays with the client that asked: the history (each task's verdicts are recorded as
soon as they arrive, so a worker that dies later loses nothing already returned), the
archive lookups (one client paces every archive, so their limits hold whatever the
cluster's size) and the store. A task whose worker died is run again by the scheduler on
another worker.

Dask is imported only here, and only when ``--cluster`` is given.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from archiver.check.hosts import partition_by_host
from archiver.config import Settings
from archiver.dates import utcnow
from archiver.errors import NetworkError, SetupError
from archiver.models import LinkCheck

if TYPE_CHECKING:
    from distributed import Client

# Tasks per worker thread: small tasks lose less when a worker dies and balance better;
# a host's links are never split, whatever this is.
TASKS_PER_THREAD = 4
CONNECT_SECONDS = 10.0


def check_part(urls: Sequence[str], settings: Settings) -> list[LinkCheck]:
    """A task, run on a worker: check ``urls`` (whole hosts) with this worker's clock."""
    from archiver.check import checker
    from archiver.check.loop import run_loop

    results: list[LinkCheck] = []
    run_loop(checker.check_all(list(urls), settings, utcnow, results.append))
    return results


def check_on_cluster(
    urls: Sequence[str],
    settings: Settings,
    on_result: Callable[[LinkCheck], None],
    on_tick: Callable[[], None] | None,
) -> None:
    """Check ``urls`` on the cluster at ``settings.cluster``, each result handed to
    ``on_result`` as its task comes back (none is held here)."""
    assert settings.cluster is not None
    with connect(settings.cluster) as client:
        threads = sum(client.nthreads().values()) or 1
        parts = partition_by_host(urls, threads * TASKS_PER_THREAD)
        # Sent as plain data: a worker has no use for the client's cluster address, and a
        # read-only mapping does not pickle.
        remote = settings.replace(cluster=None, host_map=dict(settings.host_map))
        batch = uuid.uuid4().hex[:12]
        futures = [
            client.submit(check_part, part, remote, key=f"archiver-check-{batch}-{n}", retries=2)
            for n, part in enumerate(parts)
        ]
        _gather(client, futures, on_result, on_tick)


def _gather(
    client: Client,
    futures: list[Any],
    on_result: Callable[[LinkCheck], None],
    on_tick: Callable[[], None] | None,
) -> None:
    from distributed import as_completed

    for future in as_completed(futures, loop=client.loop):
        try:
            part = future.result()
        except Exception as error:  # a task that failed on every try: no verdicts to make up
            raise NetworkError(f"a checking task failed on the cluster: {error}") from None
        for check in part:
            on_result(check)
        if on_tick is not None:
            on_tick()
        future.release()


def connect(address: str) -> Client:
    """A client of the scheduler at ``address``, or one clear line why not."""
    try:
        from distributed import Client
    except ImportError:
        raise SetupError(
            "--cluster needs Dask's distributed scheduler: pip install 'archiver[cluster]'"
        ) from None
    try:
        return Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise NetworkError(f"cannot reach the Dask scheduler at {address}: {error}") from None
