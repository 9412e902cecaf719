"""How many updates are handled at once, and the order that is kept while they are.

Handled one at a time, every update waits for the one before it to commit; a busy team (or
the backlog after a restart) then queues behind the database. Handled side by side, the
updates of different people share transactions (bot/services/batching.py), while each
person's own updates still run strictly in the order they were sent: a guided flow's
answers, a `/resolve` after its `/ticket`, a button after the message it belongs to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerPersonOrder(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` at once; one person's updates one after another."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._lanes: dict[int, _Lane] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        person = _person(update)
        if person is None:
            await coroutine
            return
        lane = self._lanes.get(person)
        if lane is None:
            lane = self._lanes[person] = _Lane()
        lane.users += 1
        try:
            # asyncio.Lock wakes its waiters first come, first served, and updates reach it
            # in the order they were fetched: the order the person sent them.
            async with lane.lock:
                await coroutine
        finally:
            lane.users -= 1
            if lane.users == 0:
                del self._lanes[person]

    async def initialize(self) -> None:
        """Nothing to set up: the order is kept in memory, per process."""

    async def shutdown(self) -> None:
        """Nothing to free."""


class _Lane:
    """One person's updates in hand: the lock they take in turn, and how many hold or wait."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


def _person(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None


class InFlightQueue(asyncio.Queue[object]):
    """The update queue, letting at most `in_hand` updates out before they are finished.

    Asking Telegram for the next batch of updates confirms the last one. An unbounded number
    of updates in hand would let the poller confirm the whole backlog at once, and a crash
    would lose every update not finished yet; bounded, the poller waits, and Telegram
    redelivers what a crash interrupted (handlers/seen.py skips what was handled already).
    """

    def __init__(self, *, maxsize: int, in_hand: int) -> None:
        super().__init__(maxsize)
        self._limit = in_hand
        self._in_hand = 0
        self._room = asyncio.Event()

    async def get(self) -> object:
        while self._in_hand >= self._limit:
            self._room.clear()
            await self._room.wait()
        return await super().get()

    def get_nowait(self) -> object:
        item = super().get_nowait()
        self._in_hand += 1
        return item

    def task_done(self) -> None:
        super().task_done()
        self._in_hand = max(0, self._in_hand - 1)
        self._room.set()
