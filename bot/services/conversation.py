"""The customer conversation: a customer's message relayed to the team, an agent's answer
relayed to the customer, and the reply clock that measures how long customers wait.

Every message is stored and queued through the outbox in one transaction, under a key of its
own and in a chain per ticket and direction, so a crash, a restart, a second replica or a
Telegram 5xx never loses or doubles one, and one conversation's messages go out in order.
Nothing of a conversation lives only in memory: which ticket a customer is writing about
(`CustomerFocus`), where each relayed copy landed, and every wait are rows.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock, outbox
from bot.config import Settings
from bot.db import Database
from bot.i18n import N_
from bot.models import (
    UNASSIGNED,
    Category,
    ConversationMessage,
    CustomerFocus,
    Direction,
    Person,
    ReplyWait,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from bot.services import team, topics
from bot.services.access import load_ticket, require_member
from bot.services.errors import Conflict, InvalidInput, NotAllowed
from bot.services.tickets import MAX_DESCRIPTION
from scoring import replies
from scoring.quiet_hours import release_time
from scoring.replies import Nudge, Wait

log = logging.getLogger(__name__)

# Outbox kinds; handlers/conversation_notices.py renders them.
KIND_RELAY_IN = "relay-in"
KIND_RELAY_OUT = "relay-out"
KIND_DELIVERED = "relay-delivered"
KIND_UNDELIVERED = "relay-undelivered"
KIND_NUDGE = {Nudge.REMIND: "reply-remind", Nudge.ESCALATE: "reply-escalate"}

# Telegram's own limits: 4096 characters of text, 1024 of a caption.
MAX_TEXT = 4096
MAX_CAPTION = 1024
# The heading (#N · name) and the signature need room inside those limits.
HEADROOM = 200
PAGE = 5
CHOICES_LIMIT = 8
FLOOD_WINDOW = timedelta(minutes=1)
MEDIA_KINDS = ("photo", "document", "voice", "video", "audio", "animation", "video_note")


def relay_key(message_id: int, *extra: str) -> str:
    return ":".join(["relay", str(message_id), *extra])


def nudge_key(wait_id: int, nudge: Nudge) -> str:
    return f"replywait:{wait_id}:{nudge.value}"


def _chain(ticket_id: int, direction: Direction) -> str:
    return f"conv:{ticket_id}:{direction.value}"


@dataclass(frozen=True)
class Content:
    """A message as Telegram gave it: where it is (to copy it), what it is, its text."""

    chat_id: int
    message_id: int
    kind: str
    text: str | None = None
    file_size: int | None = None
    sent_at: datetime | None = None


class Outcome(StrEnum):
    RELAYED = "relayed"
    # Several open tickets and no choice yet: asked which one; the message waits.
    ASK = "ask"
    # Already asked: kept until they choose.
    HELD = "held"
    NO_TICKET = "no_ticket"
    INTAKE = "intake"
    # Stored already: the update is being handled again after a crash. Nothing more to do.
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Choice:
    number: int
    description: str


@dataclass(frozen=True)
class CustomerResult:
    outcome: Outcome
    number: int | None = None
    after_resolution: bool = False
    # The customer is over the flood limit: kept, relayed later, asked to slow down (once).
    slowed: bool = False
    choices: tuple[Choice, ...] = ()
    customer_language: str | None = None


def check_limits(content: Content, settings: Settings, *, reserve: int = 0) -> None:
    """Refuse what Telegram or the team's limits would refuse, with a reason to read."""
    limit_mb = settings.conversation.max_file_mb
    if content.file_size is not None and content.file_size > limit_mb * 1024 * 1024:
        raise InvalidInput(
            N_(
                "The file is too large (%(size)s MB; at most %(limit)s MB). Please send a smaller one."
            ),
            size=f"{content.file_size / 1024 / 1024:.1f}",
            limit=f"{limit_mb:g}",
        )
    limit = (MAX_TEXT if content.kind == "text" else MAX_CAPTION) - reserve
    if content.text is not None and len(content.text) > limit:
        raise InvalidInput(
            N_("The message is too long (%(length)s characters; at most %(limit)s)."),
            length=len(content.text),
            limit=limit,
        )


