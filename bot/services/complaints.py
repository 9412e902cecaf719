"""Internal complaints (店铺内部投诉): a manager records one against a ticket and its agent."""

from __future__ import annotations

from dataclasses import dataclass

from bot import clock
from bot.db import Database
from bot.i18n import N_
from bot.models import Complaint, Person
from bot.services.access import load_ticket, require_manager, ticket_event
from bot.services.errors import InvalidInput

MAX_COMPLAINT = 2000


@dataclass(frozen=True)
class ComplaintRecord:
    number: int
    agent_id: int
    agent_name: str


async def record(db: Database, *, number: int, actor_id: int, text: str) -> ComplaintRecord:
    """Record a complaint on ticket #number; it counts against the ticket's agent now."""
    text = text.strip()
    if not text:
        raise InvalidInput(
            N_(
                "Write the complaint after the ticket number, e.g. /complaint 12 rude to the customer."
            )
        )
    if len(text) > MAX_COMPLAINT:
        raise InvalidInput(
            N_("The complaint is too long (%(length)s characters; at most %(limit)s)."),
            length=len(text),
            limit=MAX_COMPLAINT,
        )
    async with db.transaction() as session:
        await require_manager(session, actor_id)
        ticket = await load_ticket(session, number)
        assert ticket.id is not None
        now = clock.now()
        session.add(
            Complaint(
                ticket_id=ticket.id,
                agent_id=ticket.agent_id,
                text=text,
                recorded_at=now,
                recorded_by=actor_id,
            )
        )
        session.add(ticket_event(ticket.id, actor_id, "complaint", text))
        agent = await session.get(Person, ticket.agent_id)
        name = agent.full_name if agent and agent.full_name else str(ticket.agent_id)
        return ComplaintRecord(number=number, agent_id=ticket.agent_id, agent_name=name)
