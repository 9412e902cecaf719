"""Who may record KPI inputs: checked again inside the service's own transaction."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import N_
from bot.models import Person, Role
from bot.services.errors import NotAllowed


async def require_member(session: AsyncSession, user_id: int) -> Person:
    """The team member acting; anyone else is refused."""
    person = await session.get(Person, user_id)
    if person is None or person.role is None:
        raise NotAllowed(N_("Only team agents and managers can do that."))
    return person


async def require_manager(session: AsyncSession, user_id: int) -> Person:
    """The manager acting; agents and strangers are refused."""
    person = await session.get(Person, user_id)
    if person is None or person.role != Role.MANAGER:
        raise NotAllowed(N_("Only managers can do that."))
    return person
