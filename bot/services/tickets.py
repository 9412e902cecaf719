"""Ticket operations: log, show, list, note, assign, resolve, reopen, link the customer."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock, outbox
from bot.db import Database
from bot.i18n import N_
from bot.models import UNASSIGNED, Category, Person, Role, Ticket, TicketEvent, TicketStatus
from bot.services import batching, surveys, team, topics, updates
from bot.services.access import load_ticket, not_a_member, require_member, ticket_event
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.team import SeenUser, _upsert
from scoring import QUALITY_REOPENED, quality_at_resolution

MAX_DESCRIPTION = 2000
MAX_NOTE = 2000
MAX_FIELD = 128
LIST_LIMIT = 30


class Scope(StrEnum):
    MINE = "mine"
    OPEN = "open"
    OVERDUE = "overdue"
    ALL = "all"


@dataclass(frozen=True)
class Note:
    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class TicketView:
    number: int
    status: TicketStatus
    category: Category
    description: str
    order_ref: str | None
    customer_name: str | None
    customer_linked: bool
    customer_chat_id: int | None
    customer_language: str | None
    agent_id: int
    agent_name: str
    received_at: datetime
    logged_at: datetime
    resolved_at: datetime | None
    quality: int | None
    round: int
    link_token: str
    notes: tuple[Note, ...] = field(default=())
    # The latest survey, filled in for /show only.
    survey: surveys.SurveyState | None = None

    def age(self, now: datetime) -> timedelta:
        return (self.resolved_at or now) - self.received_at


@dataclass(frozen=True)
class NewTicket:
    description: str
    category: Category = Category.OTHER
    order_ref: str | None = None
    customer_name: str | None = None
    received_at: datetime | None = None


async def _view(session: AsyncSession, ticket: Ticket, *, with_notes: bool = False) -> TicketView:
    agent = await session.get(Person, ticket.agent_id)
    notes: tuple[Note, ...] = ()
    if with_notes:
        rows = await session.exec(
            select(TicketEvent, Person)
            .join(Person, col(Person.user_id) == col(TicketEvent.actor_id), isouter=True)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "note")
            .order_by(col(TicketEvent.id))
        )
        notes = tuple(
            Note(event.at, person.full_name if person else "?", event.detail or "")
            for event, person in rows
        )
    return _as_view(ticket, agent.full_name if agent else None, notes)


def _as_view(
    ticket: Ticket | SimpleNamespace, agent_name: str | None, notes: tuple[Note, ...]
) -> TicketView:
    """A ticket row (an ORM object, or the values just inserted) as the services hand it out."""
    assert ticket.id is not None
    return TicketView(
        number=ticket.id,
        status=TicketStatus(ticket.status),
        category=Category(ticket.category),
        description=ticket.description,
        order_ref=ticket.order_ref,
        customer_name=ticket.customer_name,
        customer_linked=ticket.customer_user_id is not None,
        customer_chat_id=ticket.customer_chat_id,
        customer_language=ticket.customer_language,
        agent_id=ticket.agent_id,
        # A ticket nobody has taken yet ([intake]) has no agent to name.
        agent_name=agent_name or ("—" if ticket.agent_id == UNASSIGNED else str(ticket.agent_id)),
        received_at=ticket.received_at,
        logged_at=ticket.logged_at,
        resolved_at=ticket.resolved_at,
        quality=ticket.quality,
        round=ticket.round,
        link_token=ticket.link_token,
        notes=notes,
    )


def check_description(description: str) -> None:
    """Refuse an empty or over-long description."""
    if not description.strip():
        raise InvalidInput(
            N_("Please describe the problem, e.g. /ticket Parcel arrived broken order:A123")
        )
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            N_("The description is too long (%(length)s characters; at most %(limit)s)."),
            length=len(description),
            limit=MAX_DESCRIPTION,
        )


def _validate(new: NewTicket, now: datetime) -> None:
    check_description(new.description)
    for value in (new.order_ref, new.customer_name):
        if value is not None and len(value) > MAX_FIELD:
            raise InvalidInput(
                N_("Order references and names are at most %(limit)s characters."), limit=MAX_FIELD
            )
    if new.received_at is not None and new.received_at > now:
        raise InvalidInput(N_("The received date cannot be in the future."))


@dataclass(frozen=True)
class _Intake:
    creator_id: int
    new: NewTicket
    customer: SeenUser | None
    origin_chat_id: int | None
    at: datetime
    update_id: int | None


ACKNOWLEDGEMENT_KIND = "ticket_ack"


async def queue_acknowledgement(
    db: Database, *, number: int, update_id: int, chat_id: int, text: str
) -> None:
    """A logged ticket's acknowledgement Telegram would not take at once, for the outbox to
    deliver (once per update, however often the update is handled)."""
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            key=outbox.key("ticket-ack", number, update_id),
            kind=ACKNOWLEDGEMENT_KIND,
            chat_id=chat_id,
            payload={"ticket": number, "text": text},
        )


async def create(
    db: Database,
    *,
    creator_id: int,
    new: NewTicket,
    customer: SeenUser | None = None,
    origin_chat_id: int | None = None,
    update_id: int | None = None,
) -> TicketView:
    """Log a ticket for its creator; `customer` links a customer already in the chat.

    Tickets logged at the same moment (a busy team, a burst after an outage) are written in
    one transaction (bot/services/batching.py); each caller still gets its own ticket or
    its own refusal. `update_id` is the Telegram update logging it: its inbox claim is
    marked handled in the ticket's own transaction (bot/services/updates.py), so a crash
    before it leaves the update to be handled again and one after never logs it twice.
    """
    now = clock.now()
    _validate(new, now)
    if customer is not None:
        # Remembered first, on its own: the batch writes plain rows, and a customer seen
        # stays seen even if the ticket is refused.
        await team.record_seen(db, customer)
    intake = _Intake(creator_id, new, customer, origin_chat_id, now, update_id)
    return await batching.submit(db, _create_many, intake)


_TICKET = Ticket.__table__  # type: ignore[attr-defined]
_EVENT = TicketEvent.__table__  # type: ignore[attr-defined]
_PERSON = Person.__table__  # type: ignore[attr-defined]
# Built once: the batch path runs thousands of times a second.
_CREATORS = select(_PERSON.c.user_id, _PERSON.c.role, _PERSON.c.full_name).where(
    _PERSON.c.user_id.in_(bindparam("ids", expanding=True))
)
# Matched back by link token, which is unique: asking the database to return the rows in
# parameter order costs SQLite one statement per row.
_INSERT_TICKETS = insert(_TICKET).returning(_TICKET.c.id, _TICKET.c.link_token)
_INSERT_EVENTS = insert(_EVENT)


async def _create_many(
    connection: AsyncConnection, intakes: Sequence[_Intake]
) -> list[TicketView | Exception]:
    """Every intake's ticket and its "created" event, in plain SQL (no ORM bookkeeping)."""
    creators = {
        user_id: (role, full_name)
        for user_id, role, full_name in await connection.execute(
            _CREATORS, {"ids": list({intake.creator_id for intake in intakes})}
        )
    }
    rows = [
        _row(intake) if creators.get(intake.creator_id, (None, None))[0] else None
        for intake in intakes
    ]
    wanted = [row for row in rows if row is not None]
    number_of: dict[str, int] = {}
    if wanted:
        inserted = await connection.execute(_INSERT_TICKETS, wanted)
        number_of = {token: number for number, token in inserted}
        await connection.execute(
            _INSERT_EVENTS,
            [
                {
                    "ticket_id": number_of[row["link_token"]],
                    "at": row["logged_at"],
                    "actor_id": row["created_by"],
                    "kind": "created",
                    "detail": None,
                }
                for row in wanted
            ],
        )
    # The updates that logged them are handled: committed together, or not at all.
    await updates.mark_handled(
        connection,
        [
            intake.update_id
            for intake, row in zip(intakes, rows, strict=True)
            if row is not None and intake.update_id is not None
        ],
    )
    # Built inside the transaction: one that fails is written again item by item.
    return [
        _as_view(
            SimpleNamespace(**row, id=number_of[row["link_token"]]),
            creators[intake.creator_id][1],
            (),
        )
        if row is not None
        else not_a_member()
        for intake, row in zip(intakes, rows, strict=True)
    ]


