"""Remembering which Telegram updates were handled, so a redelivered one is skipped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Insert, Table, bindparam, delete, null, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from bot import clock
from bot.db import Database
from bot.models import Person, ProcessedUpdate, Role, TeamSetting
from bot.services import batching
from bot.services.team import TEAM_CHAT_KEY

# Telegram redelivers for at most a day; a week is a safe horizon.
KEEP = timedelta(days=7)


@dataclass(frozen=True)
class Claim:
    """What the redelivery guard learns about an update, before any handler runs."""

    first: bool
    role: Role | None = None
    team_chat: int | None = None


async def claim(db: Database, update_id: int) -> bool:
    """True the first time an update id is seen, by any process; False for a redelivery."""
    return (await batching.submit(db, _claim_many, (update_id, None))).first


async def claim_and_look_up(db: Database, update_id: int, user_id: int) -> Claim:
    """`claim`, plus the sender's role and the team chat, which every command asks next.

    Every update takes this path, so the claims of updates handled at the same time are
    written together (bot/services/batching.py): one transaction for the lot.
    """
    return await batching.submit(db, _claim_many, (update_id, user_id))


async def _claim_many(
    connection: AsyncConnection, requests: Sequence[tuple[int, int | None]]
) -> list[Claim | Exception]:
    now = clock.now()
    ids = list(dict.fromkeys(update_id for update_id, _ in requests))
    users = {user_id for _, user_id in requests if user_id is not None}
    inserted = await connection.execute(
        _INSERT_CLAIMS[connection.dialect.name], [{"update_id": i, "at": now} for i in ids]
    )
    new = set(inserted.scalars())
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
    for update_id, user_id in requests:
        # The same update twice in one batch (a redelivery racing the original): the
        # first wins.
        first = update_id in new
        new.discard(update_id)
        if not first or user_id is None:
            outcomes.append(Claim(first))
        else:
            outcomes.append(Claim(True, roles.get(user_id), team_chat))
    return outcomes


_CLAIM = ProcessedUpdate.__table__  # type: ignore[attr-defined]
_PERSON = Person.__table__  # type: ignore[attr-defined]
_SETTING = TeamSetting.__table__  # type: ignore[attr-defined]
# The senders' roles, and one row (user id NULL) carrying the team chat: one round trip.
_ROLES_AND_TEAM_CHAT = union_all(
    select(_PERSON.c.user_id, _PERSON.c.role).where(
        _PERSON.c.user_id.in_(bindparam("users", expanding=True))
    ),
    select(null().label("user_id"), _SETTING.c.value).where(_SETTING.c.key == TEAM_CHAT_KEY),
)


def _insert_claims(insert: Callable[[Table], Insert]) -> Insert:
    return (
        insert(_CLAIM)  # type: ignore[attr-defined]
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(_CLAIM.c.update_id)
    )


# INSERT … ON CONFLICT DO NOTHING RETURNING: what comes back is what this batch claimed.
_INSERT_CLAIMS = {
    "postgresql": _insert_claims(postgresql.insert),
    "sqlite": _insert_claims(sqlite.insert),
}


async def forget_old(db: Database) -> int:
    async with db.transaction() as session:
        result = await session.exec(
            delete(ProcessedUpdate).where(col(ProcessedUpdate.at) < clock.now() - KEEP)
        )
        return int(result.rowcount or 0)
