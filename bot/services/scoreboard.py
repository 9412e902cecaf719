"""The scoreboard: each agent's four indicators, total and pay for a month, counted in the database.

`agent_lines` adds what the month's shop figures and targets decide: first-time fix, internal
complaints, sales, and the complete pay (base part + commission + team bonus).

Every query filters on an indexed date range and groups in SQL; Python only sees one row per
agent and score band, and `scoring/` turns those counts into means, totals and pay. Month
boundaries are team-local midnights converted to UTC (`scoring.months`), so the SQL compares
plain UTC instants and needs no time-zone support from the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, false, func, literal, or_, select, true, union_all
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.config import ScoringSettings
from bot.db import Database
from bot.i18n import N_
from bot.models import Person, Role, SkillRating, Survey, Ticket
from bot.services.errors import InvalidInput
from bot.services.more_shop_figures import MoreShopFigures
from bot.services.sql import unresolved_at, within_hours
from scoring import (
    SPEED_BANDS,
    SPEED_SLOW_HOURS,
    SPEED_SLOWEST,
    Indicators,
    base_part,
    mean_from_counts,
    pay_sheet,
    to_cent,
    total_score,
)
from scoring.months import month_period_utc


@dataclass(frozen=True)
class AgentScore:
    user_id: int
    name: str
    tickets: int  # resolved in the period
    indicators: Indicators
    total: float | None
    max_total: int
    pay: Decimal | None  # the base part, to the cent
    base: Decimal | None = None  # the base part, exact: what the complete pay sheet adds up


@dataclass(frozen=True)
class PayParts:
    """The parts of an agent's pay, to the cent; they add up to the pay."""

    base: Decimal
    commission: Decimal
    bonus: Decimal


# `AgentScore` flattened: the digest's JSON snapshot, the pay sheet and the chat lines list the
# four indicators side by side, where the scoreboard nests them in `Indicators`.
@dataclass(frozen=True)
class AgentLine:
    user_id: int
    name: str
    tickets: int
    satisfaction: float | None
    speed: float | None
    quality: float | None
    skill: float | None
    total: float | None
    max_total: int
    pay: Decimal | None  # the complete pay: pay_parts added up
    # The rest of the shop figures and the pay sheet (defaults: a snapshot queued before them).
    first_time_fix_rate: float | None = None
    internal_complaints: int = 0
    sales: Decimal = Decimal("0.00")
    pay_parts: PayParts | None = None
    # Month to date, over the waits this agent's replies closed (None: none).
    median_reply_minutes: float | None = None


def agent_lines(
    scores: list[AgentScore],
    more: MoreShopFigures,
    scoring: ScoringSettings,
    *,
    bonus_forfeited: bool,
    reply_medians: dict[int, float | None] | None = None,
) -> tuple[AgentLine, ...]:
    """The scoreboard with each agent's first-time fix, complaints, sales and complete pay:
    base part + commission on their sales + the team bonus, which one missed target forfeits
    for everyone (`scoring.pay.pay_sheet`)."""
    lines = []
    for score in scores:
        sales = more.agent_sales.get(score.user_id, Decimal("0.00"))
        sheet = pay_sheet(
            base=score.base,
            sales=sales,
            commission_rate=scoring.commission_rate,
            team_bonus=scoring.team_bonus,
            bonus_forfeited=bonus_forfeited,
        )
        fix = more.agent_first_time_fix.get(score.user_id)
        lines.append(
            AgentLine(
                user_id=score.user_id,
                name=score.name,
                tickets=score.tickets,
                satisfaction=score.indicators.satisfaction,
                speed=score.indicators.speed,
                quality=score.indicators.quality,
                skill=score.indicators.skill,
                total=score.total,
                max_total=score.max_total,
                pay=None if sheet is None else sheet.pay,
                first_time_fix_rate=None if fix is None else fix.rate,
                internal_complaints=more.agent_complaints.get(score.user_id, 0),
                sales=sales,
                pay_parts=None
                if sheet is None
                else PayParts(base=sheet.base, commission=sheet.commission, bonus=sheet.bonus),
                median_reply_minutes=(reply_medians or {}).get(score.user_id),
            )
        )
    return tuple(lines)


# --- scoreboard ----------------------------------------------------------------------------


