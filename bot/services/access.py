"""Who may act, the ticket they act on, and the trace it leaves: inside the caller's transaction."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.i18n import N_
from bot.models import Person, Role, Ticket, TicketEvent
from bot.services.errors import NotAllowed, ticket_not_found


async def require_member(session: AsyncSession, user_id: int) -> Person:
    """The team member acting; anyone else is refused."""
    person = await session.get(Person, user_id)
    if person is None or person.role is None:
        raise not_a_member()
    return person


def not_a_member() -> NotAllowed:
    return NotAllowed(N_("Only team agents and managers can do that."))


async def require_manager(session: AsyncSession, user_id: int) -> Person:
    """The manager acting; agents and strangers are refused."""
    person = await session.get(Person, user_id)
    if person is None or person.role != Role.MANAGER:
        raise NotAllowed(N_("Only managers can do that."))
    return person


async def load_ticket(session: AsyncSession, number: int, *, lock: bool = False) -> Ticket:
    """Ticket #number, row-locked for an update when `lock` (PostgreSQL); unknown → NotFound."""
    statement = select(Ticket).where(Ticket.id == number)
    if lock:
        statement = statement.with_for_update()
    ticket = (await session.exec(statement)).first()
    if ticket is None:
        raise ticket_not_found(number)
    return ticket


def ticket_event(
    ticket_id: int | None, actor_id: int | None, kind: str, detail: str | None = None
) -> TicketEvent:
    """A line of a ticket's history, stamped now; `actor_id` None when the bot acted."""
    assert ticket_id is not None
    return TicketEvent(
        ticket_id=ticket_id, at=clock.now(), actor_id=actor_id, kind=kind, detail=detail
    )
