"""The shop's figures for a day or a month, aggregated in the database: tickets in and out,
what is still open, survey answers, refund rates, top causes and the 30-day series.

Every query filters on an indexed date range and groups in SQL; `scoring/` turns the counts
into rates and checks them against the team's targets. Day boundaries are team-local
midnights converted to UTC here, so the SQL compares plain UTC instants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, PlainSerializer
from sqlalchemy import ColumnElement, case, func, select, union_all
from sqlalchemy.sql.elements import KeyedColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import TargetSettings
from bot.db import Database
from bot.models import Category, DailyOrders, Person, Refund, Survey, Ticket
from bot.services.more_shop_figures import MoreShopFigures
from bot.services.sql import unresolved_at
from scoring import (
    DISPUTE_REFUND_RATE_MAX,
    OPEN_OVER_5D_MAX,
    QUALITY_REFUND_RATE_MAX,
    REFUND_RATE_MAX,
    SATISFACTION_MIN,
    RefundFigures,
    TargetResult,
    check_targets,
    day_start_utc,
    mean_from_counts,
    refund_window,
)
from scoring import refund_figures as figures_from_counts
from scoring.targets import (
    DSR_MIN,
    FIRST_TIME_FIX_RATE_MIN,
    INTERNAL_COMPLAINTS_MAX,
    INTERVENTION_RATE_MAX,
    REFUND_HOURS_MAX,
)


def age_hours(age: timedelta) -> float:
    """An age as the digest's JSON keeps it: hours, to the hundredth."""
    return round(age.total_seconds() / 3600, 2)


def _from_hours(value: Any) -> Any:
    return timedelta(hours=value) if isinstance(value, int | float) else value


# A duration written in JSON as hours (see `age_hours`).
Hours = Annotated[
    timedelta, BeforeValidator(_from_hours), PlainSerializer(age_hours, return_type=float)
]


# The JSON names (aliases) are those of the digest's snapshot; see `bot.services.digest`.
@dataclass(frozen=True)
class OldTicket:
    number: int
    agent_name: Annotated[str, Field(alias="agent")]
    age: Annotated[Hours, Field(alias="age_hours")]  # at the start of the digest day


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
            await session.exec(  # type: ignore[call-overload]
                select(
                    func.count(col(Refund.id)),
                    func.coalesce(func.sum(dispute), 0),
                    func.coalesce(func.sum(product), 0),
                ).where(col(Refund.day) >= first, col(Refund.day) <= last)
            )
        ).one()
        orders = (
            await session.exec(  # type: ignore[call-overload]
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


# --- the team's targets --------------------------------------------------------------------


def team_targets(
    configured: TargetSettings,
    refunds: RefundFigures,
    satisfaction: float | None,
    open_over_5d: int,
    more: MoreShopFigures,
) -> tuple[TargetResult, ...]:
    """The team's configured targets — the whole Taobao list — each checked against its figure."""
    return tuple(
        check_targets(
            configured.as_mapping(),
            {
                REFUND_RATE_MAX: refunds.refund_rate,
                DISPUTE_REFUND_RATE_MAX: refunds.dispute_refund_rate,
                QUALITY_REFUND_RATE_MAX: refunds.quality_refund_rate,
                SATISFACTION_MIN: satisfaction,
                OPEN_OVER_5D_MAX: open_over_5d,
                REFUND_HOURS_MAX: more.median_refund_hours,
                INTERVENTION_RATE_MAX: more.intervention_rate,
                DSR_MIN: None if more.dsr is None else float(more.dsr.scores.lowest),
                INTERNAL_COMPLAINTS_MAX: more.internal_complaints,
                FIRST_TIME_FIX_RATE_MIN: more.first_time_fix.rate,
            },
        )
    )


# --- the day's tickets and surveys ---------------------------------------------------------


def _open_at(moment: datetime) -> Any:
    """Tickets logged before `moment` and not yet resolved at it (resolving later counts as
    open): a CTE of (id, received_at, agent_id), materialised so the planner cannot turn
    "the oldest few" back into a scan of the received_at index."""
    columns = (  # type: ignore[var-annotated]
        col(Ticket.id).label("id"),
        col(Ticket.received_at).label("received_at"),
        col(Ticket.agent_id).label("agent_id"),
    )
    halves = (
        select(*columns).where(still_open, col(Ticket.logged_at) < moment)
        for still_open in unresolved_at(moment)
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
            await session.exec(select(func.count()).where(logged >= yesterday, logged < day_start))  # type: ignore[call-overload]
        ).one()
        done = (
            await session.exec(  # type: ignore[call-overload]
                select(func.count()).where(resolved >= yesterday, resolved < day_start)
            )
        ).one()
        # "Over N days" is strictly more than N days old at the start of the day, so a
        # ticket open 6 days counts both as over 3 and over 5.
        still_open = _open_at(day_start)
        open_row = (
            await session.exec(  # type: ignore[call-overload]
                select(
                    func.count(),
                    _count_if(still_open.c.received_at < day_start - remind_after),
                    _count_if(still_open.c.received_at < day_start - escalate_after),
                ).select_from(still_open)
            )
        ).one()
        rows = await session.exec(  # type: ignore[call-overload]
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
            await session.exec(  # type: ignore[call-overload]
                select(func.count()).where(sent_at >= yesterday, sent_at < day_start)
            )
        ).one()
        rows = await session.exec(  # type: ignore[call-overload]
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
        rows = await session.exec(  # type: ignore[call-overload]
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
        rows = await session.exec(  # type: ignore[call-overload]
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
    row = (await session.exec(select(*counts))).one()  # type: ignore[call-overload]
    return [int(count) for count in row]


async def daily_series(db: Database, *, day: date, tz: ZoneInfo, days: int = 30) -> list[DayPoint]:
    """One point per day for the `days` days before `day`, oldest first."""
    if days < 1:
        raise ValueError(f"days must be positive, got {days}")
    series_days = [day - timedelta(days=days - offset) for offset in range(days)]
    bounds = [day_start_utc(d, tz) for d in [*series_days, day]]
    first, last = series_days[0], series_days[-1]
    async with db.transaction() as session:
        new = await _per_day(session, col(Ticket.logged_at), bounds)  # type: ignore[arg-type]
        resolved = await _per_day(session, col(Ticket.resolved_at), bounds)  # type: ignore[arg-type]
        order_rows = await session.exec(  # type: ignore[call-overload]
            select(col(DailyOrders.day), col(DailyOrders.orders)).where(
                col(DailyOrders.day) >= first, col(DailyOrders.day) <= last
            )
        )
        orders = {d: int(n) for d, n in order_rows}
        refund_rows = await session.exec(  # type: ignore[call-overload]
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