# ---------------------------------------------------------------- customer → team


async def customer_message(
    db: Database, settings: Settings, *, customer: team.SeenUser, content: Content
) -> CustomerResult:
    """Store a customer's private message on their ticket and queue its relay to the team."""
    check_limits(content, settings)
    now = clock.now()
    async with db.transaction() as session:
        if await _stored(session, content, Direction.IN):
            return CustomerResult(Outcome.DUPLICATE)
        tickets = await _customer_tickets(session, customer.user_id)
        if not tickets and settings.intake.mode == "ticket":
            return await _intake(session, settings, customer, content, now)
        if not tickets:
            return CustomerResult(Outcome.NO_TICKET)
        open_tickets = [t for t in tickets if t.status == TicketStatus.OPEN]
        target = await _target(session, customer.user_id, open_tickets, tickets)
        language = tickets[0].customer_language or customer.language_code
        if target is None:
            # Several open tickets and no choice: keep the message until they pick one.
            await _store(session, None, customer.user_id, content, now)
            focus = await session.get(CustomerFocus, customer.user_id)
            if focus is not None and focus.asked_at is not None and focus.ticket_id is None:
                return CustomerResult(Outcome.HELD, customer_language=language)
            await _set_focus(session, customer.user_id, None, asked_at=now)
            choices = tuple(Choice(t.id or 0, t.description) for t in open_tickets[:CHOICES_LIMIT])
            return CustomerResult(Outcome.ASK, choices=choices, customer_language=language)
        message = await _store(session, target, customer.user_id, content, now)
        # Writing to the bot privately means answers can reach them here: again (they had
        # blocked it), or for the first time (linked from a group).
        target.customer_blocked_at = None
        target.customer_chat_id = content.chat_id
        slowed = await _relay_in(session, settings, target, message, now)
        return CustomerResult(
            Outcome.RELAYED,
            number=target.id,
            after_resolution=message.after_resolution,
            slowed=slowed,
            customer_language=language,
        )


async def _intake(
    session: AsyncSession,
    settings: Settings,
    customer: team.SeenUser,
    content: Content,
    now: datetime,
) -> CustomerResult:
    """[intake] mode = "ticket": the first message of someone with no ticket opens one,
    unassigned, posted to the team chat with a button for whoever takes it."""
    description = (content.text or "").strip() or f"[{content.kind}]"
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 1] + "…"
    sent = content.sent_at if content.sent_at is not None and content.sent_at <= now else now
    ticket = Ticket(
        description=description,
        category=Category.OTHER,
        customer_name=customer.full_name,
        customer_user_id=customer.user_id,
        customer_chat_id=customer.user_id,
        customer_language=customer.language_code,
        agent_id=UNASSIGNED,
        created_by=customer.user_id,
        origin_chat_id=content.chat_id,
        status=TicketStatus.OPEN,
        received_at=sent,
        logged_at=now,
        link_token=secrets.token_urlsafe(16),
    )
    session.add(ticket)
    await session.flush()
    assert ticket.id is not None
    session.add(TicketEvent(ticket_id=ticket.id, at=now, actor_id=customer.user_id, kind="created"))
    message = await _store(session, ticket, customer.user_id, content, now)
    await _relay_in(session, settings, ticket, message, now)
    return CustomerResult(
        Outcome.INTAKE, number=ticket.id, customer_language=customer.language_code
    )


@dataclass(frozen=True)
class Taken:
    number: int
    agent_name: str
    already: bool


