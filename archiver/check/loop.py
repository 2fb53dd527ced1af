"""The event loop the checker runs in: uvloop's where it is installed, else asyncio's.

Imported where the requests are made (a worker process, or the one process of a short
list): ``asyncio`` is imported by ``new_runner``, so the parent of the worker processes,
which only imports this module, never loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")


def run_loop(
    main: Coroutine[Any, Any, T],
    *,
    on_tick: Callable[[], None] | None = None,
    every: float = 0.1,
) -> T:
    """Run ``main`` in a new event loop (see ``new_runner``), calling ``on_tick`` in it
    every ``every`` seconds until ``main`` is done."""
    with new_runner() as runner:
        return runner.run(main if on_tick is None else _ticking(main, on_tick, every))


async def _ticking(main: Coroutine[Any, Any, T], on_tick: Callable[[], None], every: float) -> T:
    import asyncio

    task = asyncio.ensure_future(main)
    while not task.done():
        await asyncio.wait([task], timeout=every)
        if not task.done():
            on_tick()
    return task.result()


def new_runner() -> asyncio.Runner:
    """A runner of uvloop's event loop where uvloop is installed, else of asyncio's own:
    uvloop opens connections in C, which took 0.1 s off scenario A's 5.7 (see bench/)."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)
