"""The daily digest: every figure a manager reads about one day, and posting it once a day.

The aggregates come from `scoreboard` and `shop_figures` (computed in the database); this
module decides which day each figure is for, checks the team targets, and declares the JSON
snapshot the scheduled digest is queued with and that `kefu digest --json` prints.

Day semantics for the digest of day D (team time zone): new / resolved tickets and survey
answers are for D−1; open counts are as of the start of D; the refund window is D−30 … D−1;
the scoreboard, top causes and the satisfaction target cover the month of D−1 so far (as
the scoreboard counts it: up to the month's end, or now while it is in progress). The latest
digest is tomorrow's: today so far, marked partial.

JSON conventions: rates and averages are numbers (rates as fractions), `null` where undefined;
money (pay) is a decimal string such as "750.00", so no binary rounding creeps into pay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, TypeAdapter

from bot import clock, outbox
from bot.config import Settings
from bot.db import Database
from bot.i18n import N_
from bot.services import conversation, more_shop_figures, orders, scoreboard, shop_figures, team
from bot.services.conversation import Figures as ConversationFigures
from bot.services.dsr import DsrLatest
from bot.services.errors import InvalidInput
from bot.services.scoreboard import AgentLine
from bot.services.shop_figures import DayPoint, SurveyCounts, TicketCounts, age_hours
from scoring import (
    OverdueRule,
    RefundFigures,
    TargetResult,
    bonus_at_risk,
    day_start_utc,
    local_day,
)
from scoring.figures import dsr_change
from scoring.months import month_period_utc, month_start

log = logging.getLogger(__name__)

NOTICE_KIND = "digest"
# The managers are told, once per day, that the day's digest cannot be built.
FAILED_KIND = "digest-failed"
SERIES_DAYS = 30
OLDEST_SHOWN = 5


# How the few values the JSON writes otherwise than Python holds them are written and read.


def _window_from_json(value: Any) -> Any:
    return (value["start"], value["end"]) if isinstance(value, dict) else value


def _window_json(window: tuple[date, date]) -> dict[str, str]:
    return {"start": window[0].isoformat(), "end": window[1].isoformat()}


def _month_from_json(value: Any) -> Any:
    return date.fromisoformat(value + "-01") if isinstance(value, str) else value


def _cause_from_json(value: Any) -> Any:
    return (value["category"], value["tickets"]) if isinstance(value, dict) else value


def _cause_json(cause: tuple[str, int]) -> dict[str, Any]:
    return {"category": cause[0], "tickets": cause[1]}


Window = Annotated[
    tuple[date, date],
    BeforeValidator(_window_from_json),
    PlainSerializer(_window_json, return_type=dict),
]
Month = Annotated[
    date,
    BeforeValidator(_month_from_json),
    PlainSerializer(lambda month: month.strftime("%Y-%m"), return_type=str),
]
Cause = Annotated[
    tuple[str, int],
    BeforeValidator(_cause_from_json),
    PlainSerializer(_cause_json, return_type=dict),
]


@dataclass(frozen=True)
class RefundTimes:
    """The refund window's refund time and interventions (written in the JSON's `refunds`)."""

    median_refund_hours: float | None = None
    interventions: int = 0
    intervention_rate: float | None = None


@dataclass(frozen=True)
class DsrMove:
    """How each DSR score moved since the entry before the latest."""

    description: float
    service: float
    logistics: float


@dataclass(frozen=True)
class DsrLine:
    """The latest DSR entry up to the digest's day, as the JSON writes it."""

    day: Annotated[date, Field(alias="date")]
    description: float
    service: float
    logistics: float
    change: DsrMove | None


def dsr_line(latest: DsrLatest | None) -> DsrLine | None:
    if latest is None:
        return None
    scores, change = latest.scores, dsr_change(latest.scores, latest.previous)
    return DsrLine(
        day=latest.day,
        description=float(scores.description),
        service=float(scores.service),
        logistics=float(scores.logistics),
        change=None
        if change is None
        else DsrMove(
            description=float(change.description),
            service=float(change.service),
            logistics=float(change.logistics),
        ),
    )


