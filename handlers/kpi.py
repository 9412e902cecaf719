"""Recording the KPI inputs in chat: /refund, /orders, /skill, /quality, and reading /score."""

from __future__ import annotations

import re
from decimal import Decimal

from telegram import Update
from telegram.ext import Application

from bot import clock
from bot.i18n import N_, _
from bot.models import Role
from bot.process.runtime import Runtime
from bot.services import monthly_report, orders, ratings, refunds
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.scoreboard import AgentLine
from handlers import parse
from handlers.common import (
    Caller,
    Context,
    Where,
    command,
    command_handler,
    named_member,
    replied_user,
    reply,
    runtime,
)
from handlers.digest_render import percent
from handlers.markup import esc, team_time
from scoring.months import month_of

DISPUTE_WORDS = frozenset({"dispute", "纠纷", "糾紛"})
CANCEL_WORDS = frozenset({"cancel", "取消"})
_MONTH_ARG = re.compile(r"^\d{4}-\d{1,2}$")


def money(rt: Runtime, amount: Decimal) -> str:
    """An amount with two decimals and the team's currency."""
    return f"{amount:.2f} {esc(rt.settings.scoring.currency)}"


_REQUESTED = re.compile(r"^requested[:：](.*)$", re.IGNORECASE)


@command(
    "refund",
    N_("record a refund: /refund N amount [dispute] [requested:YYYY-MM-DD] | /refund N cancel"),
    role=Role.AGENT,
    where=Where.PRIVATE_OR_TEAM,
)
async def refund(update: Update, context: Context, caller: Caller) -> None:
    """Record a refund on a ticket: /refund N <amount> [dispute] [requested:YYYY-MM-DD[THH:MM]],
    or /refund N cancel."""
    rt = runtime(context)
    args = context.args or []
    if len(args) < 2 or len(args) > 4:
        raise InvalidInput(
            N_(
                "Write /refund N amount (add “dispute” if the platform intervened, and "
                "requested:YYYY-MM-DD if the customer asked before the ticket was received), "
                "or /refund N cancel."
            )
        )
    number = parse.ticket_number(args[0])
    if args[1].lower() in CANCEL_WORDS and len(args) == 2:
        removed = await refunds.cancel(rt.db, number=number, actor_id=caller.user_id)
        await reply(
            update,
            _("Refund of %(amount)s on #%(number)s removed.")
            % {"amount": money(rt, removed.amount), "number": number},
        )
        return
    amount = refunds.parse_amount(args[1])
    dispute, requested_at = False, None
    for word in args[2:]:
        requested = _REQUESTED.match(word)
        if word.lower() in DISPUTE_WORDS and not dispute:
            dispute = True
        elif requested and requested_at is None:
            requested_at = parse.moment(requested.group(1), rt.settings.team.tz, key="requested")
        else:
            raise InvalidInput(
                N_(
                    "After the amount, only “dispute” (the platform intervened) and "
                    "requested:YYYY-MM-DD[THH:MM] (when the customer asked) may follow."
                )
            )
    change = await refunds.record(
        rt.db,
        number=number,
        actor_id=caller.user_id,
        amount=amount,
        dispute=dispute,
        tz=rt.settings.team.tz,
        requested_at=requested_at,
    )
    current = change.current
    text = (
        _("Refund on #%(number)s: %(amount)s, dispute (platform intervened); counted on %(day)s.")
        if current.dispute
        else _("Refund on #%(number)s: %(amount)s; counted on %(day)s.")
    ) % {"number": number, "amount": money(rt, current.amount), "day": current.day.isoformat()}
    if current.requested_at is not None:
        text += "\n" + _("Requested by the customer at %(when)s.") % {
            "when": team_time(current.requested_at, rt.settings.team.tz)
        }
    if change.previous is not None:
        was = money(rt, change.previous.amount)
        if change.previous.dispute:
            was = _("%(amount)s, dispute") % {"amount": was}
        text += "\n" + _("It replaces the earlier record (%(was)s).") % {"was": was}
    await reply(update, text)


