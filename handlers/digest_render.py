"""How the daily digest and the monthly report read in chat: short lines, sections, phone first.

Pure functions of the `Digest` / `MonthlyReport` data, in the current language; missing
values show as "—", targets as ✅ met / ❌ missed. `plain()` turns the HTML into text for
the command line.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from decimal import Decimal

from bot.i18n import N_, _
from bot.models import Category
from bot.services.digest import Digest, DsrLine
from bot.services.monthly_report import MonthlyReport
from bot.services.scoreboard import AgentLine
from handlers.markup import category_name, days, duration, esc
from scoring import OverdueRule
from scoring.targets import (
    DISPUTE_REFUND_RATE_MAX,
    DSR_MIN,
    FIRST_TIME_FIX_RATE_MIN,
    INTERNAL_COMPLAINTS_MAX,
    INTERVENTION_RATE_MAX,
    MEDIAN_REPLY_MINUTES_MAX,
    OPEN_OVER_5D_MAX,
    QUALITY_REFUND_RATE_MAX,
    RATE_TARGETS,
    REFUND_HOURS_MAX,
    REFUND_RATE_MAX,
    SATISFACTION_MIN,
    TargetResult,
)

DASH = "—"
# Telegram's limits: a photo caption and a message.
CAPTION_LIMIT = 1024
MESSAGE_LIMIT = 4096

TARGET_LABELS = {
    REFUND_RATE_MAX: N_("Refund rate"),
    DISPUTE_REFUND_RATE_MAX: N_("Dispute refund rate"),
    QUALITY_REFUND_RATE_MAX: N_("Quality refund rate"),
    SATISFACTION_MIN: N_("Satisfaction (month)"),
    OPEN_OVER_5D_MAX: N_("Open over %(days)s days"),
    REFUND_HOURS_MAX: N_("Refund time, median hours"),
    INTERVENTION_RATE_MAX: N_("Platform intervention rate"),
    DSR_MIN: N_("DSR, lowest of the three"),
    INTERNAL_COMPLAINTS_MAX: N_("Internal complaints (month)"),
    FIRST_TIME_FIX_RATE_MIN: N_("First-time fix (month)"),
    MEDIAN_REPLY_MINUTES_MAX: N_("Median reply time (minutes)"),
}


def target_label(name: str, overdue: OverdueRule) -> str:
    """A team target's name as people read it; the open-ticket one with the configured days."""
    label = _(TARGET_LABELS[name])
    if name == OPEN_OVER_5D_MAX:
        return label % {"days": days(overdue.escalate_after_days)}
    return label


def percent(rate: float | None) -> str:
    return DASH if rate is None else f"{rate * 100:.2f}%"


def score(value: float | None) -> str:
    """An indicator or total: "8.67", "10" — trailing zeros dropped, "—" when missing."""
    if value is None:
        return DASH
    return f"{value:.2f}".rstrip("0").rstrip(".")


def money(amount: Decimal | None, currency: str) -> str:
    return DASH if amount is None else f"{amount:,.2f} {esc(currency)}"


def _bound(result: TargetResult) -> str:
    sign = "≤" if result.name.endswith("_max") else "≥"
    return f"{sign} {_figure(result.name, result.target)}"


def _figure(name: str, value: float | None) -> str:
    return percent(value) if name in RATE_TARGETS else score(value)


def mark(result: TargetResult | None) -> str:
    """ " ✅ (≤ 3.00%)" after a figure with a target; nothing when there is no target."""
    if result is None:
        return ""
    symbol = {True: "✅", False: "❌", None: DASH}[result.met]
    return f" {symbol} ({_bound(result)})"


def _category(name: str) -> str:
    try:
        return category_name(Category(name))
    except ValueError:
        return esc(name)


def _agent_lines(rank: int, agent: AgentLine, currency: str) -> list[str]:
    head = _("%(rank)s. %(name)s — %(total)s/%(max)s · %(pay)s") % {
        "rank": rank,
        "name": esc(agent.name),
        "total": score(agent.total),
        "max": agent.max_total,
        "pay": money(agent.pay, currency),
    }
    detail = _(
        "    %(tickets)s tickets · satisfaction %(satisfaction)s · speed %(speed)s · "
        "quality %(quality)s · skill %(skill)s"
    ) % {
        "tickets": agent.tickets,
        "satisfaction": score(agent.satisfaction),
        "speed": score(agent.speed),
        "quality": score(agent.quality),
        "skill": score(agent.skill),
    }
    lines = [head, detail]
    parts = agent.pay_parts
    lines.append(
        _(
            "    first-time fix %(fix)s · complaints %(complaints)s · pay: base %(base)s + "
            "commission %(commission)s + bonus %(bonus)s"
        )
        % {
            "fix": percent(agent.first_time_fix_rate),
            "complaints": agent.internal_complaints,
            "base": DASH if parts is None else f"{parts.base:,.2f}",
            "commission": DASH if parts is None else f"{parts.commission:,.2f}",
            "bonus": DASH if parts is None else f"{parts.bonus:,.2f}",
        }
    )
    if agent.median_reply_minutes is not None:
        lines[-1] += " · " + _("median reply %(minutes)s") % {
            "minutes": minutes(agent.median_reply_minutes)
        }
    return lines


