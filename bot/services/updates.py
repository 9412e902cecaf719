"""Remembering which Telegram updates were handled, so a redelivered one is skipped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.db import Database
from bot.models import ProcessedUpdate, Role
from bot.services import team
from bot.services.sql import insert_if_missing

# Telegram redelivers for at most a day; a week is a safe horizon.
KEEP = timedelta(days=7)


async def claim(db: Database, update_id: int) -> bool:
    """True the first time an update id is seen, by any process; False for a redelivery."""
    async with db.transaction() as session:
        return await _claim(session, db, update_id)


async def claim_and_look_up(
    db: Database, update_id: int, user_id: int
) -> tuple[bool, Role | None, int | None]:
    """`claim`, plus the sender's role and the team chat, which every command asks next:
    one transaction instead of two on the path every update takes."""
    async with db.transaction() as session:
        if not await _claim(session, db, update_id):
            return False, None, None
        role, team_chat = await team.role_and_team_chat_in(session, user_id)
        return True, role, team_chat


async def _claim(session: AsyncSession, db: Database, update_id: int) -> bool:
    return await insert_if_missing(
        session, ProcessedUpdate, conflict=["update_id"], update_id=update_id, at=clock.now()
    )


async def forget_old(db: Database) -> int:
    async with db.transaction() as session:
        result = await session.exec(  # type: ignore[call-overload]
            delete(ProcessedUpdate).where(col(ProcessedUpdate.at) < clock.now() - KEEP)
        )
        return int(result.rowcount or 0)
