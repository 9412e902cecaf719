"""The rest of the shop figures (domain: "More shop figures") and the sales commission is
paid on, gathered in the database for one digest or report.

SQL only gathers: per-agent counts, the window's refunds with their request and receipt
times, the tickets intervened on. The rules — first-time fix, refund time and its median,
which day an intervention counts on, the DSR change — are in `scoring.figures`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.db import Database
from bot.models import Complaint, Intervention, Refund, Sale, Ticket
from bot.services import dsr
from bot.services.dsr import DsrLatest
from scoring.figures import (
    first_time_fix_rate,
    intervention_rate,
    interventions_in_window,
    median_hours,
    refund_hours,
    refund_requested_at,
)
from scoring.months import month_period_utc, next_month


@dataclass(frozen=True)
class FirstTimeFix:
    """Tickets first resolved in the period, and how many of them were reopened since."""

    resolved: int = 0
    reopened: int = 0

    @property
    def rate(self) -> float | None:
        return first_time_fix_rate(self.resolved, self.reopened)


@dataclass(frozen=True)
class MoreShopFigures:
    # Month to date (the scoreboard's period): team and per agent.
    first_time_fix: FirstTimeFix
    agent_first_time_fix: dict[int, FirstTimeFix]
    internal_complaints: int
    agent_complaints: dict[int, int]
    agent_sales: dict[int, Decimal]
    # The 30-day refund window.
    median_refund_hours: float | None
    interventions: int
    intervention_rate: float | None
    # The latest DSR entry on or before the day asked for, with the one before it.
    dsr: DsrLatest | None


async def _first_time_fix(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[int, FirstTimeFix]:
    first = col(Ticket.first_resolved_at)
    rows = await session.exec(  # type: ignore[call-overload]
        select(
            col(Ticket.first_resolver_id),
            func.count(),
            func.coalesce(func.sum(case((col(Ticket.reopen_count) > 0, 1), else_=0)), 0),
        )
        .where(first >= start, first < end)
        .group_by(col(Ticket.first_resolver_id))
    )
    return {
        int(agent): FirstTimeFix(resolved=int(resolved), reopened=int(reopened))
        for agent, resolved, reopened in rows
    }


async def _refund_hours(session: AsyncSession, window: tuple[date, date]) -> list[float]:
    # One primary-key lookup per refund in the window, as for the refund rates: a join lets
    # PostgreSQL hash-scan the whole ticket table, a cost that grows with the history.
    received = (
        select(col(Ticket.received_at))
        .where(col(Ticket.id) == col(Refund.ticket_id))
        .scalar_subquery()
    )
    rows = await session.exec(  # type: ignore[call-overload]
        select(col(Refund.requested_at), received, col(Refund.recorded_at)).where(
            col(Refund.day) >= window[0], col(Refund.day) <= window[1]
        )
    )
    return [
        refund_hours(refund_requested_at(requested, received), recorded)
        for requested, received, recorded in rows
    ]


async def _interventions(session: AsyncSession, window: tuple[date, date]) -> int:
    """Tickets counted as intervened on in the window: recorded with /intervened there, or
    with a dispute refund there and no /intervened of their own (on whatever day)."""
    first, last = window
    days: dict[int, tuple[date | None, date | None]] = {}
    explicit = await session.exec(  # type: ignore[call-overload]
        select(col(Intervention.ticket_id), col(Intervention.day)).where(
            col(Intervention.day) >= first, col(Intervention.day) <= last
        )
    )
    for ticket_id, day in explicit:
        days[int(ticket_id)] = (day, None)
    explicit_day = (
        select(col(Intervention.day))
        .where(col(Intervention.ticket_id) == col(Refund.ticket_id))
        .scalar_subquery()
    )
    disputes = await session.exec(  # type: ignore[call-overload]
        select(col(Refund.ticket_id), col(Refund.day), explicit_day).where(
            col(Refund.dispute), col(Refund.day) >= first, col(Refund.day) <= last
        )
    )
    for ticket_id, refund_day, intervention_day in disputes:
        days[int(ticket_id)] = (intervention_day, refund_day)
    return interventions_in_window(days.values(), window)


async def _complaints(session: AsyncSession, start: datetime, end: datetime) -> dict[int, int]:
    at = col(Complaint.recorded_at)
    rows = await session.exec(  # type: ignore[call-overload]
        select(col(Complaint.agent_id), func.count())
        .where(at >= start, at < end)
        .group_by(col(Complaint.agent_id))
    )
    return {int(agent): int(count) for agent, count in rows}


async def _sales(session: AsyncSession, first: date, last: date) -> dict[int, Decimal]:
    rows = await session.exec(  # type: ignore[call-overload]
        select(col(Sale.agent_id), func.sum(col(Sale.amount)))
        .where(col(Sale.day) >= first, col(Sale.day) <= last)
        .group_by(col(Sale.agent_id))
    )
    return {int(agent): Decimal(total).quantize(Decimal("0.01")) for agent, total in rows}


async def gather(
    db: Database,
    *,
    month: date,
    tz: ZoneInfo,
    window: tuple[date, date],
    orders: int,
    dsr_day: date,
) -> MoreShopFigures:
    """The figures for `month` as the scoreboard counts it (to date, if in progress), a
    refund `window` with its `orders`, and the DSR as of `dsr_day`."""
    start, end = month_period_utc(month, tz, clock.now())
    month_days = (month, next_month(month) - timedelta(days=1))
    async with db.transaction() as session:
        fixes = await _first_time_fix(session, start, end)
        hours = await _refund_hours(session, window)
        interventions = await _interventions(session, window)
        complaints = await _complaints(session, start, end)
        sales = await _sales(session, *month_days)
        latest = await dsr.latest(session, day=dsr_day)
    team: defaultdict[str, int] = defaultdict(int)
    for fix in fixes.values():
        team["resolved"] += fix.resolved
        team["reopened"] += fix.reopened
    return MoreShopFigures(
        first_time_fix=FirstTimeFix(**team),
        agent_first_time_fix=fixes,
        internal_complaints=sum(complaints.values()),
        agent_complaints=complaints,
        agent_sales=sales,
        median_refund_hours=median_hours(hours),
        interventions=interventions,
        intervention_rate=intervention_rate(interventions, orders),
        dsr=latest,
    )
