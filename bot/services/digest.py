"""The daily digest and the monthly report: every figure a manager reads, for one day or month.

The aggregates come from `metrics` (computed in the database); this module decides which day
each figure is for, checks the team targets, and turns the result into plain JSON — the
snapshot the scheduled digest is queued with and what `kefu digest --json` prints.

Day semantics for the digest of day D (team time zone): new / resolved tickets and survey
answers are for D−1; open counts are as of the start of D; the refund window is D−30 … D−1;
the scoreboard, top causes and the satisfaction target cover the month of D−1 so far (as
the scoreboard counts it: up to the month's end, or now while it is in progress). The latest
digest is tomorrow's: today so far, marked partial.

JSON conventions: rates and averages are numbers (rates as fractions), `null` where undefined;
money (pay) is a decimal string such as "750.00", so no binary rounding creeps into pay.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import select

from bot import clock, outbox
from bot.config import Settings
from bot.db import Database
from bot.i18n import N_
from bot.models import Outbox
from bot.services import metrics, orders, team
from bot.services.errors import InvalidInput
from scoring.refunds import RefundFigures, day_start_utc, local_day
from scoring.targets import (
    DISPUTE_REFUND_RATE_MAX,
    OPEN_OVER_5D_MAX,
    QUALITY_REFUND_RATE_MAX,
    REFUND_RATE_MAX,
    SATISFACTION_MIN,
    TargetResult,
    bonus_at_risk,
    check_targets,
)

log = logging.getLogger(__name__)

NOTICE_KIND = "digest"
# The managers are told, once per day, that the day's digest cannot be built.
FAILED_KIND = "digest-failed"
SERIES_DAYS = 30
OLDEST_SHOWN = 5
# The digest's "open over 3 days / over 5 days" (open_over_3d / open_over_5d) are the domain's
# fixed thresholds, whatever durations the follow-ups are configured with.
OVER_3D = timedelta(days=3)
OVER_5D = timedelta(days=5)


# `metrics.AgentScore` flattened: the JSON snapshot, the pay sheet and the chat lines list the
# four indicators side by side, where the scoreboard nests them in `Indicators`.
@dataclass(frozen=True)
class AgentLine:
    user_id: int
    name: str
    tickets: int
    satisfaction: float | None
    speed: float | None
    quality: float | None
    skill: float | None
    total: float | None
    max_total: int
    pay: Decimal | None


@dataclass(frozen=True)
class Digest:
    day: date
    refund_window: tuple[date, date]
    tickets: metrics.TicketCounts
    surveys: metrics.SurveyCounts
    # The month's average answer (`surveys.month_average` in the JSON): what the
    # satisfaction target is checked against.
    month_satisfaction: float | None
    refunds: RefundFigures
    month: date
    agents: tuple[AgentLine, ...]
    targets: tuple[TargetResult, ...]
    causes: tuple[tuple[str, int], ...]
    series: tuple[metrics.DayPoint, ...]
    currency: str
    # Set when the digest covers a day not over yet (tomorrow's digest: today so far): when
    # the figures were taken, in the team's zone. None for a whole day.
    partial_as_of: datetime | None = None

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
        return {
            "date": self.day.isoformat(),
            "partial_as_of": self.partial_as_of.isoformat() if self.partial_as_of else None,
            "refund_window": {
                "start": self.refund_window[0].isoformat(),
                "end": self.refund_window[1].isoformat(),
            },
            "tickets": {
                "new": self.tickets.new,
                "resolved": self.tickets.resolved,
                "open": self.tickets.open,
                "open_over_3d": self.tickets.open_over_3d,
                "open_over_5d": self.tickets.open_over_5d,
                "oldest": [
                    {
                        "number": t.number,
                        "agent": t.agent_name,
                        "age_hours": _age_hours(t.age),
                    }
                    for t in self.tickets.oldest
                ],
            },
            "surveys": {
                "sent": self.surveys.sent,
                "answered": self.surveys.answered,
                "average": self.surveys.average,
                "month_average": self.month_satisfaction,
            },
            "refunds": {
                "orders": self.refunds.orders,
                "refunds": self.refunds.refunds,
                "refund_rate": self.refunds.refund_rate,
                "dispute_refunds": self.refunds.dispute_refunds,
                "dispute_refund_rate": self.refunds.dispute_refund_rate,
                "quality_refunds": self.refunds.quality_refunds,
                "quality_refund_rate": self.refunds.quality_refund_rate,
            },
            "month": self.month.strftime("%Y-%m"),
            "currency": self.currency,
            "agents": [_agent_json(agent) for agent in self.agents],
            "targets": [
                {"name": t.name, "target": t.target, "actual": t.actual, "met": t.met}
                for t in self.targets
            ],
            "bonus_at_risk": self.bonus_at_risk,
            "top_causes": [{"category": name, "tickets": count} for name, count in self.causes],
            "series": [
                {
                    "day": point.day.isoformat(),
                    "new": point.new,
                    "resolved": point.resolved,
                    "orders": point.orders,
                    "refunds": point.refunds,
                    "refund_rate": point.refund_rate,
                }
                for point in self.series
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Digest:
        """The inverse of `to_json`: how a queued snapshot is rendered at send time."""
        tickets, surveys, refunds = data["tickets"], data["surveys"], data["refunds"]
        return cls(
            day=date.fromisoformat(data["date"]),
            partial_as_of=(
                datetime.fromisoformat(data["partial_as_of"]) if data.get("partial_as_of") else None
            ),
            refund_window=(
                date.fromisoformat(data["refund_window"]["start"]),
                date.fromisoformat(data["refund_window"]["end"]),
            ),
            tickets=metrics.TicketCounts(
                new=tickets["new"],
                resolved=tickets["resolved"],
                open=tickets["open"],
                open_over_3d=tickets["open_over_3d"],
                open_over_5d=tickets["open_over_5d"],
                oldest=tuple(
                    metrics.OldTicket(t["number"], t["agent"], timedelta(hours=t["age_hours"]))
                    for t in tickets["oldest"]
                ),
            ),
            surveys=metrics.SurveyCounts(
                sent=surveys["sent"], answered=surveys["answered"], average=surveys["average"]
            ),
            month_satisfaction=surveys["month_average"],
            refunds=RefundFigures(**refunds),
            month=date.fromisoformat(data["month"] + "-01"),
            agents=tuple(_agent_from_json(agent) for agent in data["agents"]),
            targets=tuple(TargetResult(**target) for target in data["targets"]),
            causes=tuple((c["category"], c["tickets"]) for c in data["top_causes"]),
            series=tuple(
                metrics.DayPoint(
                    day=date.fromisoformat(p["day"]),
                    new=p["new"],
                    resolved=p["resolved"],
                    orders=p["orders"],
                    refunds=p["refunds"],
                    refund_rate=p["refund_rate"],
                )
                for p in data["series"]
            ),
            currency=data["currency"],
        )


def _age_hours(age: timedelta) -> float:
    """An age as the JSON keeps it: hours, to the hundredth."""
    return round(age.total_seconds() / 3600, 2)


def _agent_json(agent: AgentLine) -> dict[str, Any]:
    return {
        "user_id": agent.user_id,
        "name": agent.name,
        "tickets": agent.tickets,
        "satisfaction": agent.satisfaction,
        "speed": agent.speed,
        "quality": agent.quality,
        "skill": agent.skill,
        "total": agent.total,
        "max_total": agent.max_total,
        "pay": None if agent.pay is None else str(agent.pay),
    }


def _agent_from_json(data: dict[str, Any]) -> AgentLine:
    pay = data["pay"]
    return AgentLine(**{**data, "pay": None if pay is None else Decimal(pay)})


# ------------------------------------------------------------------ days and months


def default_report_month(settings: Settings) -> date:
    """The month of yesterday: on the 1st, the month just finished."""
    today = local_day(clock.now(), settings.team.tz)
    return metrics.month_start(today - timedelta(days=1))


# ------------------------------------------------------------------ the digest


def _agents(scores: list[metrics.AgentScore]) -> tuple[AgentLine, ...]:
    return tuple(
        AgentLine(
            user_id=score.user_id,
            name=score.name,
            tickets=score.tickets,
            satisfaction=score.indicators.satisfaction,
            speed=score.indicators.speed,
            quality=score.indicators.quality,
            skill=score.indicators.skill,
            total=score.total,
            max_total=score.max_total,
            pay=score.pay,
        )
        for score in scores
    )


def _targets(
    settings: Settings, refunds: RefundFigures, satisfaction: float | None, open_over_5d: int
) -> tuple[TargetResult, ...]:
    configured = settings.targets
    return tuple(
        check_targets(
            {
                REFUND_RATE_MAX: configured.refund_rate_max,
                DISPUTE_REFUND_RATE_MAX: configured.dispute_refund_rate_max,
                QUALITY_REFUND_RATE_MAX: configured.quality_refund_rate_max,
                SATISFACTION_MIN: configured.satisfaction_min,
                OPEN_OVER_5D_MAX: configured.open_over_5d_max,
            },
            {
                REFUND_RATE_MAX: refunds.refund_rate,
                DISPUTE_REFUND_RATE_MAX: refunds.dispute_refund_rate,
                QUALITY_REFUND_RATE_MAX: refunds.quality_refund_rate,
                SATISFACTION_MIN: satisfaction,
                OPEN_OVER_5D_MAX: open_over_5d,
            },
        )
    )


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
    month = metrics.month_start(yesterday)
    period = metrics.month_period_utc(month, tz)
    counts = await metrics.ticket_counts(
        db,
        day=day,
        tz=tz,
        remind_after=OVER_3D,
        escalate_after=OVER_5D,
        oldest=OLDEST_SHOWN,
    )
    surveys = await metrics.survey_counts(db, day=day, tz=tz)
    window, refunds = await metrics.refund_figures(db, day=day, tz=tz)
    scores = await metrics.scoreboard(db, month=month, scoring=settings.scoring, tz=tz)
    causes = await metrics.top_causes(db, start=period[0], end=period[1])
    series = await metrics.daily_series(db, day=day, tz=tz, days=SERIES_DAYS)
    satisfaction = await metrics.team_satisfaction(db, start=period[0], end=period[1])
    return Digest(
        day=day,
        refund_window=window,
        # Ages at the JSON's precision, so the digest built and its queued snapshot read alike.
        tickets=replace(
            counts,
            oldest=tuple(
                replace(old, age=timedelta(hours=_age_hours(old.age))) for old in counts.oldest
            ),
        ),
        surveys=surveys,
        month_satisfaction=satisfaction,
        refunds=refunds,
        month=month,
        agents=_agents(scores),
        targets=_targets(settings, refunds, satisfaction, counts.open_over_5d),
        causes=tuple((str(name), int(count)) for name, count in causes),
        series=tuple(series),
        currency=settings.scoring.currency,
        partial_as_of=partial_as_of,
    )


# ------------------------------------------------------------------ posting it once a day


def digest_key(day: date) -> str:
    return f"digest:{day.isoformat()}"


def due_day(settings: Settings, now: datetime) -> date:
    """The latest day whose digest time has passed in the team zone: today, or else yesterday."""
    local = now.astimezone(settings.team.tz)
    if local.time() >= settings.digest.at:
        return local.date()
    return local.date() - timedelta(days=1)


async def _claimed(db: Database, key: str) -> bool:
    async with db.transaction() as session:
        rows = await session.exec(select(Outbox.id).where(Outbox.dedupe_key == key))
        return rows.first() is not None


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
        queued = await outbox.enqueue(
            session,
            key=key,
            kind=NOTICE_KIND,
            chat_id=chat_id,
            payload={"part": "chart", "digest": snapshot},
        )
        if queued:
            await outbox.enqueue(
                session,
                key=f"{key}:text",
                kind=NOTICE_KIND,
                chat_id=chat_id,
                payload={"part": "text", "digest": snapshot},
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


# ------------------------------------------------------------------ the monthly report


@dataclass(frozen=True)
class MonthlyReport:
    month: date
    # The day the team figures are taken on: the first of the next month, or today.
    as_of: date
    agents: tuple[AgentLine, ...]
    targets: tuple[TargetResult, ...]
    currency: str

    @property
    def bonus_at_risk(self) -> bool:
        return bonus_at_risk(self.targets)

    @property
    def targets_met(self) -> bool | None:
        """True when every target with data is met; None when no target could be checked."""
        checked = [t.met for t in self.targets if t.met is not None]
        if not checked:
            return None
        return all(checked)

    def csv_bytes(self) -> bytes:
        """The pay sheet; UTF-8 with a BOM so spreadsheet programs show Chinese names right."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        met = {None: "", True: "yes", False: "no"}[self.targets_met]
        for agent in self.agents:
            writer.writerow(
                [
                    agent.name,
                    agent.user_id,
                    agent.tickets,
                    _cell(agent.satisfaction),
                    _cell(agent.speed),
                    _cell(agent.quality),
                    _cell(agent.skill),
                    _cell(agent.total),
                    agent.max_total,
                    "" if agent.pay is None else str(agent.pay),
                    self.currency,
                    met,
                ]
            )
        return buffer.getvalue().encode("utf-8-sig")

    @property
    def csv_filename(self) -> str:
        return f"kefu-report-{self.month:%Y-%m}.csv"


