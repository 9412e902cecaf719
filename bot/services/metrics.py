"""The KPI and digest figures, aggregated in the database.

Every query filters on an indexed date range and groups in SQL; Python only sees one row per
agent and score band (or per day), and `scoring/` turns those counts into means, totals, pay
and rates. Day boundaries are team-local midnights converted to UTC here, so the SQL compares
plain UTC instants and needs no time-zone support from the database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Interval,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import KeyedColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.config import ScoringSettings
from bot.db import Database
from bot.i18n import N_
from bot.models import Category, DailyOrders, Person, Refund, Role, SkillRating, Survey, Ticket
from bot.services.errors import InvalidInput
from scoring import (
    SPEED_FAST_HOURS,
    SPEED_SLOW_HOURS,
    Indicators,
    RefundFigures,
    day_start_utc,
    local_day,
    mean_from_counts,
    pay_for,
    refund_window,
    total_score,
)
from scoring import refund_figures as figures_from_counts

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class AgentScore:
    user_id: int
    name: str
    tickets: int  # resolved in the period
    indicators: Indicators
    total: float | None
    max_total: int
    pay: Decimal | None


@dataclass(frozen=True)
class OldTicket:
    number: int
    agent_name: str
    age: timedelta  # at the start of the digest day


@dataclass(frozen=True)
class TicketCounts:
    new: int
    resolved: int
    open: int
    open_over_3d: int
    open_over_5d: int
    oldest: tuple[OldTicket, ...]


@dataclass(frozen=True)
class SurveyCounts:
    sent: int
    answered: int
    average: float | None


@dataclass(frozen=True)
class DayPoint:
    day: date
    new: int
    resolved: int
    orders: int
    refunds: int
    refund_rate: float | None


# --- time ----------------------------------------------------------------------------------


# Team-local days begin at `scoring.day_start_utc`; "today" is `local_day(clock.now(), tz)`.


def month_start(day: date) -> date:
    """The first day of the month `day` is in."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after `month`."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds_utc(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start of `month`, start of the next month) in the team's zone, as UTC instants."""
    if month.day != 1:
        raise ValueError(f"month must be the first day of a month, got {month.isoformat()}")
    return day_start_utc(month, tz), day_start_utc(next_month(month), tz)


def month_period_utc(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The month so far, as the scoreboard counts it: [its start, min(its end, now)).

    Empty (end <= start) while the month has not started.
    """
    start, end = month_bounds_utc(month, tz)
    return start, min(end, clock.now())


def parse_month(text: str) -> date:
    """`YYYY-MM` → the first day of that month."""
    text = text.strip()
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise InvalidInput(
            N_("“%(text)s” is not a month; write it as YYYY-MM, e.g. 2026-03."), text=text[:40]
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_of(moment: datetime, tz: ZoneInfo) -> date:
    """The first day of the team-local month `moment` falls in."""
    return month_start(local_day(moment, tz))


def _within_hours(session: AsyncSession, start: Any, end: Any, hours: int) -> ColumnElement[bool]:
    """`end <= start + hours`, exact to the microsecond on both databases."""
    if session.get_bind().dialect.name == "postgresql":
        return end <= start + literal(timedelta(hours=hours), Interval())
    # SQLite keeps timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text and its date functions round
    # to milliseconds: shift the whole seconds and re-attach the original fraction, so the
    # comparison stays a string comparison in the stored format.
    shifted = func.datetime(func.substr(start, 1, 19), f"+{hours} hours").concat(
        func.substr(start, 20)
    )
    return end <= shifted


# --- scoreboard ----------------------------------------------------------------------------


def _agent_filter(column: Any, agent_id: int | None) -> ColumnElement[bool]:
    return column == agent_id if agent_id is not None else true()


async def _counts_by_band(session: AsyncSession, statement: Any) -> dict[int, dict[int, int]]:
    """Rows of (agent_id, score) from a subquery → {agent_id: {score: count}}."""
    sub = statement.subquery()
    rows = await session.exec(
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
        (_within_hours(session, received, resolved, SPEED_FAST_HOURS), 10),
        (_within_hours(session, received, resolved, SPEED_SLOW_HOURS), 8),
        else_=5,
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
    rows = await session.exec(
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

    Never resolving must not help: each of these scores as a slow resolution (5).
    """
    received = col(Ticket.received_at)
    overdue = (received < end - timedelta(hours=SPEED_SLOW_HOURS),)
    overdue_rows = union_all(
        *(
            select(col(Ticket.agent_id).label("agent_id"), literal(5).label("score")).where(
                still_open, *overdue, _agent_filter(col(Ticket.agent_id), agent_id)
            )
            for still_open in _unresolved_at(end)
        )
    )
    counts = await _counts_by_band(session, overdue_rows)
    return {agent: bands[5] for agent, bands in counts.items()}


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
    return {**bands, 5: bands.get(5, 0) + overdue[user_id]}


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
    rows = await session.exec(select(ranked.c.agent_id, ranked.c.rating).where(ranked.c.rank == 1))
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
    rows = await session.exec(select(col(Person.user_id), col(Person.full_name)).where(wanted))
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
    start, end = month_period_utc(month, tz)
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
        pay = pay_for(
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
                pay=pay,
            )
        )
    scores.sort(key=lambda s: (s.total is None, -(s.total or 0.0), s.name, s.user_id))
    return scores


