"""Satisfaction surveys: ask the customer once per resolution, remind, expire, record the answer.

The survey row is the state machine and the outbox carries every message, so what happens next
is always decided by the database: a restart, a second replica or a re-run sweep finds the same
rows and claims each step with a conditional update, which can succeed only once.

    pending ──sent──> sent ──tap──> answered          (ticket closed, rated)
       │               └──timeout──> expired          (ticket closed, unrated)
       ├──refused──> undeliverable                    (ticket closed, unrated; agent told)
       └──timeout──> expired
    pending / sent ──reopen──> void                   (a fresh survey comes with the next resolve)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock, outbox
from bot.config import SurveySettings
from bot.db import Database
from bot.i18n import N_
from bot.models import Outbox, Person, Role, Survey, Ticket, TicketStatus
from bot.services import team
from bot.services.access import ticket_event
from bot.services.errors import Conflict, NotAllowed
from scoring import SATISFACTION_SCORES

log = logging.getLogger(__name__)

# Telegram messages end at 4096 characters; the comment is forwarded inside a short frame.
MAX_COMMENT = 3000
SUMMARY_LIMIT = 80


class SurveyStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ANSWERED = "answered"
    EXPIRED = "expired"
    UNDELIVERABLE = "undeliverable"
    VOID = "void"


OPEN_STATUSES = (SurveyStatus.PENDING, SurveyStatus.SENT)


class Rating(IntEnum):
    """The answers in button order; the value is the KPI score (`scoring`'s mapping)."""

    VERY_SATISFIED = SATISFACTION_SCORES["very_satisfied"]
    SATISFIED = SATISFACTION_SCORES["satisfied"]
    DISSATISFIED = SATISFACTION_SCORES["dissatisfied"]


class Outcome(StrEnum):
    """Why a survey message lost its buttons."""

    ANSWERED = "answered"
    EXPIRED = "expired"
    VOID = "void"


# Outbox kinds; handlers/survey_notices.py renders them.
KIND_SURVEY = "survey"
KIND_REMIND = "survey-remind"
KIND_CLOSE = "survey-close"
KIND_RATED = "survey-rated"
KIND_ALERT = "survey-alert"
KIND_COMMENT = "survey-comment"
KIND_UNDELIVERABLE = "survey-undeliverable"


def _key(kind: str, survey_id: int, *extra: object) -> str:
    return outbox.key(kind, survey_id, *extra)


@dataclass(frozen=True)
class SurveyState:
    """What a manager sees of a ticket's latest survey."""

    status: SurveyStatus
    round: int
    sent_at: datetime | None
    reminded_at: datetime | None
    answered_at: datetime | None
    expired_at: datetime | None
    rating: Rating | None
    comment: str | None


@dataclass(frozen=True)
class Question:
    """A survey message to render: the ticket it asks about, in the customer's language."""

    survey_id: int
    number: int
    description: str
    customer_language: str | None


@dataclass(frozen=True)
class Answered:
    number: int
    rating: Rating
    customer_language: str | None
    # Only a "dissatisfied" opens the comment window.
    comment_invited: bool


@dataclass(frozen=True)
class Commented:
    number: int
    customer_language: str | None


@dataclass(frozen=True)
class SweepResult:
    reminded: int = 0
    expired: int = 0
    repaired: int = 0


# ---------------------------------------------------------------- hooks inside ticket operations


async def on_resolved(session: AsyncSession, ticket: Ticket) -> None:
    """A ticket was resolved: survey its linked customer for this round."""
    assert ticket.id is not None
    existing = await _survey_of_round(session, ticket.id, ticket.round)
    if existing is not None:
        return
    survey = Survey(
        ticket_id=ticket.id,
        round=ticket.round,
        status=SurveyStatus.PENDING,
        created_at=clock.now(),
        resolved_by=ticket.agent_id,
    )
    session.add(survey)
    await session.flush()
    await _ask(session, survey, ticket)


async def on_linked(session: AsyncSession, ticket: Ticket) -> None:
    """A customer linked: if the ticket is already resolved, the survey goes out now.

    Whether it is still open is decided when it is sent (see `question`), where the expiry
    setting is known; a survey past its expiry is closed by the sweep instead.
    """
    if ticket.id is None or ticket.status != TicketStatus.RESOLVED:
        return
    survey = await _survey_of_round(session, ticket.id, ticket.round)
    if survey is not None and survey.status == SurveyStatus.PENDING:
        await _ask(session, survey, ticket)


async def on_reopened(session: AsyncSession, ticket: Ticket) -> None:
    """A reopen voids the previous round's unanswered survey."""
    assert ticket.id is not None
    rows = await session.exec(
        select(Survey).where(
            Survey.ticket_id == ticket.id,
            col(Survey.round) < ticket.round,
            col(Survey.status).in_(OPEN_STATUSES),
        )
    )
    for survey in list(rows):
        assert survey.id is not None
        if await _transition(session, survey.id, OPEN_STATUSES, status=SurveyStatus.VOID):
            await _withdraw(session, survey, ticket, Outcome.VOID)


async def _survey_of_round(session: AsyncSession, ticket_id: int, round_: int) -> Survey | None:
    rows = await session.exec(
        select(Survey).where(Survey.ticket_id == ticket_id, Survey.round == round_)
    )
    return rows.first()


async def _ask(session: AsyncSession, survey: Survey, ticket: Ticket) -> None:
    """Queue the question, if there is a private chat to put it in."""
    chat_id = await _customer_chat(session, ticket)
    if chat_id is None:
        return  # on_linked asks once the customer opens the ticket link
    assert survey.id is not None
    await outbox.enqueue(
        session,
        key=_key(KIND_SURVEY, survey.id),
        kind=KIND_SURVEY,
        chat_id=chat_id,
        payload={"survey_id": survey.id, "chat_id": chat_id},
    )


async def _customer_chat(session: AsyncSession, ticket: Ticket) -> int | None:
    if ticket.customer_chat_id is not None:
        return ticket.customer_chat_id
    if ticket.customer_user_id is None:
        return None
    # Linked from a group reply: reachable only if they have talked to the bot privately.
    person = await session.get(Person, ticket.customer_user_id)
    return person.user_id if person is not None and person.has_private_chat else None


# ---------------------------------------------------------------- sending


async def question(db: Database, survey_id: int, *, expire_after: timedelta) -> Question | None:
    """The survey to send now, or None when it is no longer worth asking."""
    async with db.transaction() as session:
        found = await _with_ticket(session, survey_id)
        if found is None:
            return None
        survey, ticket = found
        if (
            survey.status != SurveyStatus.PENDING
            or ticket.round != survey.round
            or ticket.status != TicketStatus.RESOLVED
            or clock.now() >= survey.created_at + expire_after
        ):
            return None
        return _question(survey, ticket)


async def reminder(db: Database, survey_id: int) -> Question | None:
    """The reminder to send now, or None when the survey was answered or closed meanwhile."""
    async with db.transaction() as session:
        found = await _with_ticket(session, survey_id)
        if found is None:
            return None
        survey, ticket = found
        if survey.status != SurveyStatus.SENT or ticket.round != survey.round:
            return None
        return _question(survey, ticket)


def _question(survey: Survey, ticket: Ticket) -> Question:
    assert survey.id is not None and ticket.id is not None
    return Question(survey.id, ticket.id, ticket.description, ticket.customer_language)


async def mark_sent(db: Database, survey_id: int, *, chat_id: int, message_id: int | None) -> None:
    """The question reached the customer: reminders and expiry count from now."""
    async with db.transaction() as session:
        await _record_sent(session, survey_id, chat_id, message_id, clock.now())


async def _record_sent(
    session: AsyncSession, survey_id: int, chat_id: int, message_id: int | None, at: datetime
) -> None:
    if await _transition(
        session,
        survey_id,
        (SurveyStatus.PENDING,),
        status=SurveyStatus.SENT,
        sent_at=at,
        chat_id=chat_id,
        message_id=message_id,
    ):
        return
    # Voided or expired while the message was on its way: take its buttons away too.
    found = await _with_ticket(session, survey_id)
    if found is None or message_id is None:
        return
    survey, ticket = found
    survey.chat_id, survey.message_id = chat_id, message_id
    if survey.status in (SurveyStatus.VOID, SurveyStatus.EXPIRED):
        outcome = Outcome.VOID if survey.status == SurveyStatus.VOID else Outcome.EXPIRED
        await _close_message(session, survey, ticket, outcome, message_id)


async def mark_undeliverable(db: Database, survey_id: int, *, reason: str) -> None:
    """Telegram refused the question for good: record it, close the ticket, tell the agent."""
    async with db.transaction() as session:
        if not await _transition(
            session, survey_id, (SurveyStatus.PENDING,), status=SurveyStatus.UNDELIVERABLE
        ):
            return
        found = await _with_ticket(session, survey_id)
        assert found is not None
        survey, ticket = found
        await _close_ticket(session, survey, ticket)
        session.add(ticket_event(ticket.id, None, "survey_undeliverable", reason[:500]))
        await _notify_agent(
            session,
            ticket,
            key=_key(KIND_UNDELIVERABLE, survey_id),
            kind=KIND_UNDELIVERABLE,
            payload={"number": ticket.id, "summary": _summary(ticket)},
        )


# ---------------------------------------------------------------- answers


async def answer(
    db: Database,
    *,
    survey_id: int,
    rating: Rating,
    presser_id: int,
    tapped_message_id: int | None,
    settings: SurveySettings,
) -> Answered:
    """Record a tap, once: only the ticket's customer, only on the current open survey."""
    now = clock.now()
    async with db.transaction() as session:
        found = await _with_ticket(session, survey_id)
        if found is None:
            raise Conflict(N_("This survey has closed."))
        survey, ticket = found
        # Who is asking comes first, so a stranger learns nothing about the survey's state.
        if ticket.customer_user_id is None or ticket.customer_user_id != presser_id:
            raise NotAllowed(N_("Only the customer of this ticket can answer this survey."))
        if survey.status == SurveyStatus.ANSWERED:
            raise Conflict(N_("You have already answered this survey. Thank you!"))
        if (
            survey.status not in OPEN_STATUSES
            or survey.round != ticket.round
            or now >= _expires_at(survey, settings)
        ):
            raise Conflict(N_("This survey has closed."))
        dissatisfied = rating is Rating.DISSATISFIED
        comment_until = now + timedelta(minutes=settings.comment_window_minutes)
        if not await _transition(
            session,
            survey_id,
            OPEN_STATUSES,
            status=SurveyStatus.ANSWERED,
            rating=int(rating),
            answered_at=now,
            comment_until=comment_until if dissatisfied else None,
        ):
            # A double tap racing the first one: the first one won.
            raise Conflict(N_("You have already answered this survey. Thank you!"))
        await _close_ticket(session, survey, ticket)
        session.add(ticket_event(ticket.id, presser_id, "survey_answered", str(int(rating))))
        await _withdraw(session, survey, ticket, Outcome.ANSWERED, rating, keep=tapped_message_id)
        await _notify_agent(
            session,
            ticket,
            key=_key(KIND_RATED, survey_id),
            kind=KIND_RATED,
            payload={"number": ticket.id, "rating": int(rating), "summary": _summary(ticket)},
        )
        if dissatisfied:
            await _alert_team(session, survey_id, ticket)
        assert ticket.id is not None
        return Answered(ticket.id, rating, ticket.customer_language, dissatisfied)


async def take_comment(db: Database, *, customer_id: int, text: str) -> Commented | None:
    """Store a dissatisfied customer's next message as their comment; None if none is awaited."""
    text = text.strip()
    if not text:
        return None
    now = clock.now()
    async with db.transaction() as session:
        rows = await session.exec(
            select(Survey, Ticket)
            .join(Ticket, col(Ticket.id) == col(Survey.ticket_id))
            .where(
                Ticket.customer_user_id == customer_id,
                Survey.status == SurveyStatus.ANSWERED,
                col(Survey.comment).is_(None),
                col(Survey.comment_until) > now,
            )
            .order_by(col(Survey.answered_at).desc())
            .limit(1)
        )
        found = rows.first()
        if found is None:
            return None
        survey, ticket = found
        assert survey.id is not None and ticket.id is not None
        stored = text[:MAX_COMMENT]
        claimed = await session.exec(
            update(Survey)
            .where(col(Survey.id) == survey.id, col(Survey.comment).is_(None))
            .values(comment=stored)
        )
        if not claimed.rowcount:
            return None
        session.add(ticket_event(ticket.id, customer_id, "survey_comment", stored))
        team_chat = await team.team_chat_in(session)
        if team_chat is None:
            log.warning("comment on ticket #%s stored, but no team chat is set", ticket.id)
        else:
            agent = await _person(session, ticket.agent_id)
            await outbox.enqueue(
                session,
                key=_key(KIND_COMMENT, survey.id),
                kind=KIND_COMMENT,
                chat_id=team_chat,
                payload={
                    "number": ticket.id,
                    "comment": stored,
                    "customer": ticket.customer_name or "",
                    "agent": agent,
                },
            )
        return Commented(ticket.id, ticket.customer_language)


async def _alert_team(session: AsyncSession, survey_id: int, ticket: Ticket) -> None:
    team_chat = await team.team_chat_in(session)
    if team_chat is None:
        log.warning("ticket #%s rated dissatisfied, but no team chat is set", ticket.id)
        return
    managers = await session.exec(
        select(Person).where(Person.role == Role.MANAGER).order_by(col(Person.user_id))
    )
    await outbox.enqueue(
        session,
        key=_key(KIND_ALERT, survey_id),
        kind=KIND_ALERT,
        chat_id=team_chat,
        payload={
            "number": ticket.id,
            "summary": _summary(ticket),
            "customer": ticket.customer_name or "",
            "agent": await _person(session, ticket.agent_id),
            "managers": [_named(person) for person in managers],
        },
    )


# ---------------------------------------------------------------- the sweep


async def sweep(db: Database, settings: SurveySettings) -> SweepResult:
    """Remind and expire what is due. Each survey is claimed in its own transaction."""
    now = clock.now()
    remind_after = timedelta(hours=settings.remind_after_hours)
    expire_after = timedelta(hours=settings.expire_after_hours)
    repaired = await _repair_lost_sends(db)
    async with db.transaction() as session:
        to_expire = list(
            await session.exec(
                select(Survey.id).where(
                    or_(
                        (col(Survey.status) == SurveyStatus.SENT)
                        & (col(Survey.sent_at) <= now - expire_after),
                        (col(Survey.status) == SurveyStatus.PENDING)
                        & (col(Survey.created_at) <= now - expire_after),
                    )
                )
            )
        )
        to_remind = list(
            await session.exec(
                select(Survey.id).where(
                    Survey.status == SurveyStatus.SENT,
                    col(Survey.reminded_at).is_(None),
                    col(Survey.sent_at) <= now - remind_after,
                    col(Survey.sent_at) > now - expire_after,
                )
            )
        )
    expired = reminded = 0
    for survey_id in to_expire:
        assert survey_id is not None
        async with db.transaction() as session:
            expired += await _expire(session, survey_id, now)
    for survey_id in to_remind:
        assert survey_id is not None
        async with db.transaction() as session:
            reminded += await _remind(session, survey_id, now)
    return SweepResult(reminded=reminded, expired=expired, repaired=repaired)


async def _remind(session: AsyncSession, survey_id: int, now: datetime) -> bool:
    claimed = await session.exec(
        update(Survey)
        .where(
            col(Survey.id) == survey_id,
            Survey.status == SurveyStatus.SENT,  # type: ignore[arg-type]
            col(Survey.reminded_at).is_(None),
        )
        .values(reminded_at=now)
    )
    if not claimed.rowcount:
        return False
    survey = await session.get(Survey, survey_id)
    assert survey is not None
    await outbox.enqueue(
        session,
        key=_key(KIND_REMIND, survey_id),
        kind=KIND_REMIND,
        chat_id=survey.chat_id,
        payload={"survey_id": survey_id, "chat_id": survey.chat_id},
    )
    return True


async def _expire(session: AsyncSession, survey_id: int, now: datetime) -> bool:
    if not await _transition(
        session, survey_id, OPEN_STATUSES, status=SurveyStatus.EXPIRED, expired_at=now
    ):
        return False
    found = await _with_ticket(session, survey_id)
    assert found is not None
    survey, ticket = found
    await _close_ticket(session, survey, ticket)
    session.add(ticket_event(ticket.id, None, "survey_expired"))
    await _withdraw(session, survey, ticket, Outcome.EXPIRED)
    return True


async def _repair_lost_sends(db: Database) -> int:
    """A process killed between sending a survey and recording it: the outbox knows."""
    async with db.transaction() as session:
        rows = await session.exec(
            select(Survey.id, Outbox.chat_id, Outbox.message_id, Outbox.sent_at)
            .join(Outbox, col(Outbox.dedupe_key) == outbox.key_sql(KIND_SURVEY, col(Survey.id)))
            .where(
                Survey.status == SurveyStatus.PENDING,
                Outbox.status == outbox.Status.SENT,
                col(Outbox.message_id).is_not(None),
            )
        )
        repaired = 0
        for survey_id, chat_id, message_id, sent_at in list(rows):
            assert survey_id is not None and chat_id is not None and sent_at is not None
            await _record_sent(session, survey_id, chat_id, message_id, sent_at)
            repaired += 1
        return repaired


# ---------------------------------------------------------------- what managers see


async def latest(session: AsyncSession, ticket_id: int) -> SurveyState | None:
    """The ticket's most recent survey, for /show."""
    rows = await session.exec(
        select(Survey).where(Survey.ticket_id == ticket_id).order_by(col(Survey.round).desc())
    )
    survey = rows.first()
    if survey is None:
        return None
    return SurveyState(
        status=SurveyStatus(survey.status),
        round=survey.round,
        sent_at=survey.sent_at,
        reminded_at=survey.reminded_at,
        answered_at=survey.answered_at,
        expired_at=survey.expired_at,
        rating=Rating(survey.rating) if survey.rating is not None else None,
        comment=survey.comment,
    )


# ---------------------------------------------------------------- shared steps


async def _with_ticket(session: AsyncSession, survey_id: int) -> tuple[Survey, Ticket] | None:
    rows = await session.exec(
        select(Survey, Ticket)
        .join(Ticket, col(Ticket.id) == col(Survey.ticket_id))
        .where(Survey.id == survey_id)
        .execution_options(populate_existing=True)
    )
    found = rows.first()
    return (found[0], found[1]) if found else None


async def _transition(
    session: AsyncSession, survey_id: int, from_: tuple[SurveyStatus, ...], **values: Any
) -> bool:
    """The claim: move a survey on only if it is still in one of `from_`; True if this call did."""
    result = await session.exec(
        update(Survey)
        .where(col(Survey.id) == survey_id, col(Survey.status).in_(from_))
        .values(**values)
    )
    return bool(result.rowcount)


def _expires_at(survey: Survey, settings: SurveySettings) -> datetime:
    return (survey.sent_at or survey.created_at) + timedelta(hours=settings.expire_after_hours)


async def _close_ticket(session: AsyncSession, survey: Survey, ticket: Ticket) -> None:
    """The survey round is over: its ticket closes, unless a reopen has moved it on."""
    await session.exec(
        update(Ticket)
        .where(
            col(Ticket.id) == ticket.id,
            Ticket.round == survey.round,  # type: ignore[arg-type]
            Ticket.status == TicketStatus.RESOLVED,  # type: ignore[arg-type]
        )
        .values(status=TicketStatus.CLOSED, closed_at=clock.now())
    )


async def _withdraw(
    session: AsyncSession,
    survey: Survey,
    ticket: Ticket,
    outcome: Outcome,
    rating: Rating | None = None,
    *,
    keep: int | None = None,
) -> None:
    """Drop unsent survey messages and take the buttons off the sent ones (but `keep`)."""
    assert survey.id is not None
    await outbox.cancel(session, [_key(KIND_SURVEY, survey.id), _key(KIND_REMIND, survey.id)])
    reminder = await outbox.sent_message_id(session, _key(KIND_REMIND, survey.id))
    message_ids = {survey.message_id, reminder}
    for message_id in sorted(m for m in message_ids if m is not None and m != keep):
        await _close_message(session, survey, ticket, outcome, message_id, rating)


async def _close_message(
    session: AsyncSession,
    survey: Survey,
    ticket: Ticket,
    outcome: Outcome,
    message_id: int,
    rating: Rating | None = None,
) -> None:
    chat_id = survey.chat_id or ticket.customer_chat_id
    if chat_id is None:
        return
    assert survey.id is not None
    await outbox.enqueue(
        session,
        key=_key(KIND_CLOSE, survey.id, message_id),
        kind=KIND_CLOSE,
        chat_id=chat_id,
        payload={
            "message_id": message_id,
            "number": ticket.id,
            "outcome": outcome.value,
            "rating": int(rating) if rating is not None else None,
            "language": ticket.customer_language,
        },
    )


async def _notify_agent(
    session: AsyncSession, ticket: Ticket, *, key: str, kind: str, payload: dict[str, Any]
) -> None:
    """To the agent's private chat if they have started the bot, else to the team chat."""
    agent = await session.get(Person, ticket.agent_id)
    chat_id = ticket.agent_id if agent is not None and agent.has_private_chat else None
    chat_id = chat_id or await team.team_chat_in(session)
    if chat_id is None:
        log.warning("%s for ticket #%s has nowhere to go: no team chat is set", kind, ticket.id)
        return
    await outbox.enqueue(session, key=key, kind=kind, chat_id=chat_id, payload=payload)


async def _person(session: AsyncSession, user_id: int) -> list[Any]:
    person = await session.get(Person, user_id)
    return _named(person) if person else [user_id, str(user_id)]


def _named(person: Person) -> list[Any]:
    """[user id, display name], JSON-friendly, for mentions in team messages."""
    return [person.user_id, team.display_name(person)]


def _summary(ticket: Ticket) -> str:
    """The description on one short line."""
    text = " ".join(ticket.description.split())
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"