def _row(intake: _Intake) -> dict[str, Any]:
    """The new ticket's column values (a plain dict: thousands a second are written)."""
    new, customer = intake.new, intake.customer
    return {
        "description": new.description.strip(),
        "category": str(new.category),
        "order_ref": new.order_ref,
        "customer_name": new.customer_name or (customer.full_name if customer else None),
        "customer_user_id": customer.user_id if customer else None,
        "customer_chat_id": customer.user_id if customer and customer.private_chat else None,
        "customer_language": customer.language_code if customer else None,
        "agent_id": intake.creator_id,
        "created_by": intake.creator_id,
        "origin_chat_id": intake.origin_chat_id,
        "received_at": new.received_at or intake.at,
        "logged_at": intake.at,
        "status": str(TicketStatus.OPEN),
        "resolved_at": None,
        "closed_at": None,
        "quality": None,
        "quality_overridden": False,
        "round": 1,
        "reopen_count": 0,
        "link_token": secrets.token_urlsafe(16),
    }


async def show(db: Database, number: int, *, viewer_id: int) -> TicketView:
    async with db.transaction() as session:
        await require_member(session, viewer_id)
        ticket = await load_ticket(session, number)
        view = await _view(session, ticket, with_notes=True)
        return replace(view, survey=await surveys.latest(session, number))


