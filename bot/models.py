"""The tables. Every timestamp is stored as naive UTC and read back as aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Numeric, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _user_id(*, primary_key: bool = False, nullable: bool = True, index: bool = False) -> Any:
    # Telegram ids exceed 32 bits.
    return Field(
        default=None,
        sa_column=Column(
            BigInteger, primary_key=primary_key, nullable=nullable and not primary_key, index=index
        ),
    )


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"


class Category(StrEnum):
    PRODUCT = "product"
    LOGISTICS = "logistics"
    SERVICE = "service"
    OTHER = "other"


# The agent of a ticket nobody has taken yet (a customer's message opened it: [intake]).
UNASSIGNED = 0


class TicketStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Person(SQLModel, table=True):
    """Everyone the bot has seen; team members carry a role."""

    user_id: int = _user_id(primary_key=True)
    username: str | None = Field(default=None, index=True, max_length=64)
    full_name: str = Field(default="", max_length=256)
    language_code: str | None = Field(default=None, max_length=16)
    has_private_chat: bool = False
    role: str | None = Field(default=None, max_length=16, index=True)
    updated_at: datetime = _ts(nullable=False)


class TeamSetting(SQLModel, table=True):
    """Small key/value facts set from chat, such as the team chat chosen by /setup."""

    __tablename__ = "team_setting"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Ticket(SQLModel, table=True):
    # The digest and the scoreboard aggregate the tickets resolved in a date range by agent,
    # speed and quality, and count the open ones: with every column they read in one index,
    # SQLite answers from the index alone instead of one table lookup per ticket (half of the
    # digest's time at 1M tickets). It also serves every plain resolved_at lookup.
    __table_args__ = (
        Index(
            "ix_ticket_resolved_cover",
            "resolved_at",
            "agent_id",
            "received_at",
            "quality",
            "logged_at",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    description: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(default=Category.OTHER, max_length=16, index=True)
    order_ref: str | None = Field(default=None, max_length=128)
    customer_name: str | None = Field(default=None, max_length=256)
    customer_user_id: int | None = _user_id(index=True)
    customer_chat_id: int | None = _user_id()
    customer_language: str | None = Field(default=None, max_length=16)
    agent_id: int = _user_id(nullable=False, index=True)
    created_by: int = _user_id(nullable=False)
    origin_chat_id: int | None = _user_id()
    status: str = Field(default=TicketStatus.OPEN, max_length=16, index=True)
    received_at: datetime = _ts(nullable=False, index=True)
    logged_at: datetime = _ts(nullable=False, index=True)
    resolved_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    quality: int | None = None
    quality_overridden: bool = False
    # Each reopen starts a new round of follow-ups and a fresh survey.
    round: int = 1
    reopen_count: int = 0
    link_token: str = Field(max_length=64, unique=True)
    # Set when a reply could not reach the customer because they blocked the bot.
    customer_blocked_at: datetime | None = _ts()
    # The forum topic of this ticket in the team chat, when topics are on.
    topic_id: int | None = None
    # The first resolution and who held the ticket then: first-time fix counts a ticket in
    # the month it was first resolved, for that agent, and a later reopen counts against it
    # even though resolved_at is cleared (the figure can fall later, which is the point).
    first_resolved_at: datetime | None = _ts(index=True)
    first_resolver_id: int | None = _user_id()


class TicketEvent(SQLModel, table=True):
    """The audit trail: who did what to a ticket, and when."""

    __tablename__ = "ticket_event"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = _ts(nullable=False)
    actor_id: int | None = _user_id()
    kind: str = Field(max_length=32)
    detail: str | None = Field(default=None, sa_column=Column(Text))


class Survey(SQLModel, table=True):
    """One satisfaction survey per resolution round of a ticket."""

    __table_args__ = (UniqueConstraint("ticket_id", "round"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    round: int = 1
    status: str = Field(default="pending", max_length=16, index=True)
    created_at: datetime = _ts(nullable=False)
    sent_at: datetime | None = _ts(index=True)
    chat_id: int | None = _user_id()
    message_id: int | None = None
    reminded_at: datetime | None = _ts()
    answered_at: datetime | None = _ts(index=True)
    expired_at: datetime | None = _ts()
    rating: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text))
    comment_until: datetime | None = _ts()
    # Who held the ticket when this round was resolved: the answer judges that resolution, so
    # it counts for them even if the ticket is reopened and handed to someone else later.
    resolved_by: int | None = _user_id()


class Refund(SQLModel, table=True):
    """A refund on a ticket, counted on the team-local day it was recorded."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    dispute: bool = False
    recorded_at: datetime = _ts(nullable=False)
    day: date = Field(index=True)
    recorded_by: int | None = _user_id()
    # When the customer asked for it (`requested:`); refund time falls back to received_at.
    requested_at: datetime | None = _ts()


class Intervention(SQLModel, table=True):
    """The platform stepped in on a ticket (介入), counted on the team-local day recorded.

    A dispute refund implies one without a row here (`scoring.figures.intervention_day`).
    """

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    recorded_at: datetime = _ts(nullable=False)
    day: date = Field(index=True)
    recorded_by: int | None = _user_id()


class Sale(SQLModel, table=True):
    """A repeat purchase credited to an agent, on the team-local day it counts on.

    From chat it names the customer's ticket (and the ticket's agent then); from a CSV import
    it names the agent directly.
    """

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    agent_id: int = _user_id(nullable=False, index=True)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    day: date = Field(index=True)
    order_ref: str | None = Field(default=None, max_length=128)
    recorded_at: datetime = _ts(nullable=False)
    recorded_by: int | None = _user_id()


