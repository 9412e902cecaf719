"""The customer's file (客户档案): one customer's tickets over time, tickets by order
reference, and a search through descriptions, notes and the conversation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import Database
from bot.i18n import N_
from bot.models import ConversationMessage, Person, Refund, Survey, Ticket, TicketEvent
from bot.services.access import require_member
from bot.services.errors import InvalidInput, NotFound

LIMIT = 30
_USER_ID = re.compile(r"^[0-9]{1,19}$")


@dataclass(frozen=True)
class FileLine:
    number: int
    status: str
    received_at: datetime
    description: str
    customer_name: str | None
    order_ref: str | None
    refund: Decimal | None
    dispute: bool
    rating: int | None


@dataclass(frozen=True)
class CustomerFile:
    name: str
    lines: tuple[FileLine, ...]


async def customer_file(db: Database, ref: str, *, viewer_id: int) -> CustomerFile:
    """A customer's tickets, newest first: by @username, Telegram user id, or name."""
    ref = ref.strip()
    if not ref:
        raise InvalidInput(N_("Name the customer: /customer @username, a user id, or a name."))
    async with db.transaction() as session:
        await require_member(session, viewer_id)
        if ref.startswith("@"):
            rows = await session.exec(
                select(Person).where(func.lower(Person.username) == ref[1:].lower())
            )
            person = rows.first()
            if person is None:
                raise NotFound(N_("I know no customer %(ref)s."), ref=ref)
            where: Any = Ticket.customer_user_id == person.user_id
            name = person.full_name or ref
        elif _USER_ID.match(ref):
            person = await session.get(Person, int(ref))
            where = Ticket.customer_user_id == int(ref)
            name = person.full_name if person and person.full_name else ref
        else:
            where = func.lower(col(Ticket.customer_name)).contains(ref.lower(), autoescape=True)
            name = ref
        lines = await _lines(session, where)
    if not lines:
        raise NotFound(N_("No tickets for %(ref)s."), ref=ref)
    return CustomerFile(name, lines)


async def by_order(db: Database, ref: str, *, viewer_id: int) -> tuple[FileLine, ...]:
    """Tickets whose order reference is `ref` (any case)."""
    async with db.transaction() as session:
        await require_member(session, viewer_id)
        return await _lines(session, func.lower(col(Ticket.order_ref)) == ref.strip().lower())


async def find(db: Database, words: str, *, viewer_id: int) -> tuple[FileLine, ...]:
    """Tickets where every word appears in the description, a note or the conversation."""
    terms = [word.lower() for word in words.split() if word]
    if not terms:
        raise InvalidInput(N_("Write what to look for, e.g. /find broken screen"))
    async with db.transaction() as session:
        await require_member(session, viewer_id)
        conditions = []
        for term in terms:
            in_notes = select(TicketEvent.ticket_id).where(
                TicketEvent.kind == "note",
                func.lower(col(TicketEvent.detail)).contains(term, autoescape=True),
            )
            in_talk = select(ConversationMessage.ticket_id).where(
                func.lower(col(ConversationMessage.text)).contains(term, autoescape=True)
            )
            conditions.append(
                or_(
                    func.lower(col(Ticket.description)).contains(term, autoescape=True),
                    col(Ticket.id).in_(in_notes),
                    col(Ticket.id).in_(in_talk),
                )
            )
        return await _lines(session, *conditions)


async def _lines(session: AsyncSession, *where: Any) -> tuple[FileLine, ...]:
    latest_rating = (
        select(Survey.rating)
        .where(Survey.ticket_id == Ticket.id, col(Survey.rating).is_not(None))
        .order_by(col(Survey.round).desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = await session.exec(
        select(Ticket, col(Refund.amount), col(Refund.dispute), latest_rating)
        .join(Refund, col(Refund.ticket_id) == col(Ticket.id), isouter=True)
        .where(*where)
        .order_by(col(Ticket.id).desc())
        .limit(LIMIT)
    )
    return tuple(
        FileLine(
            number=ticket.id or 0,
            status=ticket.status,
            received_at=ticket.received_at,
            description=ticket.description,
            customer_name=ticket.customer_name,
            order_ref=ticket.order_ref,
            refund=amount,
            dispute=bool(dispute),
            rating=rating,
        )
        for ticket, amount, dispute, rating in rows
    )
