"""Recording the rest of the shop figures in chat: /intervened, /sale, /dsr, /complaint."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from bot.i18n import N_, _
from bot.models import Role
from bot.services import complaints, dsr, interventions, orders, sales
from bot.services.errors import InvalidInput
from handlers import parse
from handlers.common import Caller, Context, Where, command, command_handler, reply, runtime
from handlers.kpi import CANCEL_WORDS, money
from handlers.markup import esc
from scoring.figures import Dsr


@command(
    "intervened",
    N_("the platform stepped in: /intervened N [cancel]"),
    role=Role.AGENT,
    where=Where.PRIVATE_OR_TEAM,
)
async def intervened(update: Update, context: Context, caller: Caller) -> None:
    """Mark that the platform stepped in on a ticket: /intervened N, or /intervened N cancel."""
    rt = runtime(context)
    args = context.args or []
    if len(args) not in (1, 2) or (len(args) == 2 and args[1].lower() not in CANCEL_WORDS):
        raise InvalidInput(N_("Write /intervened N, or /intervened N cancel."))
    number = parse.ticket_number(args[0])
    if len(args) == 2:
        removed = await interventions.cancel(rt.db, number=number, actor_id=caller.user_id)
        text = _("Intervention on #%(number)s (%(day)s) removed.") % {
            "number": number,
            "day": removed.day.isoformat(),
        }
        if removed.dispute_day is not None:
            text += "\n" + _("Its dispute refund still counts it as intervened on %(day)s.") % {
                "day": removed.dispute_day.isoformat()
            }
        await reply(update, text)
        return
    done = await interventions.record(
        rt.db, number=number, actor_id=caller.user_id, tz=rt.settings.team.tz
    )
    params = {"number": number, "day": done.day.isoformat()}
    text = (
        _("#%(number)s was already recorded as intervened on %(day)s.")
        if done.already
        else _("Platform intervention on #%(number)s; counted on %(day)s.")
    ) % params
    await reply(update, text)


@command(
    "sale",
    N_("a repeat purchase for commission: /sale N amount | /sale N cancel"),
    role=Role.AGENT,
    where=Where.PRIVATE_OR_TEAM,
)
async def sale(update: Update, context: Context, caller: Caller) -> None:
    """Credit a repeat purchase by a ticket's customer: /sale N amount, or /sale N cancel."""
    rt = runtime(context)
    args = context.args or []
    if len(args) != 2:
        raise InvalidInput(N_("Write /sale N amount (a repeat purchase), or /sale N cancel."))
    number = parse.ticket_number(args[0])
    if args[1].lower() in CANCEL_WORDS:
        removed = await sales.cancel(rt.db, number=number, actor_id=caller.user_id)
        text = _("Sale of %(amount)s on #%(number)s removed; sales on it now: %(total)s.")
    else:
        removed = await sales.record(
            rt.db,
            number=number,
            actor_id=caller.user_id,
            amount=sales.parse_amount(args[1]),
            tz=rt.settings.team.tz,
        )
        text = _(
            "Sale on #%(number)s: %(amount)s, credited to %(agent)s on %(day)s; "
            "sales on it now: %(total)s."
        )
    await reply(
        update,
        text
        % {
            "number": number,
            "amount": money(rt, removed.amount),
            "agent": esc(removed.agent_name),
            "day": removed.day.isoformat(),
            "total": money(rt, removed.ticket_total),
        },
    )


@command(
    "dsr",
    N_("record the shop's DSR: /dsr YYYY-MM-DD description service logistics"),
    role=Role.MANAGER,
    where=Where.PRIVATE_OR_TEAM,
)
async def dsr_command(update: Update, context: Context, caller: Caller) -> None:
    """Record the shop's DSR as the platform shows it: /dsr YYYY-MM-DD description service
    logistics."""
    rt = runtime(context)
    args = context.args or []
    if len(args) != 4:
        raise InvalidInput(
            N_(
                "Write /dsr YYYY-MM-DD description service logistics, e.g. "
                "/dsr 2026-03-01 4.85 4.80 4.78."
            )
        )
    day = orders.parse_day(args[0])
    description, service, logistics = (dsr.parse_score(text) for text in args[1:])
    done = await dsr.record(
        rt.db,
        day=day,
        scores=Dsr(description=description, service=service, logistics=logistics),
        actor_id=caller.user_id,
        tz=rt.settings.team.tz,
    )
    text = _(
        "DSR on %(day)s: description %(description)s · service %(service)s · logistics %(logistics)s."
    ) % {
        "day": done.day.isoformat(),
        "description": done.scores.description,
        "service": done.scores.service,
        "logistics": done.scores.logistics,
    }
    if done.previous is not None:
        text += "\n" + _("It replaces %(description)s · %(service)s · %(logistics)s.") % {
            "description": done.previous.description,
            "service": done.previous.service,
            "logistics": done.previous.logistics,
        }
    await reply(update, text)


@command(
    "complaint",
    N_("record an internal complaint: /complaint N text"),
    role=Role.MANAGER,
    where=Where.PRIVATE_OR_TEAM,
)
async def complaint(update: Update, context: Context, caller: Caller) -> None:
    """Record an internal complaint against a ticket's agent: /complaint N text."""
    rt = runtime(context)
    args = context.args or []
    if not args:
        raise InvalidInput(
            N_(
                "Write the complaint after the ticket number, e.g. /complaint 12 rude to the customer."
            )
        )
    number = parse.ticket_number(args[0])
    done = await complaints.record(
        rt.db, number=number, actor_id=caller.user_id, text=" ".join(args[1:])
    )
    await reply(
        update,
        _("Internal complaint on #%(number)s recorded against %(agent)s.")
        % {"number": number, "agent": esc(done.agent_name)},
    )


def register(app: Application) -> None:
    app.add_handler(command_handler(intervened))
    app.add_handler(command_handler(sale))
    app.add_handler(command_handler(dsr_command))
    app.add_handler(command_handler(complaint))
