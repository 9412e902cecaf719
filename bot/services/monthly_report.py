"""The monthly report: a month's scoreboard and pay sheet, with the team targets as at its end."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from bot import clock
from bot.config import Settings
from bot.db import Database
from bot.services import conversation, more_shop_figures, scoreboard, shop_figures
from bot.services.scoreboard import AgentLine
from scoring import OverdueRule, TargetResult, bonus_at_risk, local_day
from scoring.months import month_period_utc, month_start, next_month


def default_report_month(settings: Settings) -> date:
    """The month of yesterday: on the 1st, the month just finished."""
    today = local_day(clock.now(), settings.team.tz)
    return month_start(today - timedelta(days=1))


@dataclass(frozen=True)
class MonthlyReport:
    month: date
    # The day the team figures are taken on: the first of the next month, or today.
    as_of: date
    agents: tuple[AgentLine, ...]
    targets: tuple[TargetResult, ...]
    currency: str
    # The follow-up thresholds the open-ticket target was counted with.
    overdue: OverdueRule

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
                    _cell(agent.first_time_fix_rate),
                    agent.internal_complaints,
                    str(agent.sales),
                    *(
                        ("", "", "")
                        if agent.pay_parts is None
                        else (
                            str(agent.pay_parts.base),
                            str(agent.pay_parts.commission),
                            str(agent.pay_parts.bonus),
                        )
                    ),
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
    "first_time_fix_rate",
    "internal_complaints",
    "sales",
    "pay_base",
    "commission",
    "bonus",
)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


async def build_report(
    db: Database, settings: Settings, month: date, *, agent_id: int | None = None
) -> MonthlyReport:
    """The month's scoreboard and pay, with the team targets as at the month's end (or today).

    With `agent_id`, only that person's row (as `/score` shows it); the targets, and so the
    bonus, are the team's all the same.
    """
    tz = settings.team.tz
    month = month_start(month)
    # The scoreboard refuses a month that has not started, with a message the user can read.
    scores = await scoreboard.scoreboard(
        db, month=month, scoring=settings.scoring, tz=tz, agent_id=agent_id
    )
    as_of = min(next_month(month), local_day(clock.now(), tz))
    window, refunds = await shop_figures.refund_figures(db, day=as_of, tz=tz)
    counts = await shop_figures.ticket_counts(
        db,
        day=as_of,
        tz=tz,
        remind_after=settings.followup.overdue.remind_after,
        escalate_after=settings.followup.overdue.escalate_after,
        oldest=0,
    )
    start, end = month_period_utc(month, tz, clock.now())
    satisfaction = await shop_figures.team_satisfaction(db, start=start, end=end)
    # The DSR as the month ended: its last day, or yesterday while it is in progress.
    more = await more_shop_figures.gather(
        db,
        month=month,
        tz=tz,
        window=window,
        orders=refunds.orders,
        dsr_day=as_of - timedelta(days=1),
    )
    reply_medians = await conversation.agent_medians(db, start=start, end=end)
    month_reply = await conversation.median_between(db, start=start, end=end)
    targets = shop_figures.team_targets(
        settings.targets, refunds, satisfaction, counts.open_over_5d, more, month_reply
    )
    return MonthlyReport(
        month=month,
        as_of=as_of,
        agents=scoreboard.agent_lines(
            scores,
            more,
            settings.scoring,
            bonus_forfeited=bonus_at_risk(targets),
            reply_medians=reply_medians,
        ),
        targets=targets,
        currency=settings.scoring.currency,
        overdue=settings.followup.overdue,
    )