async def take(db: Database, number: int, *, agent_id: int) -> Taken:
    """ "Take #N": the ticket becomes the presser's, unless someone took it first."""
    async with db.transaction() as session:
        agent = await require_member(session, agent_id)
        ticket = await load_ticket(session, number, lock=True)
        if ticket.agent_id != UNASSIGNED:
            holder = await session.get(Person, ticket.agent_id)
            name = holder.full_name if holder else str(ticket.agent_id)
            return Taken(number, name, already=True)
        ticket.agent_id = agent_id
        session.add(
            TicketEvent(
                ticket_id=number,
                at=clock.now(),
                actor_id=agent_id,
                kind="assigned",
                detail=str(agent_id),
            )
        )
        return Taken(number, agent.full_name, already=False)


async def _stored(session: AsyncSession, content: Content, direction: Direction) -> bool:
    """Whether this Telegram message is in the conversation already."""
    rows = await session.exec(
        select(ConversationMessage.id).where(
            ConversationMessage.source_chat_id == content.chat_id,
            ConversationMessage.source_message_id == content.message_id,
            ConversationMessage.direction == direction,
        )
    )
    return rows.first() is not None


async def _customer_tickets(session: AsyncSession, customer_id: int) -> list[Ticket]:
    """The customer's own tickets, newest first: the only ones they can ever reach."""
    rows = await session.exec(
        select(Ticket).where(Ticket.customer_user_id == customer_id).order_by(col(Ticket.id).desc())
    )
    return list(rows)


async def _target(
    session: AsyncSession, customer_id: int, open_tickets: list[Ticket], tickets: list[Ticket]
) -> Ticket | None:
    """The ticket a message is about: the only open one, the one chosen, or (none open) the
    latest; None when they must choose."""
    if len(open_tickets) == 1:
        return open_tickets[0]
    if not open_tickets:
        return tickets[0]
    focus = await session.get(CustomerFocus, customer_id)
    if focus is not None and focus.ticket_id is not None:
        for ticket in open_tickets:
            if ticket.id == focus.ticket_id:
                return ticket
    return None


async def _set_focus(
    session: AsyncSession, customer_id: int, ticket_id: int | None, *, asked_at: datetime | None
) -> None:
    focus = await session.get(CustomerFocus, customer_id)
    if focus is None:
        focus = CustomerFocus(customer_id=customer_id, updated_at=clock.now())
        session.add(focus)
    focus.ticket_id, focus.asked_at, focus.updated_at = ticket_id, asked_at, clock.now()
    await session.flush()


async def _store(
    session: AsyncSession, ticket: Ticket | None, customer_id: int, content: Content, now: datetime
) -> ConversationMessage:
    message = ConversationMessage(
        ticket_id=ticket.id if ticket else None,
        customer_id=customer_id,
        direction=Direction.IN,
        author_id=customer_id,
        at=now,
        kind=content.kind,
        text=content.text,
        source_chat_id=content.chat_id,
        source_message_id=content.message_id,
        after_resolution=ticket is not None and ticket.status != TicketStatus.OPEN,
    )
    session.add(message)
    await session.flush()
    return message


async def _relay_in(
    session: AsyncSession,
    settings: Settings,
    ticket: Ticket,
    message: ConversationMessage,
    now: datetime,
) -> bool:
    """Open a wait if none is open, and queue the relay; True when the customer is flooding."""
    assert ticket.id is not None and message.id is not None
    await _open_wait(session, ticket.id, message.at)
    recent = await session.exec(
        select(func.count())
        .select_from(ConversationMessage)
        .where(
            ConversationMessage.customer_id == message.customer_id,
            ConversationMessage.direction == Direction.IN,
            col(ConversationMessage.at) > now - FLOOD_WINDOW,
        )
    )
    count = int(recent.one())
    limit = settings.conversation.customer_messages_per_minute
    # Over the limit the message is kept and relayed a window later; the chain keeps order.
    not_before = now + FLOOD_WINDOW if count > limit else now
    chat_id, in_topic = await _relay_target(session, settings, ticket)
    await outbox.enqueue(
        session,
        key=relay_key(message.id),
        kind=KIND_RELAY_IN,
        chat_id=chat_id,
        payload={
            "message": message.id,
            "ticket": ticket.id,
            "topic": in_topic,
            "chat_id": chat_id,
        },
        not_before=not_before,
        chain=_chain(ticket.id, Direction.IN),
    )
    # Told once per flood, at the first message over the limit.
    return count == limit + 1


