"""Slots for requests in flight: the checker's per-host and overall limits."""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    """``count`` slots, taken and given back in the order asked, as ``asyncio.Semaphore``
    does, but a slot that is free is taken without making a coroutine (each hop of each
    request takes two: its host's and one of the overall ones)."""

    __slots__ = ("_waiting", "free")

    def __init__(self, count: int) -> None:
        self.free = count
        self._waiting: deque[asyncio.Future[None]] = deque()

    def take_now(self) -> bool:
        """Take a slot if one is free and nobody waits for one."""
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return True
        return False

    async def take(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait for a slot (after ``take_now`` said none is free)."""
        waiter = loop.create_future()
        self._waiting.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give_back()  # handed over just before the cancel: pass it on
            raise

    def give_back(self) -> None:
        """Hand the slot to the first still waiting, or free it."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1
