"""Commands run on new messages only: an edited message changes nothing.

python-telegram-bot's CommandHandler (and MessageHandler) also match `edited_message`, so
editing "/ticket …" would log a second ticket and editing a private message into
"/resolve 3 root" would resolve #3. This gate, ahead of every conversation handler, is the
one place that keeps edits out; a team member who edits a command is told why nothing happened.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.i18n import _
from handlers.common import Context, esc, identify, reply

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
    raise ApplicationHandlerStop


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(TypeHandler(Update, ignore_edits), group=GROUP)
