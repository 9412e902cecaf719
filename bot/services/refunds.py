"""Refunds recorded on tickets: the numerator of the refund, dispute and quality refund rates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot import clock
from bot.db import Database
from bot.i18n import N_
from bot.models import Refund
from bot.services.access import load_ticket, require_member, ticket_event
from bot.services.errors import InvalidInput, NotFound
from scoring import local_day

# Refund.amount is NUMERIC(12, 2).
MAX_AMOUNT = Decimal("9999999999.99")
_AMOUNT = re.compile(r"^-?\d+(?:\.(\d+))?$")


@dataclass(frozen=True)
class RefundRecord:
    number: int
    amount: Decimal
    dispute: bool
    day: date  # the team-local day it counts on
    requested_at: datetime | None = None  # when the customer asked, if `requested:` said


@dataclass(frozen=True)
class RefundChange:
    current: RefundRecord
    previous: RefundRecord | None


def parse_amount(text: str) -> Decimal:
    """`12`, `12.5` or `12.50` → Decimal; negative, over 2 decimals or not a number refused."""
    text = text.strip()
    match = _AMOUNT.match(text)
    if match is None:
        raise InvalidInput(
            N_("“%(text)s” is not an amount; write it like 25 or 25.90."), text=text[:40]
        )
    if text.startswith("-"):
        raise InvalidInput(N_("An amount cannot be negative."))
    if match.group(1) is not None and len(match.group(1)) > 2:
        raise InvalidInput(
            N_("“%(text)s” has more than two decimals; amounts are in cents at most."), text=text
        )
    amount = Decimal(text)
    if amount > MAX_AMOUNT:
        raise InvalidInput(N_("That amount is too large."))
    return amount


def _record(ticket_id: int, refund: Refund) -> RefundRecord:
    return RefundRecord(
        number=ticket_id,
        amount=refund.amount,
        dispute=refund.dispute,
        day=refund.day,
        requested_at=refund.requested_at,
    )


def check_amount(amount: Decimal) -> None:
    """Money as the database keeps it: 0 or more, whole cents, within NUMERIC(12, 2)."""
    if amount < 0 or amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(N_("An amount must be 0 or more, with at most two decimals."))


async def record(
    db: Database,
    *,
    number: int,
    actor_id: int,
    amount: Decimal,
    dispute: bool,
    tz: ZoneInfo,
    requested_at: datetime | None = None,
) -> RefundChange:
    """Record (or correct) the refund on ticket #number.

    A correction keeps the day the refund was first recorded: the refund succeeded once, and
    fixing its amount or dispute flag must not move it to another day's figures. It replaces
    the request time too: without `requested:` the refund time counts from receipt.
    """
    check_amount(amount)
    now = clock.now()
    if requested_at is not None and requested_at > now:
        raise InvalidInput(N_("The refund request time cannot be in the future."))
    async with db.transaction() as session:
        await require_member(session, actor_id)
        ticket = await load_ticket(session, number)
        existing = (
            await session.exec(select(Refund).where(Refund.ticket_id == number).with_for_update())
        ).first()
        previous = _record(number, existing) if existing else None
        if existing is None:
            existing = Refund(
                ticket_id=number, amount=amount, recorded_at=now, day=local_day(now, tz)
            )
            session.add(existing)
        existing.amount = amount
        existing.dispute = dispute
        existing.requested_at = requested_at
        existing.recorded_by = actor_id
        detail = f"{amount} dispute" if dispute else str(amount)
        session.add(ticket_event(ticket.id, actor_id, "refund", detail))
        return RefundChange(current=_record(number, existing), previous=previous)


async def cancel(db: Database, *, number: int, actor_id: int) -> RefundRecord:
    """Remove the refund recorded on ticket #number; returns what was removed."""
    async with db.transaction() as session:
        await require_member(session, actor_id)
        ticket = await load_ticket(session, number)
        existing = (
            await session.exec(select(Refund).where(Refund.ticket_id == number).with_for_update())
        ).first()
        if existing is None:
            raise NotFound(N_("No refund is recorded on #%(number)s."), number=number)
        removed = _record(number, existing)
        await session.delete(existing)
        session.add(ticket_event(ticket.id, actor_id, "refund_cancelled", str(removed.amount)))
        return removed