def _agent_filter(column: Any, agent_id: int | None) -> ColumnElement[bool]:
    return column == agent_id if agent_id is not None else true()


async def _counts_by_band(session: AsyncSession, statement: Any) -> dict[int, dict[int, int]]:
    """Rows of (agent_id, score) from a subquery → {agent_id: {score: count}}."""
    sub = statement.subquery()
    rows = await session.exec(  # type: ignore[call-overload]
        select(sub.c.agent_id, sub.c.score, func.count()).group_by(sub.c.agent_id, sub.c.score)
    )
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for agent_id, score, count in rows:
        counts[int(agent_id)][int(score)] = int(count)
    return counts


@dataclass
class _Resolved:
    """What one pass over the tickets resolved in the period yields, per agent."""

    speed: dict[int, dict[int, int]]
    quality: dict[int, dict[int, int]]
    tickets: dict[int, int]


async def _resolved_in_period(
    session: AsyncSession, start: datetime, end: datetime, agent_id: int | None
) -> _Resolved:
    """Speed bands, quality scores and counts of the tickets resolved in [start, end)."""
    received, resolved = col(Ticket.received_at), col(Ticket.resolved_at)
    band = case(
        *(
            (within_hours(session, received, resolved, hours), score)
            for hours, score in SPEED_BANDS
        ),
        else_=SPEED_SLOWEST,
    )
    # One range scan grouped by (agent, speed, quality) serves all three: the month's
    # resolved tickets are the bulk of the scoreboard's work.
    inner = (
        select(
            col(Ticket.agent_id).label("agent_id"),
            band.label("speed"),
            col(Ticket.quality).label("quality"),
        )
        .where(resolved >= start, resolved < end, _agent_filter(col(Ticket.agent_id), agent_id))
        .subquery()
    )
    rows = await session.exec(  # type: ignore[call-overload]
        select(inner.c.agent_id, inner.c.speed, inner.c.quality, func.count()).group_by(
            inner.c.agent_id, inner.c.speed, inner.c.quality
        )
    )
    found = _Resolved(speed=defaultdict(dict), quality=defaultdict(dict), tickets={})
    for agent, speed, quality, count in rows:
        agent, count = int(agent), int(count)
        found.speed[agent][int(speed)] = found.speed[agent].get(int(speed), 0) + count
        if quality is not None:
            scores = found.quality[agent]
            scores[int(quality)] = scores.get(int(quality), 0) + count
        found.tickets[agent] = found.tickets.get(agent, 0) + count
    return found


async def _overdue_counts(
    session: AsyncSession, end: datetime, agent_id: int | None
) -> dict[int, int]:
    """Per agent, tickets still open at `end` and received more than SPEED_SLOW_HOURS before.

    Never resolving must not help: each of these scores as the slowest resolution.
    """
    received = col(Ticket.received_at)
    overdue = (received < end - timedelta(hours=SPEED_SLOW_HOURS),)
    overdue_rows = union_all(  # type: ignore[var-annotated]
        *(
            select(
                col(Ticket.agent_id).label("agent_id"), literal(SPEED_SLOWEST).label("score")
            ).where(still_open, *overdue, _agent_filter(col(Ticket.agent_id), agent_id))
            for still_open in unresolved_at(end)
        )
    )
    counts = await _counts_by_band(session, overdue_rows)
    return {agent: bands[SPEED_SLOWEST] for agent, bands in counts.items()}


async def _satisfaction_counts(
    session: AsyncSession, start: datetime, end: datetime, agent_id: int | None
) -> dict[int, dict[int, int]]:
    resolved = col(Ticket.resolved_at)
    # A reopened ticket may have an answer per round; the latest answered one stands, and
    # it counts for whoever resolved that round (rows from before that was recorded: the
    # ticket's holder, which could not change while the ticket stayed resolved).
    resolver = func.coalesce(col(Survey.resolved_by), col(Ticket.agent_id))
    latest = func.row_number().over(
        partition_by=col(Survey.ticket_id), order_by=col(Survey.round).desc()
    )
    answers = (
        select(
            resolver.label("agent_id"),
            col(Survey.rating).label("score"),
            latest.label("rank"),
        )
        .select_from(Ticket)
        .join(Survey, col(Survey.ticket_id) == col(Ticket.id))
        .where(
            resolved >= start,
            resolved < end,
            col(Survey.rating).is_not(None),
            _agent_filter(resolver, agent_id),
        )
        .subquery()
    )
    rows = select(answers.c.agent_id, answers.c.score).where(answers.c.rank == 1)
    return await _counts_by_band(session, rows)


