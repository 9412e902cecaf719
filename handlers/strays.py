"""What Kefu does not act on: edited messages, and buttons no handler knows.

Commands run on new messages only. python-telegram-bot's CommandHandler (and MessageHandler)
also match `edited_message`, so editing "/ticket …" would log a second ticket and editing a
private message into "/resolve 3 root" would resolve #3. The gate, ahead of every
conversation handler, is the one place that keeps edits out; a team member who edits a
command is told why nothing happened.

Every button press needs an answer or it spins on the presser's screen: a press no handler
matched (garbage, empty or absent data, a button of an older version) gets one here.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, TypeHandler

from bot.i18n import _
from handlers.common import Context, answer_button, identify, reply
from handlers.markup import esc
from handlers.observe import log_fields
from handlers.seen import finished

log = logging.getLogger(__name__)

# After the redelivery claim (-3) and the name record (-2), before every handler (0 and up).
GROUP = -1


async def ignore_edits(update: Update, context: Context) -> None:
    """Stop an edited message here; a team member's edited command earns one word why."""
    edited = update.edited_message or update.edited_channel_post
    if edited is None:
        return
    text = edited.text or edited.caption or ""
    if text.startswith("/"):
        caller = await identify(update, context)
        if caller is not None and caller.role is not None:
            name = text.split(maxsplit=1)[0].split("@", 1)[0]
            await reply(
                update,
                _("Edits are not commands: send %(command)s again as a new message.")
                % {"command": esc(name)},
            )
    # Handled: stopping here skips the inbox's closing step, so take it now.
    await finished(update, context)
    raise ApplicationHandlerStop


async def stray_button(update: Update, context: Context) -> None:
    """A press no button handler took: say the button no longer works."""
    query = update.callback_query
    if query is None:
        return
    log.info("button nobody handles: %r", query.data, extra=log_fields(update))
    await answer_button(update, context, _("This button no longer works."))


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, ignore_edits), group=GROUP)


def register_last(app: Application) -> None:
    """After every other handler of group 0: only a press none of them took reaches it."""
    app.add_handler(CallbackQueryHandler(stray_button))
