"""The customer's file: /customer, /find, and /tickets order:REF (answered from tickets)."""

from __future__ import annotations

from datetime import tzinfo

from telegram import Update
from telegram.ext import Application

from bot.i18n import N_, _
from bot.models import Role, TicketStatus
from bot.services import customers
from bot.services.customers import FileLine
from bot.services.surveys import Rating
from handlers.common import Caller, Context, Where, command, command_handler, reply, runtime
from handlers.digest_render import money
from handlers.markup import esc, status_name
from handlers.survey_render import rating_name


def file_line(line: FileLine, tz: tzinfo, currency: str) -> str:
    """One ticket of a customer's file: number, state, date, what, refund, rating."""
    parts = [
        f"#{line.number}",
        status_name(TicketStatus(line.status)),
        line.received_at.astimezone(tz).strftime("%Y-%m-%d"),
    ]
    if line.customer_name:
        parts.append(esc(line.customer_name))
    if line.order_ref:
        parts.append(_("order %(order)s") % {"order": esc(line.order_ref)})
    if line.refund is not None:
        refund = _("refund %(amount)s") % {"amount": money(line.refund, currency)}
        parts.append(refund + (" " + _("(dispute)") if line.dispute else ""))
    if line.rating is not None:
        parts.append(rating_name(Rating(line.rating)))
    summary = line.description if len(line.description) <= 50 else line.description[:49] + "…"
    return " · ".join(parts) + f" — {esc(summary)}"


def file_lines(lines: tuple[FileLine, ...], context: Context) -> list[str]:
    settings = runtime(context).settings
    return [file_line(line, settings.team.tz, settings.scoring.currency) for line in lines]


@command(
    "customer",
    N_("a customer's tickets: /customer @username | id | name"),
    role=Role.AGENT,
    where=Where.PRIVATE_OR_TEAM,
)
async def customer(update: Update, context: Context, caller: Caller) -> None:
    """A customer's tickets over time: /customer @username | user id | name."""
    found = await customers.customer_file(
        runtime(context).db, " ".join(context.args or []), viewer_id=caller.user_id
    )
    head = _("<b>Customer file · %(name)s</b> (%(count)s tickets)") % {
        "name": esc(found.name),
        "count": len(found.lines),
    }
    await reply(update, "\n".join([head, *file_lines(found.lines, context)]))


@command(
    "find",
    N_("search descriptions, notes and conversations: /find words"),
    role=Role.AGENT,
    where=Where.PRIVATE_OR_TEAM,
)
async def find(update: Update, context: Context, caller: Caller) -> None:
    """Search descriptions, notes and the conversation: /find words."""
    words = " ".join(context.args or [])
    found = await customers.find(runtime(context).db, words, viewer_id=caller.user_id)
    if not found:
        await reply(update, _("Nothing found for “%(words)s”.") % {"words": esc(words)})
        return
    await reply(update, "\n".join(file_lines(found, context)))


async def by_order(update: Update, context: Context, caller: Caller, ref: str) -> None:
    """/tickets order:REF — every ticket of that order."""
    found = await customers.by_order(runtime(context).db, ref, viewer_id=caller.user_id)
    if not found:
        await reply(update, _("No tickets for order %(order)s.") % {"order": esc(ref)})
        return
    await reply(update, "\n".join(file_lines(found, context)))


def register(app: Application) -> None:
    # In the order of the menu and /help (handlers/menu.py).
    app.add_handler(command_handler(customer))
    app.add_handler(command_handler(find))
