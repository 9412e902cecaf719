"""Follow-ups on overdue tickets: one reminder to the agent, one escalation to the managers.

The outbox key `followup:<ticket>:<round>:<level>` is the claim. Whichever process or
restart queues it first wins, every later attempt is a no-op, and a reopen (round + 1)
starts a fresh set of keys. Whether a queued follow-up is still worth sending is decided
again at send time (`due`), so resolving a ticket needs no clean-up here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, literal
from sqlmodel import col, select

from bot import clock, outbox
from bot.config import Settings
from bot.db import Database, DatabaseUnavailable
from bot.models import Person, Ticket, TicketStatus
from bot.services import team
from bot.services.team import Member
from scoring import OverdueRule
from scoring.quiet_hours import release_time

log = logging.getLogger(__name__)


class Level(StrEnum):
    REMIND = "remind"
    ESCALATE = "escalate"


KINDS = {Level.REMIND: "followup_remind", Level.ESCALATE: "followup_escalate"}
# A reminder the agent's private chat refused goes to the team chat under its own key.
TEAM_CHAT_PART = "team"


def key(ticket_id: int, round_: int, level: Level) -> str:
    return outbox.key("followup", ticket_id, round_, level.value)


@dataclass(frozen=True)
class SweepResult:
    reminders: int = 0
    escalations: int = 0
    # Due, but there is nowhere to send them yet (no team chat and no private chat).
    waiting: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Candidate:
    ticket_id: int
    round: int
    received_at: datetime
    agent_id: int
    agent_has_private_chat: bool


@dataclass(frozen=True)
class Overdue:
    """What a follow-up message says, read at send time."""

    number: int
    round: int
    customer_name: str | None
    order_ref: str | None
    description: str
    received_at: datetime
    age: timedelta
    agent: Member
    managers: tuple[Member, ...]


def _level(age: timedelta, rule: OverdueRule) -> Level:
    # Past the escalation age the reminder is moot: a ticket logged already that old, or
    # one whose reminder never got out, gets only the escalation.
    return Level.ESCALATE if rule.is_escalated(age) else Level.REMIND


async def sweep(db: Database, settings: Settings) -> SweepResult:
    """Queue every follow-up that has come due and is not queued yet; safe to run any time."""
    now = clock.now()
    rule = settings.followup.overdue
    candidates = await _candidates(db, now, rule.remind_after, rule.escalate_after)
    if not candidates:
        return SweepResult()
    team_chat = await team.team_chat_id(db)
    not_before = release_time(now, settings.followup.quiet_window, settings.team.tz)
    counts = {Level.REMIND: 0, Level.ESCALATE: 0}
    waiting = failed = 0
    for candidate in candidates:
        level = _level(now - candidate.received_at, rule)
        private = level is Level.REMIND and candidate.agent_has_private_chat
        chat_id = candidate.agent_id if private else team_chat
        if chat_id is None:
            waiting += 1
            continue
        try:
            # One small transaction per ticket: one bad row cannot hold back the others.
            async with db.transaction() as session:
                queued = await outbox.enqueue(
                    session,
                    key=key(candidate.ticket_id, candidate.round, level),
                    kind=KINDS[level],
                    chat_id=chat_id,
                    payload=_payload(candidate.ticket_id, candidate.round, not private),
                    not_before=not_before,
                )
        except DatabaseUnavailable:
            raise
        except Exception:
            failed += 1
            log.exception(
                "follow-up sweep: could not queue the %s of ticket #%s (round %s)",
                level.value,
                candidate.ticket_id,
                candidate.round,
            )
            continue
        counts[level] += int(queued)
    if waiting:
        log.warning(
            "follow-up sweep: %s follow-ups are due but there is no team chat to send them to "
            "(configure [team] chat_id or run /setup)",
            waiting,
        )
    return SweepResult(counts[Level.REMIND], counts[Level.ESCALATE], waiting, failed)


def _payload(ticket_id: int, round_: int, to_team_chat: bool) -> dict[str, object]:
    return {"ticket": ticket_id, "round": round_, "team_chat": to_team_chat}


async def _candidates(
    db: Database, now: datetime, remind_after: timedelta, escalate_after: timedelta
) -> list[_Candidate]:
    """Open tickets past a threshold whose follow-up for that level is not queued yet."""
    level = case(
        (col(Ticket.received_at) < now - escalate_after, literal(Level.ESCALATE.value)),
        else_=literal(Level.REMIND.value),
    )
    # `key` in SQL: the lookup uses the outbox's unique index, so a sweep with nothing new to
    # do costs one query however many overdue tickets are already followed up.
    already_queued = outbox.queued(
        outbox.key_sql("followup", col(Ticket.id), col(Ticket.round), level)
    )
    async with db.transaction() as session:
        rows = await session.exec(
            select(  # type: ignore[call-overload]
                Ticket.id,
                Ticket.round,
                Ticket.received_at,
                Ticket.agent_id,
                Person.has_private_chat,
            )
            .join(Person, col(Person.user_id) == col(Ticket.agent_id), isouter=True)
            .where(
                Ticket.status == TicketStatus.OPEN,
                col(Ticket.received_at) < now - remind_after,
                ~already_queued,
            )
            .order_by(col(Ticket.received_at), col(Ticket.id))
        )
        return [
            _Candidate(ticket_id, round_, received_at, agent_id, bool(private))
            for ticket_id, round_, received_at, agent_id, private in rows
            if ticket_id is not None
        ]


async def due(
    db: Database, settings: Settings, *, ticket_id: int, round_: int, level: Level
) -> Overdue | None:
    """The follow-up's content if it should still go out, else None.

    Not any more when the ticket was resolved or reopened since (new round), or, for a
    reminder, once the ticket is past the escalation age (the escalation says it all).
    """
    now = clock.now()
    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None or ticket.status != TicketStatus.OPEN or ticket.round != round_:
            return None
        age = now - ticket.received_at
        if level is Level.REMIND and _level(age, settings.followup.overdue) is Level.ESCALATE:
            return None
    # Read after the transaction: sessions keep loaded values (expire_on_commit=False).
    return Overdue(
        number=ticket_id,
        round=round_,
        customer_name=ticket.customer_name,
        order_ref=ticket.order_ref,
        description=ticket.description,
        received_at=ticket.received_at,
        age=age,
        agent=await team.get_member(db, ticket.agent_id) or _unknown(ticket.agent_id),
        managers=tuple(await team.managers(db)),
    )


def _unknown(user_id: int) -> Member:
    return Member(
        user_id=user_id, name=str(user_id), username=None, role=None, has_private_chat=False
    )


async def remind_in_team_chat(
    db: Database, settings: Settings, *, ticket_id: int, round_: int
) -> bool:
    """The agent's private chat refused the reminder: mention them in the team chat instead."""
    team_chat = await team.team_chat_id(db)
    if team_chat is None:
        log.warning(
            "reminder for ticket #%s could not reach the agent and there is no team chat",
            ticket_id,
        )
        return False
    not_before = release_time(clock.now(), settings.followup.quiet_window, settings.team.tz)
    async with db.transaction() as session:
        return await outbox.enqueue(
            session,
            key=outbox.key(key(ticket_id, round_, Level.REMIND), TEAM_CHAT_PART),
            kind=KINDS[Level.REMIND],
            chat_id=team_chat,
            payload=_payload(ticket_id, round_, True),
            not_before=not_before,
        )
