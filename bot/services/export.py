"""The per-ticket export: one CSV row per ticket touched in a month, with every field and
timing — the raw data behind the figures, for a spreadsheet.

A ticket is touched in a month when anything happened to it then (logged, noted, assigned,
resolved, reopened, refunded, intervened on, sold again, complained about — every such act
leaves an event — or its customer answered the survey). Times are written in the team's time zone.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, union
from sqlmodel import col, select

from bot.db import Database
from bot.models import (
    Complaint,
    Intervention,
    Person,
    Refund,
    ReplyWait,
    Sale,
    Survey,
    Ticket,
    TicketEvent,
)
from scoring.figures import HOURS_DECIMALS, intervention_day, refund_hours, refund_requested_at
from scoring.months import month_bounds_utc
from scoring.replies import Wait, first_response_minutes

CSV_HEADER = (
    "number",
    "status",
    "category",
    "agent",
    "agent_id",
    "customer",
    "customer_linked",
    "order",
    "description",
    "received_at",
    "logged_at",
    "first_response_minutes",
    "resolved_at",
    "first_resolved_at",
    "resolution_hours",
    "reopens",
    "quality",
    "rating",
    "survey",
    "refund",
    "refund_dispute",
    "refund_day",
    "refund_requested_at",
    "refund_hours",
    "intervened_on",
    "sales",
    "internal_complaints",
)


@dataclass(frozen=True)
class TicketExport:
    month: date
    tz: ZoneInfo
    rows: tuple[tuple[str, ...], ...]

    @property
    def filename(self) -> str:
        return f"kefu-tickets-{self.month:%Y-%m}.csv"

    def csv_bytes(self) -> bytes:
        """UTF-8 with a BOM so spreadsheet programs show Chinese text right."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(self.rows)
        return buffer.getvalue().encode("utf-8-sig")


def _at(moment: datetime | None, tz: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _hours(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    return f"{round(refund_hours(start, end), HOURS_DECIMALS):.2f}"


def _minutes(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _text(value: object) -> str:
    return "" if value is None else str(value)


async def tickets_of_month(db: Database, *, month: date, tz: ZoneInfo) -> TicketExport:
    """Every ticket touched in `month` (the first of a month), oldest number first."""
    start, end = month_bounds_utc(month, tz)
    at, answered = col(TicketEvent.at), col(Survey.answered_at)
    # Everything done to a ticket leaves an event; a customer's survey answer does not.
    touched = union(
        select(col(TicketEvent.ticket_id).label("ticket_id")).where(at >= start, at < end),
        select(col(Survey.ticket_id).label("ticket_id")).where(answered >= start, answered < end),
    ).subquery()
    async with db.transaction() as session:
        tickets = list(
            await session.exec(
                select(Ticket)
                .where(col(Ticket.id).in_(select(touched.c.ticket_id)))
                .order_by(col(Ticket.id))
            )
        )
        wanted = select(touched.c.ticket_id)
        names = {
            int(user_id): name
            for user_id, name in await session.exec(
                select(col(Person.user_id), col(Person.full_name)).where(
                    col(Person.user_id).in_({t.agent_id for t in tickets})
                )
            )
        }
        refunds = {
            r.ticket_id: r
            for r in await session.exec(select(Refund).where(col(Refund.ticket_id).in_(wanted)))
        }
        interventions = {
            int(ticket_id): day
            for ticket_id, day in await session.exec(
                select(col(Intervention.ticket_id), col(Intervention.day)).where(
                    col(Intervention.ticket_id).in_(wanted)
                )
            )
        }
        # The latest round's survey tells where the ticket's survey stands.
        surveys: dict[int, Survey] = {}
        for survey in await session.exec(
            select(Survey).where(col(Survey.ticket_id).in_(wanted)).order_by(col(Survey.round))
        ):
            surveys[survey.ticket_id] = survey
        sales = {
            int(ticket_id): Decimal(total)  # type: ignore[arg-type]
            for ticket_id, total in await session.exec(
                select(col(Sale.ticket_id), func.sum(col(Sale.amount)))
                .where(col(Sale.ticket_id).in_(wanted))
                .group_by(col(Sale.ticket_id))
            )
        }
        waits: defaultdict[int, list[Wait]] = defaultdict(list)
        for wait in await session.exec(
            select(ReplyWait).where(col(ReplyWait.ticket_id).in_(wanted))
        ):
            waits[wait.ticket_id].append(Wait(wait.opened_at, wait.closed_at, wait.replier_id))
        complaints: defaultdict[int, int] = defaultdict(int)
        for ticket_id, count in await session.exec(
            select(col(Complaint.ticket_id), func.count())
            .where(col(Complaint.ticket_id).in_(wanted))
            .group_by(col(Complaint.ticket_id))
        ):
            complaints[int(ticket_id)] = int(count)

    rows = []
    for ticket in tickets:
        assert ticket.id is not None
        refund = refunds.get(ticket.id)
        survey = surveys.get(ticket.id)  # type: ignore[assignment]
        dispute_day = refund.day if refund is not None and refund.dispute else None
        intervened = intervention_day(interventions.get(ticket.id), dispute_day)
        rows.append(
            (
                str(ticket.id),
                ticket.status,
                ticket.category,
                names.get(ticket.agent_id) or str(ticket.agent_id),
                str(ticket.agent_id),
                _text(ticket.customer_name),
                "yes" if ticket.customer_chat_id is not None else "no",
                _text(ticket.order_ref),
                ticket.description,
                _at(ticket.received_at, tz),
                _at(ticket.logged_at, tz),
                _minutes(first_response_minutes(waits[ticket.id])),
                _at(ticket.resolved_at, tz),
                _at(ticket.first_resolved_at, tz),
                _hours(ticket.received_at, ticket.resolved_at),
                str(ticket.reopen_count),
                _text(ticket.quality),
                _text(survey.rating if survey else None),
                _text(survey.status if survey else None),
                "" if refund is None else f"{refund.amount:.2f}",
                "" if refund is None else ("yes" if refund.dispute else "no"),
                "" if refund is None else refund.day.isoformat(),
                "" if refund is None else _at(refund.requested_at, tz),
                ""
                if refund is None
                else _hours(
                    refund_requested_at(refund.requested_at, ticket.received_at),
                    refund.recorded_at,
                ),
                "" if intervened is None else intervened.isoformat(),
                f"{sales[ticket.id]:.2f}" if ticket.id in sales else "",
                str(complaints[ticket.id]),
            )
        )
    return TicketExport(month=month, tz=tz, rows=tuple(rows))