async def _open_wait(session: AsyncSession, ticket_id: int, at: datetime) -> None:
    # The ticket's row lock orders this against a reply closing the wait at the same moment
    # (another replica): the message then either finds the wait open or opens a new one.
    await load_ticket(session, ticket_id, lock=True)
    if replies.opens_wait(await _open_wait_of(session, ticket_id) is not None):
        session.add(ReplyWait(ticket_id=ticket_id, opened_at=at))
        await session.flush()


async def _open_wait_of(session: AsyncSession, ticket_id: int) -> ReplyWait | None:
    rows = await session.exec(
        select(ReplyWait)
        .where(ReplyWait.ticket_id == ticket_id, col(ReplyWait.closed_at).is_(None))
        .order_by(col(ReplyWait.id))
    )
    return rows.first()


async def _relay_target(
    session: AsyncSession, settings: Settings, ticket: Ticket
) -> tuple[int | None, bool]:
    """Where a customer's message goes: (chat, whether into the ticket's topic)."""
    if settings.conversation.topics:
        assert ticket.id is not None
        team_chat = await topics.ensure(session, ticket, chain=_chain(ticket.id, Direction.IN))
        if team_chat is not None:
            return team_chat, True
    team_chat = await _team_chat(session)
    if settings.conversation.notify == "agent":
        agent = await session.get(Person, ticket.agent_id)
        if agent is not None and agent.has_private_chat:
            return agent.user_id, False
    return team_chat, False


async def _team_chat(session: AsyncSession) -> int | None:
    return await team.team_chat_in(session)


@dataclass(frozen=True)
class Picked:
    number: int
    relayed: int
    customer_language: str | None


async def pick_ticket(db: Database, settings: Settings, *, customer_id: int, number: int) -> Picked:
    """The customer chose which ticket they are writing about: held messages go there now."""
    now = clock.now()
    async with db.transaction() as session:
        ticket = await session.get(Ticket, number)
        # A customer reaches only their own tickets.
        if ticket is None or ticket.customer_user_id != customer_id:
            raise NotAllowed(N_("This is not one of your tickets."))
        await _set_focus(session, customer_id, number, asked_at=None)
        held = await session.exec(
            select(ConversationMessage)
            .where(
                ConversationMessage.customer_id == customer_id,
                col(ConversationMessage.ticket_id).is_(None),
                ConversationMessage.direction == Direction.IN,
            )
            .order_by(col(ConversationMessage.id))
        )
        relayed = 0
        for message in list(held):
            message.ticket_id = number
            message.after_resolution = ticket.status != TicketStatus.OPEN
            await session.flush()
            await _relay_in(session, settings, ticket, message, now)
            relayed += 1
        return Picked(number, relayed, ticket.customer_language)


async def choices(db: Database, *, customer_id: int) -> list[Choice]:
    """The customer's open tickets, to switch between them."""
    async with db.transaction() as session:
        tickets = await _customer_tickets(session, customer_id)
        return [Choice(t.id or 0, t.description) for t in tickets if t.status == TicketStatus.OPEN][
            :CHOICES_LIMIT
        ]


# ---------------------------------------------------------------- rendering a relay


@dataclass(frozen=True)
class Relayed:
    """What a queued relay shows, read when it is sent."""

    message_id: int
    number: int
    direction: Direction
    kind: str
    text: str | None
    source: tuple[int, int]
    customer_name: str
    customer_language: str | None
    after_resolution: bool
    author_name: str
    customer_chat_id: int | None
    # Nobody has taken the ticket yet: the relay carries the "Take #N" button.
    unassigned: bool = False
    topic_id: int | None = None