# --- refunds -------------------------------------------------------------------------------


async def refund_figures(
    db: Database, *, day: date, tz: ZoneInfo
) -> tuple[tuple[date, date], RefundFigures]:
    """Refund counts and rates over the window of a digest on `day` (D−30 … D−1)."""
    del tz  # Refund.day and DailyOrders.day are already team-local days.
    first, last = refund_window(day)
    async with db.transaction() as session:
        # One primary-key lookup per refund in the window: a join lets PostgreSQL hash-scan
        # the whole ticket table, a cost that grows with the history instead of the window.
        category = (
            select(col(Ticket.category))
            .where(col(Ticket.id) == col(Refund.ticket_id))
            .scalar_subquery()
        )
        product = case((category == Category.PRODUCT, 1), else_=0)
        dispute = case((col(Refund.dispute), 1), else_=0)
        row = (
            await session.exec(
                select(
                    func.count(col(Refund.id)),
                    func.coalesce(func.sum(dispute), 0),
                    func.coalesce(func.sum(product), 0),
                ).where(col(Refund.day) >= first, col(Refund.day) <= last)
            )
        ).one()
        orders = (
            await session.exec(
                select(func.coalesce(func.sum(col(DailyOrders.orders)), 0)).where(
                    col(DailyOrders.day) >= first, col(DailyOrders.day) <= last
                )
            )
        ).one()
    refunds, disputes, quality = (int(value) for value in row)
    figures = figures_from_counts(
        orders=int(orders[0]),
        refunds=refunds,
        dispute_refunds=disputes,
        quality_refunds=quality,
    )
    return (first, last), figures


# --- the day's tickets and surveys ---------------------------------------------------------