@command(
    "orders",
    N_("set a day's order count: /orders YYYY-MM-DD COUNT"),
    role=Role.AGENT,
    where=Where.PRIVATE_OR_TEAM,
)
async def orders_command(update: Update, context: Context, caller: Caller) -> None:
    """Set a day's order count: /orders YYYY-MM-DD COUNT."""
    rt = runtime(context)
    args = context.args or []
    if len(args) != 2:
        raise InvalidInput(N_("Write /orders YYYY-MM-DD COUNT, e.g. /orders 2026-03-01 1250."))
    change = await orders.set_day(
        rt.db,
        day=orders.parse_day(args[0]),
        orders=orders.parse_count(args[1]),
        actor_id=caller.user_id,
        tz=rt.settings.team.tz,
    )
    params = {"day": change.day.isoformat(), "count": change.orders, "was": change.previous}
    if change.previous is None:
        text = _("Orders on %(day)s: %(count)s.") % params
    else:
        text = _("Orders on %(day)s: %(count)s (was %(was)s).") % params
    await reply(update, text)


@command(
    "skill",
    N_("rate an agent's skill: /skill @agent 10|8|5|0"),
    role=Role.MANAGER,
    where=Where.PRIVATE_OR_TEAM,
)
async def skill(update: Update, context: Context, caller: Caller) -> None:
    """Rate an agent's skill: /skill @agent 10|8|5|0 (or reply to the agent with /skill 8)."""
    rt = runtime(context)
    args = context.args or []
    if len(args) not in (1, 2):
        raise InvalidInput(N_("Write /skill @agent 10|8|5|0, or reply to the agent with /skill 8."))
    rating = ratings.parse_skill(args[-1])
    agent = await named_member(update, rt, args[0] if len(args) == 2 else None)
    change = await ratings.rate_skill(
        rt.db, actor_id=caller.user_id, agent_id=agent.user_id, rating=rating
    )
    params = {"name": esc(change.agent_name), "rating": change.rating, "was": change.previous}
    if change.previous is None:
        text = _("Skill of %(name)s: %(rating)s.") % params
    else:
        text = _("Skill of %(name)s: %(rating)s (was %(was)s).") % params
    await reply(update, text)


@command(
    "quality",
    N_("override a ticket's quality: /quality N 10|8|5"),
    role=Role.MANAGER,
    where=Where.PRIVATE_OR_TEAM,
)
async def quality(update: Update, context: Context, caller: Caller) -> None:
    """Override a ticket's quality score: /quality N 10|8|5."""
    rt = runtime(context)
    args = context.args or []
    if len(args) != 2:
        raise InvalidInput(N_("Write /quality N 10|8|5, e.g. /quality 12 8."))
    number = parse.ticket_number(args[0])
    change = await ratings.override_quality(
        rt.db, actor_id=caller.user_id, number=number, quality=ratings.parse_quality(args[1])
    )
    params = {"number": number, "quality": change.quality, "was": change.previous}
    if change.previous is None:
        text = _("Quality of #%(number)s: %(quality)s.") % params
    else:
        text = _("Quality of #%(number)s: %(quality)s (was %(was)s).") % params
    await reply(update, text)


def _replied_person(update: Update) -> int | None:
    """The human whose message a command replies to, if any."""
    author = replied_user(update)
    return author.user_id if author is not None else None


def _score_args(args: list[str]) -> tuple[str | None, str | None]:
    """`/score [YYYY-MM] [@agent]` in either order → (month, person)."""
    month: str | None = None
    person: str | None = None
    for arg in args:
        if _MONTH_ARG.match(arg) and month is None:
            month = arg
        elif person is None and not _MONTH_ARG.match(arg):
            person = arg
        else:
            raise InvalidInput(
                N_("Write /score, /score YYYY-MM, or (managers) /score YYYY-MM @agent.")
            )
    return month, person


