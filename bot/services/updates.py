"""The inbox: each Telegram update is handled once, or handled again.

Every update is claimed before any handler runs (`claim_and_look_up`): a row naming the
process that handles it, not yet done. It is marked done in the same transaction as the
work that must not happen twice (`mark_handled`: `/ticket`'s new ticket), or else when every
handler has run (`finish`). A redelivered update (after a crash, or to another replica) is
skipped when its claim is done or still held by a live process; a claim whose owner died
(freed at the next start on the same host, `release_claims`) or whose lease ran out
(another host) is taken over, and the update is handled again. So a crash between the
claim and the work loses nothing, and one after the work never repeats it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import (
    Insert,
    bindparam,
    delete,
    false,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from bot import clock
from bot.db import Database
from bot.models import Person, ProcessedUpdate, Role, TeamSetting
from bot.services import batching
from bot.services.sql import insert_of
from bot.services.team import TEAM_CHAT_KEY

# Telegram redelivers for at most a day; a week is a safe horizon.
KEEP = timedelta(days=7)
# How long an unfinished claim is its owner's: past this, a redelivery to another process
# (another host: one on this host frees a dead predecessor's claims at start) takes it over.
# Longer than any update takes to handle, replies retried through Telegram's bad moments
# included (bot/telegram_retry.py).
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Claim:
    """What the redelivery guard learns about an update, before any handler runs."""

    first: bool
    role: Role | None = None
    team_chat: int | None = None


@dataclass(frozen=True)
class _Request:
    update_id: int
    user_id: int | None
    owner: str


async def claim(db: Database, update_id: int, *, owner: str) -> bool:
    """True when `owner` is to handle the update: the first time it is seen, by any process,
    or again after its last handler died unfinished; False for a redelivery to skip."""
    return (await batching.submit(db, _claim_many, _Request(update_id, None, owner))).first


async def claim_and_look_up(db: Database, update_id: int, user_id: int, *, owner: str) -> Claim:
    """`claim`, plus the sender's role and the team chat, which every command asks next.

    Every update takes this path, so the claims of updates handled at the same time are
    written together (bot/services/batching.py): one transaction for the lot.
    """
    return await batching.submit(db, _claim_many, _Request(update_id, user_id, owner))


async def finish(db: Database, update_id: int) -> None:
    """The update was handled to the end: a redelivery of it is skipped from now on."""
    await batching.submit(db, _finish_many, update_id)


async def _claim_many(
    connection: AsyncConnection, requests: Sequence[_Request]
) -> list[Claim | Exception]:
    now = clock.now()
    owner_of = {r.update_id: r.owner for r in reversed(requests)}  # the first asker's
    users = {r.user_id for r in requests if r.user_id is not None}
    inserted = await connection.execute(
        _insert_claims(connection.dialect.name),
        [{"update_id": i, "at": now, "owner": o, "done": False} for i, o in owner_of.items()],
    )
    new = set(inserted.scalars())
    if len(new) < len(owner_of):
        # Already claimed: taken over only when unfinished and nobody's (its owner died)
        # or its lease ran out. Rare (a redelivery), so one statement per update is fine.
        for update_id in owner_of.keys() - new:
            taken = await connection.execute(
                _TAKE_OVER,
                {
                    "claimed": update_id,
                    "owner": owner_of[update_id],
                    "now": now,
                    "expired": now - LEASE,
                },
            )
            if taken.first() is not None:
                new.add(update_id)
    roles: dict[int, Role | None] = {}
    team_chat: int | None = None
    if users:
        for user_id, value in await connection.execute(
            _ROLES_AND_TEAM_CHAT, {"users": list(users)}
        ):
            if user_id is None:
                team_chat = int(value)
            else:
                roles[user_id] = Role(value) if value else None
    # Decided inside the transaction: one that fails is written again item by item.
    outcomes: list[Claim | Exception] = []
    for request in requests:
        # The same update twice in one batch (a redelivery racing the original): the
        # first wins.
        first = request.update_id in new
        new.discard(request.update_id)
        if not first or request.user_id is None:
            outcomes.append(Claim(first))
        else:
            outcomes.append(Claim(True, roles.get(request.user_id), team_chat))
    return outcomes


async def mark_handled(connection: AsyncConnection, update_ids: Sequence[int]) -> None:
    """Inside the transaction of an update's work: the update counts as handled exactly
    when (if) that work commits."""
    if update_ids:
        await connection.execute(_FINISH, {"ids": list(set(update_ids))})


async def _finish_many(connection: AsyncConnection, update_ids: Sequence[int]) -> list[None]:
    await mark_handled(connection, update_ids)
    return [None] * len(update_ids)


_CLAIM = ProcessedUpdate.__table__  # type: ignore[attr-defined]
_TAKE_OVER = (
    update(_CLAIM)
    .where(
        _CLAIM.c.update_id == bindparam("claimed"),
        _CLAIM.c.done.is_(false()),
        or_(_CLAIM.c.owner.is_(None), _CLAIM.c.at < bindparam("expired")),
    )
    .values(owner=bindparam("owner"), at=bindparam("now"))
    .returning(_CLAIM.c.update_id)
)
_FINISH = (
    update(_CLAIM).where(_CLAIM.c.update_id.in_(bindparam("ids", expanding=True))).values(done=True)
)
_PERSON = Person.__table__  # type: ignore[attr-defined]
_SETTING = TeamSetting.__table__  # type: ignore[attr-defined]
# The senders' roles, and one row (user id NULL) carrying the team chat: one round trip.
_ROLES_AND_TEAM_CHAT = union_all(
    select(_PERSON.c.user_id, _PERSON.c.role).where(
        _PERSON.c.user_id.in_(bindparam("users", expanding=True))
    ),
    select(null().label("user_id"), _SETTING.c.value).where(_SETTING.c.key == TEAM_CHAT_KEY),
)


@functools.cache
def _insert_claims(dialect: str) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: what comes back is what this batch claimed."""
    statement: Insert = (
        insert_of(dialect, _CLAIM)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(_CLAIM.c.update_id)
    )
    return statement


async def release_claims(db: Database, *, orphaned: Callable[[str], bool]) -> int:
    """Free the unfinished claims whose owner `orphaned(owner)` says is gone, so their
    redeliveries are handled again at once rather than after the lease."""
    async with db.transaction() as session:
        rows = await session.exec(  # type: ignore[call-overload]
            select(_CLAIM.c.update_id, _CLAIM.c.owner).where(
                _CLAIM.c.done.is_(false()), _CLAIM.c.owner.is_not(None)
            )
        )
        stale = [update_id for update_id, owner in rows if orphaned(owner)]
        if stale:
            await session.exec(
                update(_CLAIM)
                .where(_CLAIM.c.update_id.in_(stale), _CLAIM.c.done.is_(false()))
                .values(owner=None)
            )
        return len(stale)


async def forget_old(db: Database) -> int:
    async with db.transaction() as session:
        result = await session.exec(
            delete(ProcessedUpdate).where(col(ProcessedUpdate.at) < clock.now() - KEEP)
        )
        return int(result.rowcount or 0)
