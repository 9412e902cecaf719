"""Satisfaction surveys: the hooks ticket operations call inside their own transaction."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Ticket


async def on_resolved(session: AsyncSession, ticket: Ticket) -> None:
    """A ticket was resolved: survey its linked customer for this round."""


async def on_linked(session: AsyncSession, ticket: Ticket) -> None:
    """A customer linked: if the ticket is already resolved, the survey goes out now."""


async def on_reopened(session: AsyncSession, ticket: Ticket) -> None:
    """A reopen voids the previous round's unanswered survey."""