@dataclass(frozen=True)
class TicketPage:
    """One page of a ticket list, and where it sits in the whole list."""

    tickets: list[TicketView]
    total: int  # tickets in the whole list
    page: int  # 1-based
    pages: int  # at least 1

    @property
    def first(self) -> int:
        """The 1-based position of this page's first ticket in the whole list."""
        return (self.page - 1) * LIST_LIMIT + 1


async def listing(
    db: Database, *, scope: Scope, viewer_id: int, overdue_after: timedelta, page: int = 1
) -> TicketPage:
    """A page of `/tickets` (LIST_LIMIT a page): open ones oldest first, or the newest for
    `all`; with the size of the whole list, so the reader knows what is not shown."""
    if page < 1:
        raise InvalidInput(N_("Pages are numbered from 1."))
    now = clock.now()
    conditions: list[Any] = []
    if scope is not Scope.ALL:
        conditions.append(Ticket.status == TicketStatus.OPEN)
        if scope is Scope.MINE:
            conditions.append(Ticket.agent_id == viewer_id)
        elif scope is Scope.OVERDUE:
            conditions.append(col(Ticket.received_at) < now - overdue_after)
    order = (
        (col(Ticket.id).desc(),)
        if scope is Scope.ALL
        else (col(Ticket.received_at), col(Ticket.id))
    )
    async with db.transaction() as session:
        await require_member(session, viewer_id)
        total = (
            await session.exec(select(func.count()).select_from(Ticket).where(*conditions))
        ).one()
        rows = await session.exec(
            select(Ticket)
            .where(*conditions)
            .order_by(*order)
            .offset((page - 1) * LIST_LIMIT)
            .limit(LIST_LIMIT)
        )
        found = [await _view(session, ticket) for ticket in rows]
    pages = max(1, -(-int(total) // LIST_LIMIT))
    return TicketPage(tickets=found, total=int(total), page=page, pages=pages)


async def count_open(db: Database) -> int:
    async with db.transaction() as session:
        result = await session.exec(
            select(func.count()).select_from(Ticket).where(Ticket.status == TicketStatus.OPEN)
        )
        return int(result.one())


async def add_note(db: Database, number: int, *, actor_id: int, text: str) -> TicketView:
    text = text.strip()
    if not text:
        raise InvalidInput(
            N_("Write the note after the ticket number, e.g. /note 12 called the courier.")
        )
    if len(text) > MAX_NOTE:
        raise InvalidInput(
            N_("The note is too long (%(length)s characters; at most %(limit)s)."),
            length=len(text),
            limit=MAX_NOTE,
        )
    async with db.transaction() as session:
        await require_member(session, actor_id)
        ticket = await load_ticket(session, number)
        session.add(ticket_event(ticket.id, actor_id, "note", text))
        return await _view(session, ticket)


async def assign(db: Database, number: int, *, actor_id: int, agent_id: int) -> TicketView:
    async with db.transaction() as session:
        await require_member(session, actor_id)
        agent = await session.get(Person, agent_id)
        if agent is None or agent.role not in (Role.AGENT, Role.MANAGER):
            raise InvalidInput(
                N_("%(name)s is not on the team; a manager can add them with /agent add."),
                name=agent.full_name if agent else agent_id,
            )
        ticket = await load_ticket(session, number, lock=True)
        if ticket.status != TicketStatus.OPEN:
            raise Conflict(N_("Ticket #%(number)s is not open; reopen it first."), number=number)
        ticket.agent_id = agent_id
        session.add(ticket_event(ticket.id, actor_id, "assigned", str(agent_id)))
        return await _view(session, ticket)


async def resolve(
    db: Database, number: int, *, actor_id: int, root_cause_found: bool
) -> TicketView:
    """Resolve with the agent's own quality call: root cause found and fixed 10, else 8."""
    async with db.transaction() as session:
        await require_member(session, actor_id)
        ticket = await load_ticket(session, number, lock=True)
        if ticket.status != TicketStatus.OPEN:
            raise Conflict(N_("Ticket #%(number)s is already resolved."), number=number)
        now = clock.now()
        ticket.status = TicketStatus.RESOLVED
        ticket.resolved_at = max(now, ticket.received_at)
        if ticket.first_resolved_at is None:
            ticket.first_resolved_at = ticket.resolved_at
            ticket.first_resolver_id = ticket.agent_id
        if not ticket.quality_overridden:
            ticket.quality = quality_at_resolution(root_cause_found)
        session.add(
            ticket_event(ticket.id, actor_id, "resolved", "root" if root_cause_found else "noroot")
        )
        await surveys.on_resolved(session, ticket)
        await topics.on_resolved(session, ticket)
        return await _view(session, ticket)


async def reopen(db: Database, number: int, *, actor_id: int) -> TicketView:
    """The problem came back: open again, quality 5, a new round of follow-ups."""
    async with db.transaction() as session:
        await require_member(session, actor_id)
        ticket = await load_ticket(session, number, lock=True)
        if ticket.status == TicketStatus.OPEN:
            raise Conflict(N_("Ticket #%(number)s is already open."), number=number)
        ticket.status = TicketStatus.OPEN
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.quality = QUALITY_REOPENED
        ticket.quality_overridden = False
        ticket.round += 1
        ticket.reopen_count += 1
        session.add(ticket_event(ticket.id, actor_id, "reopened"))
        await surveys.on_reopened(session, ticket)
        await topics.on_reopened(session, ticket)
        return await _view(session, ticket)


@dataclass(frozen=True)
class LinkResult:
    ticket: TicketView
    newly_linked: bool


async def link_customer(db: Database, *, token: str, customer: SeenUser) -> LinkResult:
    """Bind the customer who opened a ticket's deep link to that ticket (and only that one)."""
    async with db.transaction() as session:
        rows = await session.exec(
            select(Ticket).where(Ticket.link_token == token).with_for_update()
        )
        ticket = rows.first()
        if ticket is None:
            raise NotFound(
                N_("This link does not belong to any ticket. Please ask the agent for a new one.")
            )
        if ticket.customer_user_id not in (None, customer.user_id):
            raise NotAllowed(N_("This ticket link has already been used by someone else."))
        person = await _upsert(session, customer)
        if (
            person.role is not None
            and ticket.customer_user_id is None
            and customer.user_id == ticket.agent_id
        ):
            raise InvalidInput(
                N_("This is the customer's link: forward it to the customer instead of opening it.")
            )
        newly = ticket.customer_user_id is None
        ticket.customer_user_id = customer.user_id
        ticket.customer_chat_id = customer.user_id
        ticket.customer_language = customer.language_code
        if not ticket.customer_name:
            ticket.customer_name = customer.full_name
        if newly:
            session.add(ticket_event(ticket.id, customer.user_id, "linked"))
        # Also when linked earlier from a group: only now is there a private chat to ask in.
        await surveys.on_linked(session, ticket)
        return LinkResult(await _view(session, ticket), newly)