async def relayed(db: Database, message_id: int) -> Relayed | None:
    async with db.transaction() as session:
        message = await session.get(ConversationMessage, message_id)
        if message is None or message.ticket_id is None:
            return None
        ticket = await session.get(Ticket, message.ticket_id)
        author = await session.get(Person, message.author_id)
        assert ticket is not None and message.id is not None
        return Relayed(
            message_id=message.id,
            number=message.ticket_id,
            direction=Direction(message.direction),
            kind=message.kind,
            text=message.text,
            source=(message.source_chat_id, message.source_message_id),
            customer_name=ticket.customer_name or str(message.customer_id),
            customer_language=ticket.customer_language,
            after_resolution=message.after_resolution,
            author_name=_first_name(author),
            customer_chat_id=ticket.customer_chat_id,
            unassigned=ticket.agent_id == UNASSIGNED,
            topic_id=ticket.topic_id,
        )


def _first_name(person: Person | None) -> str:
    if person is None or not person.full_name:
        return ""
    return person.full_name.split()[0]


async def relay_landed(
    db: Database, message_id: int, *, chat_id: int, landed_id: int | None
) -> None:
    """A customer's message reached the team: remember where, so a reply to it finds it."""
    async with db.transaction() as session:
        message = await session.get(ConversationMessage, message_id)
        if message is not None:
            message.relay_chat_id, message.relay_message_id = chat_id, landed_id
            message.status = "delivered"


async def relay_refused(db: Database, message_id: int, *, reason: str) -> bool:
    """The agent's private chat refused a relay: the team chat gets it instead (once)."""
    async with db.transaction() as session:
        message = await session.get(ConversationMessage, message_id)
        team_chat = await _team_chat(session)
        if message is None or message.ticket_id is None or team_chat is None:
            log.error(
                "relay of message %s refused (%s) and nowhere else to send it", message_id, reason
            )
            return False
        return await outbox.enqueue(
            session,
            key=relay_key(message_id, "team"),
            kind=KIND_RELAY_IN,
            chat_id=team_chat,
            payload={
                "message": message_id,
                "ticket": message.ticket_id,
                "topic": False,
                "chat_id": team_chat,
                "to_team": True,
            },
            chain=_chain(message.ticket_id, Direction.IN),
        )


# ---------------------------------------------------------------- team → customer


@dataclass(frozen=True)
class Answered:
    number: int
    customer_name: str


async def ticket_of_relay(db: Database, *, chat_id: int, message_id: int) -> int | None:
    """The ticket whose relayed message this is, if it is one."""
    async with db.transaction() as session:
        rows = await session.exec(
            select(ConversationMessage.ticket_id).where(
                ConversationMessage.direction == Direction.IN,
                ConversationMessage.relay_chat_id == chat_id,
                ConversationMessage.relay_message_id == message_id,
            )
        )
        return rows.first()


async def ticket_of_topic(db: Database, *, thread_id: int) -> int | None:
    async with db.transaction() as session:
        rows = await session.exec(select(Ticket.id).where(Ticket.topic_id == thread_id))
        return rows.first()


