"""Group commit: the small writes of updates handled at the same time share one transaction.

A flush gets the items of one batch and returns, in the same order, each item's result or
the exception that item alone raises (a refusal); it writes everything in one transaction
and must not fail after committing, since a failed batch is written again item by item.

A transaction costs a few database round trips and a commit whatever it holds; the hot path
(the redelivery claim every update takes, `/ticket`) would otherwise pay that per update.
Callers `submit` one item and wait for its own result; items submitted while a batch is being
written form the next batch. Handled one at a time, an update still waits for nothing but its
own transaction.

A batch that fails is written again item by item, so one bad item is refused alone; a
database outage fails every waiting item at once (retrying singly would only repeat it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from bot.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# What a flush returns for each item: its result, or the exception that item alone raises.
Outcome = R | Exception
Flush = Callable[[Database, Sequence[T]], Awaitable[Sequence["R | Exception"]]]

MAX_BATCH = 256


class Batcher(Generic[T, R]):
    """Collects items from concurrent callers and writes them with one `flush` call."""

    def __init__(self, db: Database, flush: Flush[T, R], *, name: str) -> None:
        self._db = db
        self._flush = flush
        self._name = name
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Write `item` with whatever else is waiting; its result, or its own exception."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write(), name=f"batch:{self._name}")
        return await done

    async def _write(self) -> None:
        try:
            # Wait while others are still joining: as long as the last turn of the event
            # loop brought more items, one more turn costs less than a transaction of its
            # own. Alone (one update at a time), that is a single turn.
            joined = 0
            while len(self._waiting) > joined and len(self._waiting) < MAX_BATCH:
                joined = len(self._waiting)
                await asyncio.sleep(0)
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                await self._write_batch(batch)
        except BaseException as exc:  # cancelled (shutting down): nobody must wait forever
            waiting, self._waiting = self._waiting, []
            _settle_all(waiting, exc)
            raise

    async def _write_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            outcomes = await self._flush(self._db, [item for item, _ in batch])
        except DatabaseUnavailable as exc:
            _settle_all(batch, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _settle_all(batch, exc)
                return
            log.warning(
                "batch of %d %s failed (%s); writing them one by one",
                len(batch),
                self._name,
                type(exc).__name__,
            )
            for entry in batch:
                await self._write_batch([entry])
            return
        except BaseException as exc:  # cancelled while writing: nobody must wait forever
            _settle_all(batch, exc)
            raise
        if len(outcomes) != len(batch):
            _settle_all(batch, RuntimeError(f"{self._name}: {len(outcomes)} results"))
            return
        for (_, done), outcome in zip(batch, outcomes, strict=True):
            if done.done():  # the caller gave up waiting (cancelled); the write stands
                continue
            if isinstance(outcome, Exception):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)


def _settle_all(batch: Sequence[tuple[object, asyncio.Future[R]]], exc: BaseException) -> None:
    for _, done in batch:
        if done.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            done.cancel()
        else:
            done.set_exception(exc)


_batchers: WeakKeyDictionary[Database, dict[str, Batcher[object, object]]] = WeakKeyDictionary()


def batcher(db: Database, name: str, flush: Flush[T, R]) -> Batcher[T, R]:
    """The database's batcher for `name`, made on first use."""
    per_db = _batchers.setdefault(db, {})
    found = per_db.get(name)
    if found is None:
        found = Batcher(db, flush, name=name)  # type: ignore[arg-type]
        per_db[name] = found
    return found  # type: ignore[return-value]