def minutes(value: float | None) -> str:
    """A reply time: "12.5 min", "—" when there is none."""
    return DASH if value is None else _("%(minutes)s min") % {"minutes": score(value)}


def _conversation_lines(digest: Digest) -> list[str]:
    talk = digest.conversation
    if talk is None:
        return []
    return [
        "",
        _("<b>Customer conversation</b>"),
        _(
            "Yesterday: %(messages)s customer messages · %(replies)s replies · median reply %(median)s"
        )
        % {
            "messages": talk.customer_messages,
            "replies": talk.replies,
            "median": minutes(talk.median_reply_minutes),
        }
        + mark(digest.target(MEDIAN_REPLY_MINUTES_MAX)),
        _("Waiting for an answer now: %(waiting)s · longest %(oldest)s")
        % {"waiting": talk.awaiting_reply, "oldest": minutes(talk.oldest_wait_minutes)},
    ]


def dsr_line(latest: DsrLine | None, target: TargetResult | None) -> str:
    """The latest DSR and how each score moved since the entry before it."""
    if latest is None:
        return _("DSR: %(none)s") % {"none": DASH} + mark(target)
    change = latest.change

    def shown(name: str) -> str:
        moved = "" if change is None else f" ({getattr(change, name):+.2f})"
        return f"{getattr(latest, name):.2f}{moved}"

    return _(
        "DSR (%(day)s): description %(description)s · service %(service)s · logistics %(logistics)s"
    ) % {
        "day": latest.day.isoformat(),
        "description": shown("description"),
        "service": shown("service"),
        "logistics": shown("logistics"),
    } + mark(target)


def _scoreboard(agents: Sequence[AgentLine], currency: str) -> list[list[str]]:
    """One block of lines per agent, so a long team can be cut between agents."""
    if not agents:
        return [[_("No agents yet.")]]
    return [_agent_lines(rank, agent, currency) for rank, agent in enumerate(agents, start=1)]


def _fit(head: list[str], blocks: list[list[str]], tail: list[str], limit: int) -> str:
    """Join head, as many agent blocks as fit, and tail, saying how many agents were left out."""
    kept = list(blocks)
    while True:
        lines = head + [line for block in kept for line in block]
        if len(kept) < len(blocks):
            lines.append(
                _("… and %(count)s more agents: see /report.") % {"count": len(blocks) - len(kept)}
            )
        text = "\n".join(lines + tail)
        if len(text) <= limit or not kept:
            return text
        kept.pop()


