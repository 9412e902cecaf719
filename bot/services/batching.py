"""Group commit: the small writes of updates handled at the same time share one transaction.

A transaction costs a few database round trips and a commit whatever it holds; the hot path
(the redelivery claim every update takes, `/ticket`) would otherwise pay that per update.
Callers `submit` one item and wait for its own result. One writer per database takes
everything waiting, of every kind, into one transaction; what is submitted meanwhile forms
the next one. Handled one at a time, an update waits for nothing but its own transaction.
One writer also means the batches never wait on each other for SQLite's write lock.

A flush gets the items of its kind and returns, in the same order, each item's result or the
exception that item alone raises (a refusal). It must decide everything before the commit: a
failed transaction is written again item by item, each in a transaction of its own, so one
bad item is refused alone. A database outage fails every waiting item at once (retrying would repeat it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[AsyncConnection, Sequence[T]], Awaitable[Sequence[R | Exception]]]
_Entry = tuple[Any, "asyncio.Future[Any]"]
_Batch = list[tuple[Flush[Any, Any], list[_Entry]]]

MAX_BATCH = 256


async def submit(db: Database, flush: Flush[T, R], item: T) -> R:
    """Write `item` with `flush`, in one transaction with whatever else is waiting."""
    writer = _writers.get(db)
    if writer is None:
        writer = _writers[db] = _Writer(db)
    return await writer.submit(flush, item)  # type: ignore[return-value]


class _Writer:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: dict[Flush[Any, Any], list[_Entry]] = {}
        self._count = 0
        self._task: asyncio.Task[None] | None = None

    async def submit(self, flush: Flush[Any, Any], item: object) -> object:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[object] = loop.create_future()
        self._waiting.setdefault(flush, []).append((item, done))
        self._count += 1
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._write(), name="group commit")
        return await done

    async def _write(self) -> None:
        try:
            # Wait while others are still joining: as long as the last turn of the event
            # loop brought more items, one more turn costs less than a transaction of its
            # own. Alone (one update at a time), that is a single turn.
            joined = 0
            while joined < self._count < MAX_BATCH:
                joined = self._count
                await asyncio.sleep(0)
            while self._waiting:
                await self._write_batch(self._take())
        except BaseException as exc:  # cancelled (shutting down): nobody must wait forever
            waiting, self._waiting, self._count = self._waiting, {}, 0
            for entries in waiting.values():
                _settle_all(entries, exc)
            raise

    def _take(self) -> _Batch:
        """Up to MAX_BATCH waiting items, kinds in the order they were first submitted."""
        batch: _Batch = []
        room = MAX_BATCH
        for flush in list(self._waiting):
            entries = self._waiting[flush]
            batch.append((flush, entries[:room]))
            if len(entries) > room:
                self._waiting[flush] = entries[room:]
            else:
                del self._waiting[flush]
            room -= len(batch[-1][1])
            if room == 0:
                break
        self._count -= MAX_BATCH - room
        return batch

    async def _write_batch(self, batch: _Batch) -> None:
        try:
            async with self._db.connection() as connection:
                outcomes = [
                    await flush(connection, [item for item, _ in entries])
                    for flush, entries in batch
                ]
        except DatabaseUnavailable as exc:
            for _, entries in batch:
                _settle_all(entries, exc)
            return
        except Exception as exc:
            parts = [(flush, [entry]) for flush, entries in batch for entry in entries]
            if len(parts) == 1:
                _settle_all(parts[0][1], exc)
                return
            log.warning(
                "a transaction of %d writes failed (%s); writing them one by one",
                len(parts),
                type(exc).__name__,
            )
            for part in parts:
                await self._write_batch([part])
            return
        except BaseException as exc:  # cancelled mid-write: these were taken off the queue
            for _, entries in batch:
                _settle_all(entries, exc)
            raise
        for (flush, entries), results in zip(batch, outcomes, strict=True):
            if len(results) != len(entries):
                error = RuntimeError(f"{flush.__name__} gave {len(results)} results")
                _settle_all(entries, error)
                continue
            for (_, done), outcome in zip(entries, results, strict=True):
                if done.done():  # the caller gave up waiting (cancelled); the write stands
                    continue
                if isinstance(outcome, Exception):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)


def _settle_all(entries: Sequence[_Entry], exc: BaseException) -> None:
    for _, done in entries:
        if done.done():
            continue
        if isinstance(exc, asyncio.CancelledError):
            done.cancel()
        else:
            done.set_exception(exc)


_writers: WeakKeyDictionary[Database, _Writer] = WeakKeyDictionary()
