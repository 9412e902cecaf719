"""/start (the customer's deep link lands here) and /help."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from bot.i18n import N_, _
from bot.services import tickets
from handlers import markup, render
from handlers.common import Caller, Context, command, command_handler, reply, runtime
from handlers.markup import esc
from handlers.menu import commands_for


@command("start", N_("open a ticket link / say hello"), role=None)
async def start(update: Update, context: Context, caller: Caller) -> None:
    """Greet; with a ticket payload, link this customer to that ticket."""
    payload = (context.args or [""])[0]
    if not payload or not caller.private:
        await reply(
            update, _("Hello! I am Kefu, the after-sales assistant.") + "\n\n" + _help_text(caller)
        )
        return
    result = await tickets.link_customer(runtime(context).db, token=payload, customer=caller.user)
    ticket = result.ticket
    await reply(
        update,
        _(
            "Thank you. You are following ticket #%(number)s: “%(summary)s”.\nStatus: %(status)s. "
            "We will message you here when it is resolved."
        )
        % {
            "number": ticket.number,
            "summary": render.summary(ticket),
            "status": markup.status_name(ticket.status),
        },
    )


@command("help", N_("what I can do for you"), role=None)
async def help_command(update: Update, context: Context, caller: Caller) -> None:
    """List the commands the sender may use."""
    await reply(update, _help_text(caller))


def _help_text(caller: Caller) -> str:
    lines = [_("Commands you can use:")]
    lines += [f"/{name} — {esc(description)}" for name, description in commands_for(caller.role)]
    return "\n".join(lines)


def register(app: Application) -> None:
    app.add_handler(command_handler(start))
    app.add_handler(command_handler(help_command))