@command(
    "score",
    N_("KPI indicators, total and pay: /score [YYYY-MM]"),
    role=Role.AGENT,
    where=Where.PRIVATE_OR_TEAM,
)
async def score(update: Update, context: Context, caller: Caller) -> None:
    """Show KPI indicators, total and pay: /score [YYYY-MM] [@agent]."""
    rt = runtime(context)
    month_text, person = _score_args(context.args or [])
    target_id = caller.user_id
    if person is not None or _replied_person(update) is not None:
        target = await named_member(update, rt, person)
        if target.user_id != caller.user_id and not caller.is_manager:
            raise NotAllowed(N_("Only managers can see another agent's score."))
        if target.role is None:
            raise InvalidInput(N_("%(name)s is not on the team."), name=target.name)
        target_id = target.user_id
    tz = rt.settings.team.tz
    now = clock.now()
    month = parse.month(month_text) if month_text else month_of(now, tz)
    # The monthly report's row: the same complete pay the digest and the pay sheet show.
    report = await monthly_report.build_report(rt.db, rt.settings, month, agent_id=target_id)
    rows = report.agents
    if not rows:
        raise InvalidInput(N_("%(name)s is not on the team."), name=target_id)
    in_progress = month == month_of(now, tz)
    await reply(update, _render_score(rt, rows[0], month.strftime("%Y-%m"), in_progress))


def _number(value: float | None) -> str:
    """8, 8.5 or 8.67: at most two decimals, no trailing zeros; "—" for no data."""
    if value is None:
        return "—"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _render_score(rt: Runtime, row: AgentLine, month: str, in_progress: bool) -> str:
    heading = (
        _("<b>KPI of %(name)s — %(month)s (month to date)</b>")
        if in_progress
        else _("<b>KPI of %(name)s — %(month)s</b>")
    )
    weights = rt.settings.scoring.weights
    lines = [heading % {"name": esc(row.name), "month": month}]
    for label, value, weight in (
        (_("Satisfaction"), row.satisfaction, weights.satisfaction),
        (_("Speed"), row.speed, weights.speed),
        (_("Quality"), row.quality, weights.quality),
        (_("Skill"), row.skill, weights.skill),
    ):
        lines.append(
            _("%(indicator)s: %(value)s (weight %(weight)s)")
            % {"indicator": label, "value": _number(value), "weight": weight}
        )
    lines.append(
        _("Total: %(total)s / %(max)s") % {"total": _number(row.total), "max": row.max_total}
    )
    lines.append(_("Pay: %(pay)s") % {"pay": "—" if row.pay is None else money(rt, row.pay)})
    if row.pay_parts is not None:
        lines.append(
            _("    base %(base)s + commission %(commission)s + team bonus %(bonus)s")
            % {
                "base": f"{row.pay_parts.base:.2f}",
                "commission": f"{row.pay_parts.commission:.2f}",
                "bonus": f"{row.pay_parts.bonus:.2f}",
            }
        )
    lines.append(_("Tickets resolved: %(count)s") % {"count": row.tickets})
    rate = row.first_time_fix_rate
    lines.append(_("First-time fix: %(rate)s") % {"rate": percent(rate)})
    lines.append(_("Internal complaints: %(count)s") % {"count": row.internal_complaints})
    lines.append(_("Repeat sales: %(amount)s") % {"amount": money(rt, row.sales)})
    if row.total is None:
        lines.append(_("No indicator has data yet, so there is no total."))
    return "\n".join(lines)


def register(app: Application) -> None:
    app.add_handler(command_handler(refund))
    app.add_handler(command_handler(orders_command))
    app.add_handler(command_handler(score))
    app.add_handler(command_handler(skill))
    app.add_handler(command_handler(quality))