class DsrEntry(SQLModel, table=True):
    """The shop's three 90-day DSR scores as the platform showed them on a day."""

    __tablename__ = "dsr_entry"
    day: date = Field(primary_key=True)
    description: Decimal = Field(sa_column=Column(Numeric(3, 2), nullable=False))
    service: Decimal = Field(sa_column=Column(Numeric(3, 2), nullable=False))
    logistics: Decimal = Field(sa_column=Column(Numeric(3, 2), nullable=False))
    recorded_at: datetime = _ts(nullable=False)
    recorded_by: int | None = _user_id()


class Complaint(SQLModel, table=True):
    """An internal complaint (店铺内部投诉) a manager recorded against a ticket and its agent."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    agent_id: int = _user_id(nullable=False, index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = _ts(nullable=False, index=True)
    recorded_by: int | None = _user_id()


class DailyOrders(SQLModel, table=True):
    __tablename__ = "daily_orders"
    day: date = Field(primary_key=True)
    orders: int = Field(ge=0)
    updated_at: datetime = _ts(nullable=False)


class SkillRating(SQLModel, table=True):
    __tablename__ = "skill_rating"
    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = _user_id(nullable=False, index=True)
    rating: int
    rated_by: int = _user_id(nullable=False)
    rated_at: datetime = _ts(nullable=False)


class Outbox(SQLModel, table=True):
    """A message that must reach Telegram: written in the same transaction as its cause.

    `dedupe_key` is unique, so claiming work (a follow-up level, a day's digest, a survey
    round) is an insert that can only succeed once, whichever process or restart tries it.
    """

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=128, unique=True)
    kind: str = Field(max_length=32)
    chat_id: int | None = _user_id()
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)
    created_at: datetime = _ts(nullable=False)
    not_before: datetime = _ts(nullable=False)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    message_id: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    # Messages of one chain (one conversation's direction) go out one at a time, in id order:
    # a later one waits while an earlier one is still pending (e.g. retrying after a 5xx).
    chain: str | None = Field(default=None, max_length=64)

    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        Index("ix_outbox_chain", "chain", "status", "id"),
    )


class FlowState(SQLModel, table=True):
    """A guided conversation in progress, in the database so any replica can continue it."""

    __tablename__ = "flow_state"
    chat_id: int = _user_id(primary_key=True)
    user_id: int = _user_id(primary_key=True)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts(nullable=False)


class ProcessedUpdate(SQLModel, table=True):
    """The inbox: each update claimed once, and whether its handling finished."""

    __tablename__ = "processed_update"
    update_id: int = _user_id(primary_key=True)
    # When the claim was taken (or taken over): its lease runs from here.
    at: datetime = _ts(nullable=False, index=True)
    # The process handling it ("host:pid"); None once freed after its owner died.
    owner: str | None = Field(default=None, max_length=128)
    # Handled: its work committed (in the same transaction as this flag) or every handler
    # ran. A claim not done whose owner is gone is handled again when redelivered.
    done: bool = False


class Direction(StrEnum):
    """Who a conversation message is from: the customer (in) or an agent answering (out)."""

    IN = "in"
    OUT = "out"


class ConversationMessage(SQLModel, table=True):
    """One message of a ticket's conversation, stored before it is relayed.

    A customer's message with no ticket chosen yet (several open tickets) waits here with
    `ticket_id` empty until they pick one. `relay_chat_id`/`relay_message_id` is where the
    relayed copy landed, so an agent's Telegram reply to it finds its ticket.
    """

    __tablename__ = "conversation_message"
    __table_args__ = (
        Index("ix_conversation_relay", "relay_chat_id", "relay_message_id"),
        Index("ix_conversation_ticket", "ticket_id", "id"),
        # A Telegram message is stored once, however often its update is handled again.
        UniqueConstraint(
            "source_chat_id", "source_message_id", "direction", name="uq_conversation_source"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    customer_id: int = _user_id(nullable=False, index=True)
    direction: str = Field(max_length=8)
    author_id: int = _user_id(nullable=False)
    at: datetime = _ts(nullable=False)
    # text, photo, document, voice, video, sticker, audio, animation, video_note
    kind: str = Field(max_length=16)
    text: str | None = Field(default=None, sa_column=Column(Text))
    source_chat_id: int = _user_id(nullable=False)
    source_message_id: int
    # Sent while the ticket was resolved or closed: relayed, marked, the ticket stays as is.
    after_resolution: bool = False
    relay_chat_id: int | None = _user_id()
    relay_message_id: int | None = None
    # queued → delivered | undeliverable
    status: str = Field(default="queued", max_length=16)


class ReplyWait(SQLModel, table=True):
    """A customer waiting for an answer: opened by their message, closed by the next reply."""

    __tablename__ = "reply_wait"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    opened_at: datetime = _ts(nullable=False)
    closed_at: datetime | None = _ts(index=True)
    # The agent whose reply closed it; empty when it closed without one (customer blocked us).
    replier_id: int | None = _user_id()


class CustomerFocus(SQLModel, table=True):
    """The ticket a customer with several open tickets said they are writing about."""

    __tablename__ = "customer_focus"
    customer_id: int = _user_id(primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    # When they were last asked to choose: they are asked once, not on every message.
    asked_at: datetime | None = _ts()
    updated_at: datetime = _ts(nullable=False)
