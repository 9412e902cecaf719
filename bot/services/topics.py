"""A forum topic per ticket in the team chat ([conversation] topics = true).

The topic is opened through the outbox, in the ticket's relay chain, so the first relayed
message waits for it and lands inside; it is closed on resolve and reopened on reopen. The
topic's id is stored on the ticket when Telegram has made it, so any replica finds it.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import outbox
from bot.db import Database
from bot.models import Ticket
from bot.services import team

KIND_OPEN = "topic-open"
KIND_CLOSE = "topic-close"
KIND_REOPEN = "topic-reopen"
NAME_LIMIT = 128


def topic_name(ticket: Ticket) -> str:
    name = f"#{ticket.id} {ticket.customer_name or ''} · {ticket.description}".strip()
    return name if len(name) <= NAME_LIMIT else name[: NAME_LIMIT - 1] + "…"


async def ensure(session: AsyncSession, ticket: Ticket, *, chain: str) -> int | None:
    """Queue the ticket's topic unless it exists or is queued; returns the team chat."""
    team_chat = await team.team_chat_in(session)
    if team_chat is None or ticket.id is None:
        return None
    if ticket.topic_id is None:
        await outbox.enqueue(
            session,
            key=f"topic:{ticket.id}:open",
            kind=KIND_OPEN,
            chat_id=team_chat,
            payload={"ticket": ticket.id, "name": topic_name(ticket)},
            chain=chain,
        )
    return team_chat


async def on_resolved(session: AsyncSession, ticket: Ticket) -> None:
    await _toggle(session, ticket, KIND_CLOSE)


async def on_reopened(session: AsyncSession, ticket: Ticket) -> None:
    await _toggle(session, ticket, KIND_REOPEN)


async def _toggle(session: AsyncSession, ticket: Ticket, kind: str) -> None:
    team_chat = await team.team_chat_in(session)
    if ticket.topic_id is None or team_chat is None:
        return
    await outbox.enqueue(
        session,
        # One per round: a reopened ticket's next resolve closes the topic again.
        key=f"topic:{ticket.id}:{ticket.round}:{kind}",
        kind=kind,
        chat_id=team_chat,
        payload={"ticket": ticket.id, "thread": ticket.topic_id},
    )


async def opened(db: Database, ticket_id: int, thread_id: int | None) -> None:
    """Telegram made the topic: remember it on the ticket."""
    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is not None and thread_id is not None:
            ticket.topic_id = thread_id