CSV_HEADER = (
    "agent",
    "user_id",
    "tickets",
    "satisfaction",
    "speed",
    "quality",
    "skill",
    "total",
    "max_total",
    "pay",
    "currency",
    "team_targets_met",
)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


async def build_report(db: Database, settings: Settings, month: date) -> MonthlyReport:
    """The month's scoreboard and pay, with the team targets as at the month's end (or today)."""
    tz = settings.team.tz
    month = metrics.month_start(month)
    # The scoreboard refuses a month that has not started, with a message the user can read.
    scores = await metrics.scoreboard(db, month=month, scoring=settings.scoring, tz=tz)
    as_of = min(metrics.next_month(month), local_day(clock.now(), tz))
    _window, refunds = await metrics.refund_figures(db, day=as_of, tz=tz)
    counts = await metrics.ticket_counts(
        db,
        day=as_of,
        tz=tz,
        remind_after=OVER_3D,
        escalate_after=OVER_5D,
        oldest=0,
    )
    start, end = metrics.month_period_utc(month, tz)
    satisfaction = await metrics.team_satisfaction(db, start=start, end=end)
    return MonthlyReport(
        month=month,
        as_of=as_of,
        agents=_agents(scores),
        targets=_targets(settings, refunds, satisfaction, counts.open_over_5d),
        currency=settings.scoring.currency,
    )