@dataclass(frozen=True)
class Digest:
    """One day's digest; its fields (with their aliases) are the JSON snapshot's schema."""

    day: Annotated[date, Field(alias="date")]
    refund_window: Window
    tickets: TicketCounts
    surveys: SurveyCounts
    # The month's average answer (`surveys.month_average` in the JSON): what the
    # satisfaction target is checked against.
    month_satisfaction: float | None
    refunds: RefundFigures
    month: Month
    currency: str
    agents: tuple[AgentLine, ...]
    targets: tuple[TargetResult, ...]
    causes: Annotated[tuple[Cause, ...], Field(alias="top_causes")]
    series: tuple[DayPoint, ...]
    # The rest of the shop figures (defaults: a snapshot queued before they existed).
    refund_times: RefundTimes = RefundTimes()
    first_time_fix_rate: float | None = None  # team, month to date
    internal_complaints: int = 0  # team, month to date
    dsr: DsrLine | None = None
    # The thresholds `tickets.open_over_3d` / `open_over_5d` were counted with: the follow-ups'
    # (the JSON keys keep the domain's default days in their names).
    overdue: OverdueRule = field(default_factory=OverdueRule)
    # Set when the digest covers a day not over yet (tomorrow's digest: today so far): when
    # the figures were taken, in the team's zone. None for a whole day.
    partial_as_of: datetime | None = None
    # The customer conversation: yesterday's messages and replies, the reply clock now.
    conversation: ConversationFigures | None = None

    @property
    def yesterday(self) -> date:
        return self.day - timedelta(days=1)

    @property
    def bonus_at_risk(self) -> bool:
        return bonus_at_risk(self.targets)

    def target(self, name: str) -> TargetResult | None:
        return next((result for result in self.targets if result.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The digest as plain JSON (see the module docstring for the conventions)."""
        data = _SCHEMA.dump_python(self, mode="json", by_alias=True)
        # Two places where the snapshot's layout is not the fields': the month's average sits
        # with the other survey figures, and the derived bonus flag is written for readers.
        data["surveys"]["month_average"] = data.pop("month_satisfaction")
        data["refunds"].update(data.pop("refund_times"))
        data["bonus_at_risk"] = self.bonus_at_risk
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Digest:
        """The inverse of `to_json`: how a queued snapshot is rendered at send time."""
        refunds = dict(data["refunds"])
        times = {name: refunds.pop(name) for name in _REFUND_TIMES if name in refunds}
        fields = {
            **data,
            "month_satisfaction": data["surveys"]["month_average"],
            "refunds": refunds,
            "refund_times": times,
        }
        return _SCHEMA.validate_python(fields)


_REFUND_TIMES = ("median_refund_hours", "interventions", "intervention_rate")


_SCHEMA = TypeAdapter(Digest)


# ------------------------------------------------------------------ the digest


def digest_day(text: str | None, settings: Settings) -> date:
    """The day of a digest asked for, in chat or on the command line: YYYY-MM-DD, by default
    today's (about yesterday); at most tomorrow's, which covers today so far."""
    today = local_day(clock.now(), settings.team.tz)
    day = orders.parse_day(text) if text else today
    latest = today + timedelta(days=1)
    if day > latest:
        raise InvalidInput(
            N_(
                "The digest of %(day)s covers %(covered)s, which has not begun. "
                "The latest is %(latest)s: today so far."
            ),
            day=day.isoformat(),
            covered=(day - timedelta(days=1)).isoformat(),
            latest=latest.isoformat(),
        )
    return day


async def build_digest(db: Database, settings: Settings, day: date) -> Digest:
    """Everything the digest of `day` shows (see the module docstring for which day is which)."""
    tz = settings.team.tz
    now = clock.now()
    partial_as_of = now.astimezone(tz) if day_start_utc(day, tz) > now else None
    yesterday = day - timedelta(days=1)
    month = month_start(yesterday)
    period = month_period_utc(month, tz, clock.now())
    counts = await shop_figures.ticket_counts(
        db,
        day=day,
        tz=tz,
        remind_after=settings.followup.overdue.remind_after,
        escalate_after=settings.followup.overdue.escalate_after,
        oldest=OLDEST_SHOWN,
    )
    surveys = await shop_figures.survey_counts(db, day=day, tz=tz)
    window, refunds = await shop_figures.refund_figures(db, day=day, tz=tz)
    scores = await scoreboard.scoreboard(db, month=month, scoring=settings.scoring, tz=tz)
    causes = await shop_figures.top_causes(db, start=period[0], end=period[1])
    series = await shop_figures.daily_series(db, day=day, tz=tz, days=SERIES_DAYS)
    satisfaction = await shop_figures.team_satisfaction(db, start=period[0], end=period[1])
    more = await more_shop_figures.gather(
        db, month=month, tz=tz, window=window, orders=refunds.orders, dsr_day=yesterday
    )
    talk = await conversation.figures(
        db, start=day_start_utc(yesterday, tz), end=day_start_utc(day, tz), now=clock.now()
    )
    reply_medians = await conversation.agent_medians(db, start=period[0], end=period[1])
    targets = shop_figures.team_targets(
        settings.targets,
        refunds,
        satisfaction,
        counts.open_over_5d,
        more,
        talk.median_reply_minutes,
    )
    return Digest(
        day=day,
        refund_window=window,
        # Ages at the JSON's precision, so the digest built and its queued snapshot read alike.
        tickets=replace(
            counts,
            oldest=tuple(
                replace(old, age=timedelta(hours=age_hours(old.age))) for old in counts.oldest
            ),
        ),
        surveys=surveys,
        month_satisfaction=satisfaction,
        refunds=refunds,
        month=month,
        currency=settings.scoring.currency,
        agents=scoreboard.agent_lines(
            scores,
            more,
            settings.scoring,
            bonus_forfeited=bonus_at_risk(targets),
            reply_medians=reply_medians,
        ),
        targets=targets,
        causes=tuple((str(name), int(count)) for name, count in causes),
        series=tuple(series),
        refund_times=RefundTimes(
            median_refund_hours=more.median_refund_hours,
            interventions=more.interventions,
            intervention_rate=more.intervention_rate,
        ),
        first_time_fix_rate=more.first_time_fix.rate,
        internal_complaints=more.internal_complaints,
        dsr=dsr_line(more.dsr),
        overdue=settings.followup.overdue,
        partial_as_of=partial_as_of,
        conversation=talk,
    )


# ------------------------------------------------------------------ posting it once a day


def digest_key(day: date) -> str:
    return outbox.key("digest", day.isoformat())


def due_day(settings: Settings, now: datetime) -> date:
    """The latest day whose digest time has passed in the team zone: today, or else yesterday."""
    local = now.astimezone(settings.team.tz)
    if local.time() >= settings.digest.at:
        return local.date()
    return local.date() - timedelta(days=1)


async def _claimed(db: Database, key: str) -> bool:
    async with db.transaction() as session:
        return await outbox.exists_key(session, key)


async def claim_due(db: Database, settings: Settings) -> date | None:
    """Queue the latest due digest for the team chat unless already queued; the day if queued.

    The outbox key `digest:<day>` is the claim: whichever replica, restart or re-run inserts
    it first posts that day's digest, every other attempt is a no-op. A digest missed while
    the bot was down is therefore posted by the first run after start, once.
    """
    day = due_day(settings, clock.now())
    key = digest_key(day)
    # Cheap check first, so replicas and repeated runs do not aggregate for nothing.
    if await _claimed(db, key):
        return None
    chat_id = await team.team_chat_id(db)
    if chat_id is None:
        log.warning("digest for %s not posted: no team chat is set (run /setup)", day)
        return None
    snapshot = (await build_digest(db, settings, day)).to_json()
    async with db.transaction() as session:
        # Two rows, so a failed text never resends the chart (and vice versa); the text row
        # renders to nothing when the whole digest fits in the chart's caption.
        # One chain: the text follows the chart even when two replicas deliver at once.
        queued = await outbox.enqueue(
            session,
            key=key,
            kind=NOTICE_KIND,
            chat_id=chat_id,
            payload={"part": "chart", "digest": snapshot},
            chain=key,
        )
        if queued:
            await outbox.enqueue(
                session,
                key=outbox.key(key, "text"),
                kind=NOTICE_KIND,
                chat_id=chat_id,
                payload={"part": "text", "digest": snapshot},
                chain=key,
            )
    return day if queued else None


async def report_failure(db: Database, *, day: date, reason: str) -> bool:
    """Tell the team chat, once for `day`, that its digest cannot be built and why.

    True if this call queued the message (the first to report it, across replicas and
    restarts); False if it was already told, or there is no team chat to tell.
    """
    chat_id = await team.team_chat_id(db)
    if chat_id is None:
        return False
    async with db.transaction() as session:
        return await outbox.enqueue(
            session,
            key=f"{FAILED_KIND}:{day.isoformat()}",
            kind=FAILED_KIND,
            chat_id=chat_id,
            payload={"day": day.isoformat(), "reason": reason},
        )
