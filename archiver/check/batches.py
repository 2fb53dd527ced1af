"""A worker process's checking (``archiver.check.processes``): the checker's results sent
to the parent in batches, and word when only answers are awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from archiver.check.checker import check_all
from archiver.config import Settings
from archiver.dates import Clock
from archiver.models import LinkCheck

BATCH_SECONDS = 0.05  # how often worker processes send their results to the parent


async def check_in_batches(
    urls: Sequence[str],
    settings: Settings,
    clock: Clock,
    send: Callable[[list[LinkCheck]], None],
    on_started: Callable[[], None] | None = None,
) -> None:
    """Results go to ``send`` (the parent) in batches, every ``BATCH_SECONDS``: one
    pickling and one pipe write per batch, not per result, leave the CPU to the
    requests. The last batch goes as soon as the last result is in, before this process
    closes its connections. ``on_started`` is called once the last URL's check has
    started, right after the results so far were sent: the parent can then do what it
    put off while the CPU was busy with the requests."""
    batch: list[LinkCheck] = []
    remaining = len(urls)

    def flush() -> None:
        if batch:
            send(batch.copy())
            batch.clear()

    def arrived(result: LinkCheck) -> None:
        nonlocal remaining
        batch.append(result)
        remaining -= 1
        if remaining == 0:
            flush()

    def started() -> None:
        flush()
        if on_started is not None:
            on_started()

    async def now_and_then() -> None:
        while True:
            await asyncio.sleep(BATCH_SECONDS)
            flush()

    sender = asyncio.ensure_future(now_and_then())
    try:
        await check_all(urls, settings, clock, arrived, started)
    finally:
        sender.cancel()