def _with_overdue(bands: dict[int, int], overdue: dict[int, int], user_id: int) -> dict[int, int]:
    if user_id not in overdue:
        return bands
    return {**bands, SPEED_SLOWEST: bands.get(SPEED_SLOWEST, 0) + overdue[user_id]}


async def _latest_skills(
    session: AsyncSession, end: datetime, agent_id: int | None
) -> dict[int, int]:
    """Each agent's latest skill rating given before `end`: it applies until changed."""
    latest = func.row_number().over(
        partition_by=col(SkillRating.agent_id),
        order_by=(col(SkillRating.rated_at).desc(), col(SkillRating.id).desc()),
    )
    ranked = (
        select(
            col(SkillRating.agent_id).label("agent_id"),
            col(SkillRating.rating).label("rating"),
            latest.label("rank"),
        )
        .where(col(SkillRating.rated_at) < end, _agent_filter(col(SkillRating.agent_id), agent_id))
        .subquery()
    )
    rows = await session.exec(select(ranked.c.agent_id, ranked.c.rating).where(ranked.c.rank == 1))  # type: ignore[call-overload]
    return {int(agent): int(rating) for agent, rating in rows}


async def _people(
    session: AsyncSession, with_data: Iterable[int], agent_id: int | None
) -> list[tuple[int, str]]:
    """Who is on the scoreboard: every agent, plus anyone else whose tickets count."""
    if agent_id is not None:
        wanted = col(Person.user_id) == agent_id
    else:
        ids = sorted(set(with_data))
        wanted = or_(
            col(Person.role) == Role.AGENT,
            col(Person.user_id).in_(ids) if ids else false(),
        )
    rows = await session.exec(select(col(Person.user_id), col(Person.full_name)).where(wanted))  # type: ignore[call-overload]
    return [(int(user_id), name or str(user_id)) for user_id, name in rows]


async def scoreboard(
    db: Database,
    *,
    month: date,
    scoring: ScoringSettings,
    tz: ZoneInfo,
    agent_id: int | None = None,
) -> list[AgentScore]:
    """Each agent's indicators, total and pay for a calendar month (to date, if in progress).

    Rows are ordered best total first (no total last), then by name. With `agent_id`, only that
    person's row (none if the bot has never seen them).
    """
    start, end = month_period_utc(month, tz, clock.now())
    if start >= end:
        raise InvalidInput(N_("%(month)s has not started yet."), month=month.strftime("%Y-%m"))
    weights = scoring.weights.rules
    async with db.transaction() as session:
        resolved = await _resolved_in_period(session, start, end, agent_id)
        overdue = await _overdue_counts(session, end, agent_id)
        satisfaction = await _satisfaction_counts(session, start, end, agent_id)
        skills = await _latest_skills(session, end, agent_id)
        people = await _people(session, [*resolved.tickets, *overdue], agent_id)

    scores: list[AgentScore] = []
    for user_id, name in people:
        indicators = Indicators(
            satisfaction=mean_from_counts(satisfaction.get(user_id, {})),
            speed=mean_from_counts(
                _with_overdue(resolved.speed.get(user_id, {}), overdue, user_id)
            ),
            quality=mean_from_counts(resolved.quality.get(user_id, {})),
            skill=float(skills[user_id]) if user_id in skills else None,
        )
        total = total_score(indicators, weights)
        base = base_part(
            scoring.pay_scheme,
            total=total,
            max_total=weights.max_total,
            base_pay=scoring.base_pay,
            tiers=scoring.pay_tiers,
        )
        scores.append(
            AgentScore(
                user_id=user_id,
                name=name,
                tickets=resolved.tickets.get(user_id, 0),
                indicators=indicators,
                total=total,
                max_total=weights.max_total,
                pay=None if base is None else to_cent(base),
                base=base,
            )
        )
    scores.sort(key=lambda s: (s.total is None, -(s.total or 0.0), s.name, s.user_id))
    return scores