async def answer(
    db: Database, settings: Settings, *, agent_id: int, number: int, content: Content
) -> Answered:
    """Store an agent's answer on the ticket and queue it to that ticket's customer only."""
    reserve = HEADROOM if settings.conversation.sign_replies or content.kind != "text" else 0
    check_limits(content, settings, reserve=reserve)
    if content.kind == "text" and not (content.text or "").strip():
        raise InvalidInput(
            N_("Write the answer after the ticket number, e.g. /reply 12 Your parcel left today.")
        )
    async with db.transaction() as session:
        await require_member(session, agent_id)
        ticket = await load_ticket(session, number)
        if ticket.customer_chat_id is None:
            raise Conflict(
                N_(
                    "The customer of #%(number)s has not opened the ticket link yet, so I cannot "
                    "write to them. Forward them the link first."
                ),
                number=number,
            )
        assert ticket.id is not None
        answered = Answered(ticket.id, ticket.customer_name or str(ticket.customer_chat_id))
        if await _stored(session, content, Direction.OUT):
            return answered  # handled again after a crash: queued the first time
        message = ConversationMessage(
            ticket_id=ticket.id,
            customer_id=ticket.customer_user_id or ticket.customer_chat_id,
            direction=Direction.OUT,
            author_id=agent_id,
            at=clock.now(),
            kind=content.kind,
            text=content.text,
            source_chat_id=content.chat_id,
            source_message_id=content.message_id,
            after_resolution=ticket.status != TicketStatus.OPEN,
        )
        session.add(message)
        await session.flush()
        assert message.id is not None
        await outbox.enqueue(
            session,
            key=relay_key(message.id),
            kind=KIND_RELAY_OUT,
            chat_id=ticket.customer_chat_id,
            payload={"message": message.id, "ticket": ticket.id},
            chain=_chain(ticket.id, Direction.OUT),
        )
        return answered


async def answer_delivered(db: Database, message_id: int, *, landed_id: int | None) -> None:
    """The answer reached the customer: it is a reply, so it closes the wait; tell the agent."""
    async with db.transaction() as session:
        message = await session.get(ConversationMessage, message_id)
        if message is None or message.ticket_id is None:
            return
        message.status = "delivered"
        message.relay_chat_id, message.relay_message_id = message.customer_id, landed_id
        await _close_wait(session, message.ticket_id, replier_id=message.author_id)
        await _tell_agent(session, message, KIND_DELIVERED)


async def answer_refused(db: Database, message_id: int, *, reason: str) -> None:
    """The customer's chat refused the answer: recorded on the ticket, the agent told."""
    async with db.transaction() as session:
        message = await session.get(ConversationMessage, message_id)
        if message is None or message.ticket_id is None:
            return
        message.status = "undeliverable"
        ticket = await load_ticket(session, message.ticket_id, lock=True)
        if "block" in reason.lower():
            ticket.customer_blocked_at = clock.now()
            # Nobody can answer a customer who blocked the bot: the wait ends unanswered.
            await _close_wait(session, message.ticket_id, replier_id=None)
        session.add(
            TicketEvent(
                ticket_id=message.ticket_id,
                at=clock.now(),
                actor_id=message.author_id,
                kind="reply_undelivered",
                detail=reason[:500],
            )
        )
        await _tell_agent(session, message, KIND_UNDELIVERED, reason=reason)


async def _close_wait(session: AsyncSession, ticket_id: int, *, replier_id: int | None) -> None:
    await load_ticket(session, ticket_id, lock=True)  # see _open_wait
    wait = await _open_wait_of(session, ticket_id)
    if replies.closes_wait(wait is not None):
        assert wait is not None
        wait.closed_at, wait.replier_id = clock.now(), replier_id


async def _tell_agent(
    session: AsyncSession, message: ConversationMessage, kind: str, **extra: Any
) -> None:
    assert message.id is not None
    await outbox.enqueue(
        session,
        key=relay_key(message.id, kind),
        kind=kind,
        chat_id=message.source_chat_id,
        payload={
            "message": message.id,
            "ticket": message.ticket_id,
            "reply_to": message.source_message_id,
            **extra,
        },
    )


# ---------------------------------------------------------------- the reply clock


@dataclass(frozen=True)
class SweepResult:
    reminders: int = 0
    escalations: int = 0