def digest_text(digest: Digest, *, limit: int = MESSAGE_LIMIT) -> str:
    """The whole digest as one HTML message of at most `limit` characters."""
    tickets, surveys, refunds = digest.tickets, digest.surveys, digest.refunds
    head = [
        _("📊 <b>Daily digest · %(day)s</b>") % {"day": digest.day.isoformat()},
        *_partial(digest),
        "",
        _("<b>Yesterday (%(day)s)</b>") % {"day": digest.yesterday.isoformat()},
        _("New %(new)s · resolved %(resolved)s")
        % {"new": tickets.new, "resolved": tickets.resolved},
        _("Surveys: %(sent)s sent · %(answered)s answered · average %(average)s")
        % {
            "sent": surveys.sent,
            "answered": surveys.answered,
            "average": score(surveys.average),
        },
        _("Satisfaction this month: %(average)s") % {"average": score(digest.month_satisfaction)}
        + mark(digest.target(SATISFACTION_MIN)),
        "",
        _("<b>Open tickets</b>"),
        _("Open %(open)s · over %(remind)s days %(over3)s · over %(escalate)s days %(over5)s")
        % {
            "open": tickets.open,
            "remind": days(digest.overdue.remind_after_days),
            "over3": tickets.open_over_3d,
            "escalate": days(digest.overdue.escalate_after_days),
            "over5": tickets.open_over_5d,
        }
        + mark(digest.target(OPEN_OVER_5D_MAX)),
    ]
    if tickets.oldest:
        head.append(_("Oldest:"))
        head += [
            _("#%(number)s · %(agent)s · %(age)s")
            % {
                "number": old.number,
                "agent": esc(old.agent_name),
                "age": duration(old.age),
            }
            for old in tickets.oldest
        ]
    head += _conversation_lines(digest)
    head += [
        "",
        _("<b>Refunds, last 30 days</b> (%(start)s – %(end)s)")
        % {
            "start": digest.refund_window[0].isoformat(),
            "end": digest.refund_window[1].isoformat(),
        },
        _("Orders: %(orders)s") % {"orders": refunds.orders},
        _("Refunds: %(count)s · %(rate)s")
        % {"count": refunds.refunds, "rate": percent(refunds.refund_rate)}
        + mark(digest.target(REFUND_RATE_MAX)),
        _("Dispute refunds: %(count)s · %(rate)s")
        % {"count": refunds.dispute_refunds, "rate": percent(refunds.dispute_refund_rate)}
        + mark(digest.target(DISPUTE_REFUND_RATE_MAX)),
        _("Quality refunds: %(count)s · %(rate)s")
        % {"count": refunds.quality_refunds, "rate": percent(refunds.quality_refund_rate)}
        + mark(digest.target(QUALITY_REFUND_RATE_MAX)),
        _("Refund time, median: %(hours)s h")
        % {"hours": score(digest.refund_times.median_refund_hours)}
        + mark(digest.target(REFUND_HOURS_MAX)),
        _("Platform interventions: %(count)s · %(rate)s")
        % {
            "count": digest.refund_times.interventions,
            "rate": percent(digest.refund_times.intervention_rate),
        }
        + mark(digest.target(INTERVENTION_RATE_MAX)),
        "",
        _("<b>Shop this month</b>"),
        _("First-time fix: %(rate)s") % {"rate": percent(digest.first_time_fix_rate)}
        + mark(digest.target(FIRST_TIME_FIX_RATE_MIN)),
        _("Internal complaints: %(count)s") % {"count": digest.internal_complaints}
        + mark(digest.target(INTERNAL_COMPLAINTS_MAX)),
        dsr_line(digest.dsr, digest.target(DSR_MIN)),
    ]
    head += _bonus_lines(digest.targets)
    head += ["", _("<b>Top causes this month</b>")]
    if digest.causes:
        head.append(" · ".join(f"{_category(name)} {count}" for name, count in digest.causes))
    else:
        head.append(DASH)
    head += ["", _("<b>Scoreboard · %(month)s</b>") % {"month": f"{digest.month:%Y-%m}"}]
    return _fit(head, _scoreboard(digest.agents, digest.currency), [], limit)


def _bonus_lines(targets: Sequence[TargetResult]) -> list[str]:
    if not targets:
        return []
    if any(result.met is False for result in targets):
        return [_("❌ <b>Team bonus at risk</b>: a target is missed.")]
    return [_("✅ Every target with data is met.")]


def _partial(digest: Digest) -> list[str]:
    """The warning a digest of a day not over yet carries, right under its title."""
    if digest.partial_as_of is None:
        return []
    return [
        _("⏳ <b>Partial</b>: %(day)s is not over; figures as of %(time)s.")
        % {"day": digest.yesterday.isoformat(), "time": f"{digest.partial_as_of:%H:%M}"}
    ]


def digest_caption(digest: Digest) -> tuple[str, bool]:
    """The chart's caption, and whether the whole digest fits in it (no separate text then)."""
    text = digest_text(digest)
    if len(text) <= CAPTION_LIMIT:
        return text, True
    title = _("📊 <b>Daily digest · %(day)s</b>") % {"day": digest.day.isoformat()}
    return "\n".join([title, *_partial(digest)]), False


def report_text(report: MonthlyReport, *, limit: int = MESSAGE_LIMIT) -> str:
    """The monthly pay table as one HTML message; the CSV attached to it has every row."""
    head = [
        _("🧾 <b>Monthly report · %(month)s</b>") % {"month": f"{report.month:%Y-%m}"},
        _("Team figures as of %(day)s.") % {"day": report.as_of.isoformat()},
        "",
    ]
    tail = ["", _("<b>Team targets</b>")]
    if report.targets:
        for result in report.targets:
            actual = _figure(result.name, result.actual)
            tail.append(f"{target_label(result.name, report.overdue)}: {actual}{mark(result)}")
        if report.bonus_at_risk:
            tail.append(_("❌ <b>Team bonus forfeited</b>: a target was missed this month."))
        else:
            tail.append(_("✅ Every target with data is met."))
    else:
        tail.append(_("No team targets are configured."))
    return _fit(head, _scoreboard(report.agents, report.currency), tail, limit)


_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """The HTML of a message as plain text, for the command line."""
    return html.unescape(_TAG.sub("", text))
