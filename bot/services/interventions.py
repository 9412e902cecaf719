"""Platform interventions (介入) recorded on tickets: the numerator of the intervention rate.

A dispute refund implies one without a row here; `scoring.figures.intervention_day` says
which day a ticket counts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot import clock
from bot.db import Database
from bot.i18n import N_
from bot.models import Intervention, Refund
from bot.services.access import load_ticket, require_member, ticket_event
from bot.services.errors import NotFound
from bot.services.sql import insert_if_missing
from scoring import local_day


@dataclass(frozen=True)
class InterventionRecord:
    number: int
    day: date  # the team-local day it counts on
    already: bool  # it had been recorded before; nothing changed


@dataclass(frozen=True)
class InterventionRemoved:
    number: int
    day: date
    # A dispute refund on the ticket still counts it as intervened on this day.
    dispute_day: date | None


async def record(db: Database, *, number: int, actor_id: int, tz: ZoneInfo) -> InterventionRecord:
    """Mark ticket #number as intervened on today; recording it twice keeps the first day."""
    now = clock.now()
    async with db.transaction() as session:
        await require_member(session, actor_id)
        ticket = await load_ticket(session, number)
        assert ticket.id is not None
        created = await insert_if_missing(
            session,
            Intervention,
            conflict=["ticket_id"],
            ticket_id=ticket.id,
            recorded_at=now,
            day=local_day(now, tz),
            recorded_by=actor_id,
        )
        row = (
            await session.exec(select(Intervention).where(Intervention.ticket_id == ticket.id))
        ).one()
        if created:
            session.add(ticket_event(ticket.id, actor_id, "intervened"))
        return InterventionRecord(number=number, day=row.day, already=not created)


async def cancel(db: Database, *, number: int, actor_id: int) -> InterventionRemoved:
    """Remove the intervention recorded on ticket #number (a mistaken /intervened)."""
    async with db.transaction() as session:
        await require_member(session, actor_id)
        ticket = await load_ticket(session, number)
        assert ticket.id is not None
        row = (
            await session.exec(
                select(Intervention).where(Intervention.ticket_id == ticket.id).with_for_update()
            )
        ).first()
        if row is None:
            raise NotFound(N_("No intervention is recorded on #%(number)s."), number=number)
        dispute = (
            await session.exec(
                select(Refund.day).where(Refund.ticket_id == ticket.id, Refund.dispute)  # type: ignore[call-overload]
            )
        ).first()
        removed = InterventionRemoved(number=number, day=row.day, dispute_day=dispute)  # type: ignore[arg-type]
        await session.delete(row)
        session.add(ticket_event(ticket.id, actor_id, "intervention_cancelled"))
        return removed