async def sweep(db: Database, settings: Settings) -> SweepResult:
    """Queue the reminder and the escalation of every wait that earned one; safe any time:
    the outbox key is the claim, so each goes out once across restarts and replicas."""
    now = clock.now()
    within = timedelta(minutes=settings.conversation.reply_within_minutes)
    not_before = release_time(now, settings.followup.quiet_window, settings.team.tz)
    counts = {Nudge.REMIND: 0, Nudge.ESCALATE: 0}
    async with db.transaction() as session:
        rows = await session.exec(
            select(ReplyWait, Ticket.agent_id, Person.has_private_chat)
            .join(Ticket, col(Ticket.id) == col(ReplyWait.ticket_id))
            .join(Person, col(Person.user_id) == col(Ticket.agent_id), isouter=True)
            .where(col(ReplyWait.closed_at).is_(None), col(ReplyWait.opened_at) < now - within)
        )
        found = list(rows)
        team_chat = await _team_chat(session)
    for wait, agent_id, private in found:
        assert wait.id is not None
        for nudge in replies.nudges_due(now - wait.opened_at, within):
            to_agent = nudge is Nudge.REMIND and bool(private)
            chat_id = agent_id if to_agent else team_chat
            if chat_id is None:
                continue
            async with db.transaction() as session:
                queued = await outbox.enqueue(
                    session,
                    key=nudge_key(wait.id, nudge),
                    kind=KIND_NUDGE[nudge],
                    chat_id=chat_id,
                    payload={"wait": wait.id, "ticket": wait.ticket_id, "team_chat": not to_agent},
                    not_before=not_before,
                )
            counts[nudge] += int(queued)
    return SweepResult(counts[Nudge.REMIND], counts[Nudge.ESCALATE])


@dataclass(frozen=True)
class Waiting:
    number: int
    customer_name: str
    waited: timedelta
    agent: team.Member

    @property
    def taken(self) -> bool:
        return self.agent.user_id != UNASSIGNED


async def waiting(db: Database, wait_id: int) -> Waiting | None:
    """A nudge's content if the customer still waits, else None."""
    async with db.transaction() as session:
        wait = await session.get(ReplyWait, wait_id)
        if wait is None or wait.closed_at is not None:
            return None
        ticket = await session.get(Ticket, wait.ticket_id)
        assert ticket is not None and ticket.id is not None
        agent = await session.get(Person, ticket.agent_id)
        member = team.Member(
            user_id=ticket.agent_id,
            name=agent.full_name if agent else str(ticket.agent_id),
            username=agent.username if agent else None,
            role=None,
            has_private_chat=bool(agent and agent.has_private_chat),
        )
        return Waiting(
            ticket.id,
            ticket.customer_name or str(ticket.customer_user_id),
            clock.now() - wait.opened_at,
            member,
        )


# ---------------------------------------------------------------- reading a conversation


@dataclass(frozen=True)
class Line:
    id: int
    at: datetime
    direction: Direction
    author: str
    kind: str
    text: str | None
    status: str


@dataclass(frozen=True)
class Page:
    number: int
    lines: tuple[Line, ...]
    # The id to page back from, when there are older messages.
    older: int | None
    first_response_minutes: float | None
    waiting_since: datetime | None
    customer_blocked: bool
    total: int = 0
    waits: tuple[Wait, ...] = field(default=())