def _unresolved_at(moment: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Not resolved at `moment`, as two disjoint conditions to query apart and add up.

    Written as one `resolved_at IS NULL OR resolved_at >= moment`, the OR defeats the
    resolved_at index and SQLite walks the whole history (seconds at 1M tickets); apart,
    each is a short range of that index, so the cost follows the open tickets, not history.
    """
    resolved = col(Ticket.resolved_at)
    return resolved.is_(None), resolved >= moment


def _open_at(moment: datetime) -> Any:
    """Tickets logged before `moment` and not yet resolved at it (resolving later counts as
    open): a CTE of (id, received_at, agent_id), materialised so the planner cannot turn
    "the oldest few" back into a scan of the received_at index."""
    columns = (
        col(Ticket.id).label("id"),
        col(Ticket.received_at).label("received_at"),
        col(Ticket.agent_id).label("agent_id"),
    )
    halves = (
        select(*columns).where(still_open, col(Ticket.logged_at) < moment)
        for still_open in _unresolved_at(moment)
    )
    return union_all(*halves).cte("open_tickets").prefix_with("MATERIALIZED")


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def ticket_counts(
    db: Database,
    *,
    day: date,
    tz: ZoneInfo,
    remind_after: timedelta,
    escalate_after: timedelta,
    oldest: int = 5,
) -> TicketCounts:
    """Yesterday's new and resolved tickets, and what was open as the day began."""
    day_start = day_start_utc(day, tz)
    yesterday = day_start_utc(day - timedelta(days=1), tz)
    logged, resolved = col(Ticket.logged_at), col(Ticket.resolved_at)
    async with db.transaction() as session:
        new = (
            await session.exec(select(func.count()).where(logged >= yesterday, logged < day_start))
        ).one()
        done = (
            await session.exec(
                select(func.count()).where(resolved >= yesterday, resolved < day_start)
            )
        ).one()
        # "Over N days" is strictly more than N days old at the start of the day, so a
        # ticket open 6 days counts both as over 3 and over 5.
        still_open = _open_at(day_start)
        open_row = (
            await session.exec(
                select(
                    func.count(),
                    _count_if(still_open.c.received_at < day_start - remind_after),
                    _count_if(still_open.c.received_at < day_start - escalate_after),
                ).select_from(still_open)
            )
        ).one()
        rows = await session.exec(
            select(
                still_open.c.id,
                still_open.c.received_at,
                col(Person.full_name),
                still_open.c.agent_id,
            )
            .join(Person, col(Person.user_id) == still_open.c.agent_id, isouter=True)
            .order_by(still_open.c.received_at, still_open.c.id)
            .limit(oldest)
        )
        old = tuple(
            OldTicket(
                number=int(number),
                agent_name=name or str(agent),
                age=day_start - received_at,
            )
            for number, received_at, name, agent in rows
        )
    open_now, over_remind, over_escalate = (int(value) for value in open_row)
    return TicketCounts(
        new=int(new[0]),
        resolved=int(done[0]),
        open=open_now,
        open_over_3d=over_remind,
        open_over_5d=over_escalate,
        oldest=old,
    )


async def survey_counts(db: Database, *, day: date, tz: ZoneInfo) -> SurveyCounts:
    """Surveys sent and answered yesterday, and the mean rating of those answers."""
    day_start = day_start_utc(day, tz)
    yesterday = day_start_utc(day - timedelta(days=1), tz)
    sent_at, answered_at = col(Survey.sent_at), col(Survey.answered_at)
    async with db.transaction() as session:
        sent = (
            await session.exec(
                select(func.count()).where(sent_at >= yesterday, sent_at < day_start)
            )
        ).one()
        rows = await session.exec(
            select(col(Survey.rating), func.count())
            .where(
                answered_at >= yesterday,
                answered_at < day_start,
                col(Survey.rating).is_not(None),
            )
            .group_by(col(Survey.rating))
        )
        ratings = {int(rating): int(count) for rating, count in rows}
    return SurveyCounts(
        sent=int(sent[0]), answered=sum(ratings.values()), average=mean_from_counts(ratings)
    )


async def team_satisfaction(db: Database, *, start: datetime, end: datetime) -> float | None:
    """The mean survey answer the team received in [start, end): the shop-level figure.

    Counted by when the customer answered, like the digest's "surveys answered yesterday";
    an agent's satisfaction indicator counts by when the ticket was resolved instead, so
    the two can differ by the answers that straddle a month's end.
    """
    async with db.transaction() as session:
        rows = await session.exec(
            select(col(Survey.rating), func.count())
            .where(
                col(Survey.answered_at) >= start,
                col(Survey.answered_at) < end,
                col(Survey.rating).is_not(None),
            )
            .group_by(col(Survey.rating))
        )
        return mean_from_counts({int(rating): int(count) for rating, count in rows})


async def top_causes(db: Database, *, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """Tickets logged in [start, end) per category, the biggest cause first."""
    logged = col(Ticket.logged_at)
    async with db.transaction() as session:
        rows = await session.exec(
            select(col(Ticket.category), func.count())
            .where(logged >= start, logged < end)
            .group_by(col(Ticket.category))
        )
        counts = [(str(category), int(count)) for category, count in rows]
    return sorted(counts, key=lambda item: (-item[1], item[0]))


# --- the 30-day series ---------------------------------------------------------------------


async def _per_day(
    session: AsyncSession, column: KeyedColumnElement[Any], bounds: Sequence[datetime]
) -> list[int]:
    """How many rows have `column` in each [bounds[i], bounds[i+1]), in one statement."""
    # Local days are not all 24 h long (DST), so the days are the precomputed UTC midnights
    # rather than date arithmetic in SQL. One count per day is one short index range each,
    # ten times cheaper than placing every row of the month with a 30-way CASE.
    counts = [
        select(func.count()).where(column >= lower, column < upper).scalar_subquery()
        for lower, upper in pairwise(bounds)
    ]
    row = (await session.exec(select(*counts))).one()
    return [int(count) for count in row]


async def daily_series(db: Database, *, day: date, tz: ZoneInfo, days: int = 30) -> list[DayPoint]:
    """One point per day for the `days` days before `day`, oldest first."""
    if days < 1:
        raise ValueError(f"days must be positive, got {days}")
    series_days = [day - timedelta(days=days - offset) for offset in range(days)]
    bounds = [day_start_utc(d, tz) for d in [*series_days, day]]
    first, last = series_days[0], series_days[-1]
    async with db.transaction() as session:
        new = await _per_day(session, col(Ticket.logged_at), bounds)
        resolved = await _per_day(session, col(Ticket.resolved_at), bounds)
        order_rows = await session.exec(
            select(col(DailyOrders.day), col(DailyOrders.orders)).where(
                col(DailyOrders.day) >= first, col(DailyOrders.day) <= last
            )
        )
        orders = {d: int(n) for d, n in order_rows}
        refund_rows = await session.exec(
            select(col(Refund.day), func.count())
            .where(col(Refund.day) >= first, col(Refund.day) <= last)
            .group_by(col(Refund.day))
        )
        refunds = {d: int(n) for d, n in refund_rows}
    points = []
    for index, d in enumerate(series_days):
        day_orders, day_refunds = orders.get(d, 0), refunds.get(d, 0)
        rate = figures_from_counts(
            orders=day_orders, refunds=day_refunds, dispute_refunds=0, quality_refunds=0
        ).refund_rate
        points.append(
            DayPoint(
                day=d,
                new=new[index],
                resolved=resolved[index],
                orders=day_orders,
                refunds=day_refunds,
                refund_rate=rate,
            )
        )
    return points
