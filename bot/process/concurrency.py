"""How many updates are handled at once, and the order that is kept while they are.

Handled one at a time, every update waits for the one before it to commit; a busy team (or
the backlog after a restart) then queues behind the database. Handled side by side, the
updates of different people share transactions (bot/services/batching.py), while each
person's own updates still run strictly in the order they were sent: a guided flow's
answers, a `/resolve` after its `/ticket`, a button after the message it belongs to.

Taking an update off the queue is what lets the poller confirm it to Telegram, and a crash
loses what was confirmed but not finished. So the queue lets an update out only while fewer
than `concurrent_updates` are in hand, and only while its person has fewer than
PER_PERSON_IN_HAND: one person's burst stays two in hand, about as when updates were handled
one by one, and Telegram redelivers the rest after a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# The update being handled and the next, ready to start the moment it finishes (with only
# the one, every person's next update would wait for the queue to notice).
PER_PERSON_IN_HAND = 2


class PerPersonOrder(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` at once; one person's updates one after another."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._lanes: dict[int, _Lane] = {}

    def taken(self, update: object) -> None:
        """`update` left the queue: its person counts as busy until it is finished."""
        person = _person(update)
        if person is not None:
            lane = self._lanes.get(person)
            if lane is None:
                lane = self._lanes[person] = _Lane()
            lane.users += 1

    def busy(self, update: object) -> bool:
        """Whether the person behind `update` has as many updates in hand as they may."""
        person = _person(update)
        lane = self._lanes.get(person) if person is not None else None
        return lane is not None and lane.users >= PER_PERSON_IN_HAND

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        person = _person(update)
        if person is None:
            await coroutine
            return
        lane = self._lanes.get(person)
        if lane is None:  # handed to the processor without InFlightQueue taking it
            self.taken(update)
            lane = self._lanes[person]
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
    """One person's updates in hand: the lock they take in turn, and how many there are."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


def _person(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None


class InFlightQueue(asyncio.Queue[object]):
    """The update queue, letting an update out only when it can start at once (see above)."""

    def __init__(self, *, maxsize: int, order: PerPersonOrder) -> None:
        super().__init__(maxsize)
        self._order = order
        self._limit = order.max_concurrent_updates
        self._in_hand = 0
        self._room = asyncio.Event()

    async def get(self) -> object:
        while not self._may_let_out():
            self._room.clear()
            await self._room.wait()
        return self.get_nowait()

    def _may_let_out(self) -> bool:
        if self.empty() or self._in_hand >= self._limit:
            return False
        # The head waits for its person; the updates behind it wait for the head, so the
        # order of the queue is the order of handling.
        return not self._order.busy(self._queue[0])  # type: ignore[attr-defined]

    def put_nowait(self, item: object) -> None:
        super().put_nowait(item)
        self._room.set()

    def get_nowait(self) -> object:
        item = super().get_nowait()
        self._in_hand += 1
        self._order.taken(item)
        return item

    def task_done(self) -> None:
        super().task_done()
        self._in_hand = max(0, self._in_hand - 1)
        self._room.set()
