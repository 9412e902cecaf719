"""Messages that must reach Telegram, queued in the same transaction as what caused them.

Enqueueing is idempotent by `dedupe_key`: a follow-up level, a day's digest or a survey
round can be enqueued by any number of processes and restarts and still exists once.
Delivery claims a row for a short lease, so two dispatchers never send the same row.

This module is the only writer of the outbox table: services queue, cancel and look up by key
through it, and build their keys with `key` (or `key_sql`, the same key as an SQL expression).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, String, cast, exists, literal, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.db import Database
from bot.models import Outbox
from bot.services.sql import insert_if_missing

LEASE = timedelta(seconds=60)

_EARLIER = aliased(Outbox)


def _not_held_back() -> Any:
    """True for a row no earlier pending row of its chain holds back (rows without a chain
    are never held)."""
    earlier_pending = exists().where(
        col(_EARLIER.chain) == col(Outbox.chain),
        col(_EARLIER.status) == "pending",
        col(_EARLIER.id) < col(Outbox.id),
    )
    return or_(col(Outbox.chain).is_(None), ~earlier_pending)


# The dispatcher claims a message only when its turn comes, for longer than any one send can
# take (timeouts, the rate limiter's waits): a slow send is never raced by another replica.
# A replica that dies mid-send leaves the message to the others after this long.
SEND_LEASE = timedelta(minutes=5)
# With the back-off capped at 10 minutes, about four hours of retrying: a Telegram or network
# outage of an afternoon delays surveys, follow-ups and digests but does not drop them.
MAX_ATTEMPTS = 30


class Status(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # Given up: refused for good by Telegram, or out of attempts.
    FAILED = "failed"
    # No longer wanted before it went out (the survey was answered, the ticket resolved).
    CANCELLED = "cancelled"
    # For a chat that refuses the bot for now (the team chat the bot was removed from):
    # neither sent nor given up, until the chat is back (`release_held`).
    HELD = "held"
    # A held message too old to post when its chat came back: the managers got a list instead.
    MISSED = "missed"


# Not gone out yet, and still meant to: what cancelling or moving a chat applies to.
_WAITING = (Status.PENDING, Status.HELD)


_SEPARATOR = ":"


def key(*parts: object) -> str:
    """A dedupe key from its parts, e.g. key("followup", 12, 1, "remind") → "followup:12:1:remind"."""
    return _SEPARATOR.join(str(part) for part in parts)


def key_sql(*parts: object) -> ColumnElement[str]:
    """`key(*parts)` as an SQL expression, where some parts are columns or SQL expressions."""
    pieces: list[Any] = []
    for index, part in enumerate(parts):
        if index:
            pieces.append(literal(_SEPARATOR))
        # Plain values are written as `key` writes them; anything else is a column or expression.
        plain = isinstance(part, str | int)
        pieces.append(literal(str(part)) if plain else cast(part, String))
    expression = pieces[0]
    for piece in pieces[1:]:
        expression = expression + piece
    return expression


def queued(dedupe_key: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL: a message with this key was ever queued (a claim taken, whatever became of it)."""
    return exists().where(col(Outbox.dedupe_key) == dedupe_key)


@dataclass(frozen=True)
class Pending:
    id: int
    kind: str
    chat_id: int | None
    payload: dict[str, Any]
    attempts: int
    dedupe_key: str


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    chat_id: int | None,
    payload: dict[str, Any],
    not_before: datetime | None = None,
    chain: str | None = None,
) -> bool:
    """Queue a message unless one with this key exists; True when this call queued it.

    Messages sharing a `chain` are sent one at a time in the order they were queued.
    """
    now = clock.now()
    values = {
        "dedupe_key": key,
        "kind": kind,
        "chat_id": chat_id,
        "payload": payload,
        "status": Status.PENDING,
        "created_at": now,
        "not_before": not_before or now,
        "attempts": 0,
        "chain": chain,
    }
    return await insert_if_missing(session, Outbox, conflict=["dedupe_key"], **values)


async def due_ids(db: Database, *, limit: int = 50) -> list[int]:
    """Messages due now and not leased to anyone, oldest first (nothing is claimed yet)."""
    now = clock.now()
    async with db.transaction() as session:
        rows = await session.exec(
            select(Outbox.id)
            .where(
                col(Outbox.status) == Status.PENDING,
                col(Outbox.not_before) <= now,
                or_(col(Outbox.claimed_until).is_(None), col(Outbox.claimed_until) < now),
                _not_held_back(),
            )
            .order_by(col(Outbox.not_before), col(Outbox.id))
            .limit(limit)
        )
        return [outbox_id for outbox_id in rows if outbox_id is not None]


async def claim(
    db: Database, outbox_id: int, *, owner: str, lease: timedelta = LEASE
) -> Pending | None:
    """Lease one message to `owner`, or None if it was sent or is leased to someone else."""
    now = clock.now()
    async with db.transaction() as session:
        # A conditional update is the claim: only one process can flip an unleased row.
        result = await session.exec(
            update(Outbox)
            .where(
                col(Outbox.id) == outbox_id,
                col(Outbox.status) == Status.PENDING,
                col(Outbox.not_before) <= now,
                or_(col(Outbox.claimed_until).is_(None), col(Outbox.claimed_until) < now),
                _not_held_back(),
            )
            .values(claimed_by=owner, claimed_until=now + lease, attempts=Outbox.attempts + 1)
        )
        if not result.rowcount:
            return None
        row = await session.get(Outbox, outbox_id)
        assert row is not None
        return _pending(row)