async def page(db: Database, number: int, *, viewer_id: int, before: int | None = None) -> Page:
    """The latest messages of a ticket's conversation (or those before `before`)."""
    async with db.transaction() as session:
        await require_member(session, viewer_id)
        ticket = await load_ticket(session, number)
        statement = (
            select(ConversationMessage, Person)
            .join(Person, col(Person.user_id) == col(ConversationMessage.author_id), isouter=True)
            .where(ConversationMessage.ticket_id == number)
        )
        if before is not None:
            statement = statement.where(col(ConversationMessage.id) < before)
        rows = list(
            await session.exec(
                statement.order_by(col(ConversationMessage.id).desc()).limit(PAGE + 1)
            )
        )
        shown = rows[:PAGE]
        lines = tuple(
            Line(
                message.id or 0,
                message.at,
                Direction(message.direction),
                person.full_name if person else str(message.author_id),
                message.kind,
                message.text,
                message.status,
            )
            for message, person in reversed(shown)
        )
        total = await session.exec(
            select(func.count())
            .select_from(ConversationMessage)
            .where(ConversationMessage.ticket_id == number)
        )
        ticket_waits = await _waits(session, number)
        open_wait = next((w for w in ticket_waits if w.closed_at is None), None)
        return Page(
            number=number,
            lines=lines,
            older=shown[-1][0].id if len(rows) > PAGE else None,
            first_response_minutes=replies.first_response_minutes(ticket_waits),
            waiting_since=open_wait.opened_at if open_wait else None,
            customer_blocked=ticket.customer_blocked_at is not None,
            total=int(total.one()),
            waits=tuple(ticket_waits),
        )


async def _waits(session: AsyncSession, ticket_id: int) -> list[Wait]:
    rows = await session.exec(
        select(ReplyWait).where(ReplyWait.ticket_id == ticket_id).order_by(col(ReplyWait.opened_at))
    )
    return [Wait(w.opened_at, w.closed_at, w.replier_id) for w in rows]


# ---------------------------------------------------------------- figures for the digest


@dataclass(frozen=True)
class Figures:
    customer_messages: int
    replies: int
    median_reply_minutes: float | None
    awaiting_reply: int
    oldest_wait_minutes: float | None


async def figures(db: Database, *, start: datetime, end: datetime, now: datetime) -> Figures:
    """The day [start, end): messages in, replies delivered, the median of waits that closed
    then; and, now, how many customers wait and the longest wait."""
    async with db.transaction() as session:
        counts = dict(
            list(
                await session.exec(
                    select(ConversationMessage.direction, func.count())
                    .where(
                        col(ConversationMessage.at) >= start,
                        col(ConversationMessage.at) < end,
                        or_(
                            col(ConversationMessage.direction) == Direction.IN,
                            col(ConversationMessage.status) == "delivered",
                        ),
                    )
                    .group_by(ConversationMessage.direction)
                )
            )
        )
        closed = await _closed_waits(session, start, end)
        open_rows = list(
            await session.exec(
                select(ReplyWait.opened_at).where(col(ReplyWait.closed_at).is_(None))
            )
        )
    oldest = min(open_rows, default=None)
    return Figures(
        customer_messages=int(counts.get(Direction.IN, 0)),
        replies=int(counts.get(Direction.OUT, 0)),
        median_reply_minutes=replies.median_minutes(closed),
        awaiting_reply=len(open_rows),
        oldest_wait_minutes=None if oldest is None else round(Wait(oldest).minutes(now) or 0, 1),
    )


async def _closed_waits(session: AsyncSession, start: datetime, end: datetime) -> list[Wait]:
    rows = await session.exec(
        select(ReplyWait).where(col(ReplyWait.closed_at) >= start, col(ReplyWait.closed_at) < end)
    )
    return replies.closed_between(
        [Wait(w.opened_at, w.closed_at, w.replier_id) for w in rows], start, end
    )


async def median_between(db: Database, *, start: datetime, end: datetime) -> float | None:
    """The team's median reply time over waits that closed in [start, end)."""
    async with db.transaction() as session:
        return replies.median_minutes(await _closed_waits(session, start, end))


async def agent_medians(db: Database, *, start: datetime, end: datetime) -> dict[int, float | None]:
    """Each replier's median reply time over waits that closed in [start, end)."""
    async with db.transaction() as session:
        closed = await _closed_waits(session, start, end)
    by_agent: dict[int, list[Wait]] = {}
    for wait in closed:
        assert wait.replier_id is not None
        by_agent.setdefault(wait.replier_id, []).append(wait)
    return {agent: replies.median_minutes(waits) for agent, waits in by_agent.items()}
