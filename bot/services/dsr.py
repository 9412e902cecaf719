"""The shop's DSR scores (描述 / 服务 / 物流) as a manager reads them off the platform."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.db import Database
from bot.i18n import N_
from bot.models import DsrEntry
from bot.services.access import require_manager
from bot.services.errors import InvalidInput
from bot.services.sql import insert_if_missing
from scoring import local_day
from scoring.figures import Dsr, check_dsr_score

_SCORE = re.compile(r"^\d(?:\.\d{1,2})?$")


@dataclass(frozen=True)
class DsrRecord:
    day: date
    scores: Dsr
    previous: Dsr | None  # what that day had before, when corrected


@dataclass(frozen=True)
class DsrLatest:
    """The latest entry up to a day and the one before it (for the change)."""

    day: date
    scores: Dsr
    previous: Dsr | None


def parse_score(text: str) -> Decimal:
    """`4.8` or `4.87`: a DSR score as the platform shows it (0–5, two decimals)."""
    text = text.strip()
    try:
        if not _SCORE.match(text):
            raise ValueError(text)
        return check_dsr_score("score", Decimal(text))
    except (ValueError, InvalidOperation):
        raise InvalidInput(
            N_("“%(text)s” is not a DSR score; write a number from 0 to 5, e.g. 4.87."),
            text=text[:40],
        ) from None


def _scores(row: DsrEntry) -> Dsr:
    return Dsr(description=row.description, service=row.service, logistics=row.logistics)


async def record(db: Database, *, day: date, scores: Dsr, actor_id: int, tz: ZoneInfo) -> DsrRecord:
    """Record the three scores shown on `day`, replacing what that day had."""
    if day > local_day(clock.now(), tz):
        raise InvalidInput(
            N_("%(day)s is in the future; record the scores the platform shows today or earlier."),
            day=day.isoformat(),
        )
    now = clock.now()
    async with db.transaction() as session:
        await require_manager(session, actor_id)
        values = {
            "description": scores.description,
            "service": scores.service,
            "logistics": scores.logistics,
            "recorded_at": now,
            "recorded_by": actor_id,
        }
        created = await insert_if_missing(session, DsrEntry, day=day, **values)  # type: ignore[arg-type]
        row = (
            await session.exec(select(DsrEntry).where(DsrEntry.day == day).with_for_update())
        ).one()
        previous = None if created else _scores(row)
        for name, value in values.items():
            setattr(row, name, value)
        return DsrRecord(day=day, scores=scores, previous=previous)


async def latest(session: AsyncSession, *, day: date) -> DsrLatest | None:
    """The latest entry on or before `day`, with the entry before it; None if there is none."""
    rows = (
        await session.exec(
            select(DsrEntry).where(DsrEntry.day <= day).order_by(col(DsrEntry.day).desc()).limit(2)
        )
    ).all()
    if not rows:
        return None
    return DsrLatest(
        day=rows[0].day,
        scores=_scores(rows[0]),
        previous=_scores(rows[1]) if len(rows) > 1 else None,
    )