def _pending(row: Outbox) -> Pending:
    assert row.id is not None
    return Pending(row.id, row.kind, row.chat_id, dict(row.payload), row.attempts, row.dedupe_key)


async def claim_due(db: Database, *, owner: str, limit: int = 50) -> list[Pending]:
    """Lease up to `limit` due messages to `owner`; expired leases are up for grabs again."""
    claimed = [
        await claim(db, outbox_id, owner=owner) for outbox_id in await due_ids(db, limit=limit)
    ]
    return [item for item in claimed if item is not None]


async def mark_sent(db: Database, outbox_id: int, *, message_id: int | None) -> None:
    async with db.transaction() as session:
        row = await session.get(Outbox, outbox_id)
        if row is not None:
            row.status, row.sent_at, row.message_id = Status.SENT, clock.now(), message_id
            row.claimed_until = None


async def mark_failed(
    db: Database, outbox_id: int, *, error: str, retry_in: timedelta | None
) -> str:
    """Record a failed attempt; retried after `retry_in`, or given up when None or exhausted.

    The row's status afterwards ("gone" if the row is).
    """
    async with db.transaction() as session:
        row = await session.get(Outbox, outbox_id)
        if row is None:
            return "gone"
        row.last_error = error[:2000]
        row.claimed_until = None
        if retry_in is None or row.attempts >= MAX_ATTEMPTS:
            row.status = Status.FAILED
        else:
            row.not_before = clock.now() + retry_in
        return row.status


async def cancel(session: AsyncSession, keys: Sequence[str]) -> int:
    """Drop the messages with these keys that have not gone out yet; how many were dropped."""
    result = await session.exec(
        update(Outbox)
        .where(col(Outbox.dedupe_key).in_(keys), col(Outbox.status).in_(_WAITING))
        .values(status=Status.CANCELLED)
    )
    return int(result.rowcount or 0)


async def exists_key(session: AsyncSession, dedupe_key: str) -> bool:
    """Whether a message with this key was ever queued."""
    rows = await session.exec(select(Outbox.id).where(col(Outbox.dedupe_key) == dedupe_key))
    return rows.first() is not None


async def sent_message_id(session: AsyncSession, dedupe_key: str) -> int | None:
    """The Telegram message id the message with this key went out as, if it has."""
    rows = await session.exec(
        select(Outbox.message_id).where(
            col(Outbox.dedupe_key) == dedupe_key, col(Outbox.status) == Status.SENT
        )
    )
    return rows.first()


async def release_claims(db: Database, *, orphaned: Callable[[str], bool]) -> int:
    """Free the leases of pending messages whose claimant `orphaned(owner)` says is gone.

    A crash leaves its claims leased until they expire; a restart on the same host knows
    the dead process's claims are nobody's and frees them at once.
    """
    now = clock.now()
    async with db.transaction() as session:
        rows = await session.exec(
            select(Outbox.id, Outbox.claimed_by).where(
                col(Outbox.status) == Status.PENDING,
                col(Outbox.claimed_until).is_not(None),
                col(Outbox.claimed_until) > now,
            )
        )
        stale = [outbox_id for outbox_id, owner in rows if owner and orphaned(owner)]
        if stale:
            await session.exec(
                update(Outbox)
                .where(col(Outbox.id).in_(stale), col(Outbox.status) == Status.PENDING)
                .values(claimed_until=None, claimed_by=None)
            )
        return len(stale)


async def move_chat(session: AsyncSession, *, old_chat_id: int, new_chat_id: int) -> int:
    """Send what waits for `old_chat_id` to `new_chat_id` instead (a group upgraded to a
    supergroup); how many messages moved. Each stays one row, so it is still sent once."""
    result = await session.exec(
        update(Outbox)
        .where(
            col(Outbox.chat_id) == old_chat_id,
            col(Outbox.status).in_(_WAITING),
        )
        .values(chat_id=new_chat_id)
    )
    return int(result.rowcount or 0)


async def hold(db: Database, outbox_id: int, *, error: str) -> None:
    """Keep a claimed message aside until its chat is back; the claim is let go."""
    async with db.transaction() as session:
        row = await session.get(Outbox, outbox_id)
        if row is not None and row.status == Status.PENDING:
            row.status, row.last_error, row.claimed_until = Status.HELD, error[:2000], None


async def release_held(
    session: AsyncSession, chat_id: int, *, stale_after: timedelta
) -> tuple[list[int], list[Pending]]:
    """The chat is back: held messages due within `stale_after` go out now (their ids);
    older ones are marked missed and returned, for someone to be told what they were."""
    now = clock.now()
    rows = await session.exec(
        select(Outbox)
        .where(Outbox.chat_id == chat_id, col(Outbox.status) == Status.HELD)
        .order_by(col(Outbox.not_before), col(Outbox.id))
    )
    released: list[int] = []
    missed: list[Pending] = []
    for row in rows:
        if now - row.not_before > stale_after:
            row.status = Status.MISSED
            missed.append(_pending(row))
        else:
            row.status, row.not_before = Status.PENDING, now
            released.append(_pending(row).id)
    return released, missed


async def rows(db: Database, outbox_ids: list[int]) -> list[Pending]:
    """The messages with these ids, in their order (to say what they were)."""
    if not outbox_ids:
        return []
    async with db.transaction() as session:
        found = await session.exec(
            select(Outbox).where(col(Outbox.id).in_(outbox_ids)).order_by(col(Outbox.id))
        )
        return [_pending(row) for row in found]
