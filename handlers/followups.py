"""Follow-up messages as people read them: the agent's reminder and the managers' escalation.

The sweep (bot/services/followups.py) queues them; the outbox dispatcher renders them here
at send time, in the team's language, and drops any that are no longer due.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application

from bot import clock
from bot.i18n import _, use_language
from bot.outbox.notices import Notice, Outgoing
from bot.process.runtime import Runtime
from bot.services import followups, tickets
from bot.services.followups import Level, Overdue
from bot.services.team import Member
from handlers import markup, parse, render
from handlers.common import Caller, Context, Where, button, command, reply, runtime
from handlers.markup import esc, mention

log = logging.getLogger(__name__)

DESCRIPTION_LIMIT = 200
OPEN_PREFIX = "followup:open:"


def _tag(member: Member) -> str:
    return mention(member.user_id, member.name)


def _details(overdue: Overdue) -> list[str]:
    customer = esc(overdue.customer_name) if overdue.customer_name else _("unknown")
    description = overdue.description
    if len(description) > DESCRIPTION_LIMIT:
        description = description[: DESCRIPTION_LIMIT - 1] + "…"
    return [
        _("Customer: %(customer)s") % {"customer": customer},
        _("Order: %(order)s") % {"order": esc(overdue.order_ref) if overdue.order_ref else "—"},
        f"<i>{esc(description)}</i>",
    ]


def _buttons(number: int) -> InlineKeyboardMarkup:
    # The resolve buttons carry the same data as /resolve's, so handlers/tickets.py answers them.
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Open #%(number)s") % {"number": number},
                    callback_data=f"{OPEN_PREFIX}{number}",
                )
            ],
            [
                InlineKeyboardButton(
                    _("Resolve: root cause fixed"), callback_data=f"resolve:{number}:root"
                ),
                InlineKeyboardButton(
                    _("Resolve: cause not found"), callback_data=f"resolve:{number}:noroot"
                ),
            ],
        ]
    )


def reminder_text(overdue: Overdue, *, in_team_chat: bool) -> str:
    values = {
        "number": overdue.number,
        "age": markup.duration(overdue.age),
        "agent": _tag(overdue.agent),
    }
    if in_team_chat:
        headline = _("⏰ %(agent)s, ticket #%(number)s is still open after %(age)s.") % values
    else:
        headline = _("⏰ <b>Ticket #%(number)s is still open after %(age)s.</b>") % values
    advice = _("Please resolve it today, or note what it is waiting for: /note %(number)s …") % {
        "number": overdue.number
    }
    return "\n".join([headline, *_details(overdue), advice])


def escalation_text(overdue: Overdue, escalate_after_days: float) -> str:
    headline = _("🚨 <b>Ticket #%(number)s has been open for %(age)s, over %(days)s days.</b>") % {
        "number": overdue.number,
        "age": markup.duration(overdue.age),
        "days": markup.days(escalate_after_days),
    }
    managers = [m for m in overdue.managers if m.user_id != overdue.agent.user_id]
    lines = [headline, *_details(overdue), _("Agent: %(agent)s") % {"agent": _tag(overdue.agent)}]
    if managers:
        lines.append(
            _("Managers: %(managers)s") % {"managers": ", ".join(_tag(m) for m in managers)}
        )
    return "\n".join(lines)


async def _due(rt: Runtime, payload: dict[str, Any], level: Level) -> Overdue | None:
    return await followups.due(
        rt.db,
        rt.settings,
        ticket_id=int(payload["ticket"]),
        round_=int(payload["round"]),
        level=level,
    )


async def _render_reminder(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    overdue = await _due(rt, payload, Level.REMIND)
    if overdue is None:
        return None
    with use_language(rt.settings.team.language):
        text = reminder_text(overdue, in_team_chat=bool(payload.get("team_chat")))
        return Outgoing(text, reply_markup=_buttons(overdue.number))


async def _render_escalation(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    overdue = await _due(rt, payload, Level.ESCALATE)
    if overdue is None:
        return None
    with use_language(rt.settings.team.language):
        text = escalation_text(overdue, rt.settings.followup.escalate_after_days)
        return Outgoing(text, reply_markup=_buttons(overdue.number))


async def _reminder_refused(rt: Runtime, payload: dict[str, Any], error: str) -> None:
    """The agent blocked the bot (or never really opened a chat): remind in the team chat."""
    if payload.get("team_chat"):
        return  # the team chat itself refused; the dispatcher has logged it
    try:
        await followups.remind_in_team_chat(
            rt.db, rt.settings, ticket_id=int(payload["ticket"]), round_=int(payload["round"])
        )
    except Exception:
        # The dispatcher is mid-batch: a failure here must not stop the other messages.
        log.exception(
            "could not move the reminder for ticket #%s to the team chat (private chat: %s)",
            payload.get("ticket"),
            error,
        )


NOTICES = (
    Notice(kind=followups.KINDS[Level.REMIND], render=_render_reminder, refused=_reminder_refused),
    Notice(kind=followups.KINDS[Level.ESCALATE], render=_render_escalation),
)


@command(where=Where.PRIVATE_OR_TEAM)
async def open_ticket(update: Update, context: Context, caller: Caller) -> None:
    """The "Open #N" button of a follow-up: the ticket card, as /show N gives it."""
    query = update.callback_query
    assert query is not None and query.data is not None  # the pattern saw the data
    rt = runtime(context)
    number = parse.ticket_number(query.data.removeprefix(OPEN_PREFIX))
    found = await tickets.show(rt.db, number, viewer_id=caller.user_id)
    await reply(update, render.card(found, clock.now(), rt.settings.team.tz))


def register(app: Application) -> None:
    app.add_handler(button(open_ticket, rf"^{OPEN_PREFIX}\d{{1,9}}$"))
