"""The last line of defence: log what broke, with context, and tell the person in plain words."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import ChatMigrated, Forbidden, NetworkError
from telegram.ext import ApplicationHandlerStop

from bot.db import DatabaseUnavailable
from bot.i18n import _
from bot.services import reach
from handlers.common import Context, refuse, runtime
from handlers.observe import log_fields

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    error = context.error
    source = "update" if isinstance(update, Update) else "job"
    runtime(context).metrics.handler_errors.labels(source=source).inc()
    fields = log_fields(update)
    where = ""
    if isinstance(update, Update):
        chat = update.effective_chat
        user = update.effective_user
        where = f"update {update.update_id} chat {chat.id if chat else '-'} user {user.id if user else '-'}"
    if isinstance(error, ChatMigrated) and isinstance(update, Update) and update.effective_chat:
        # An update from a group Telegram has just upgraded: the reply found the group gone.
        # Follow the move (the team chat too); the next message comes from the new chat.
        log.warning("%s: the chat is now %s", where, error.new_chat_id, extra=fields)
        await reach.chat_moved(
            runtime(context).db,
            old_chat_id=update.effective_chat.id,
            new_chat_id=error.new_chat_id,
        )
        raise ApplicationHandlerStop
    if isinstance(error, DatabaseUnavailable):
        log.warning(
            "database unavailable while handling %s: %s", where or "a job", error, extra=fields
        )
        text = _("The database is not reachable right now. Please try again in a moment.")
    elif isinstance(error, NetworkError | Forbidden) and not isinstance(update, Update):
        log.warning("Telegram call failed in a job: %s", error)
        return
    else:
        log.error("handler failed for %s", where or "a job", exc_info=error, extra=fields)
        text = _("Sorry, something went wrong on my side. It has been logged; please try again.")
    if isinstance(update, Update):
        try:
            # A button's presser reads it as an alert; a group they pressed in never sees it.
            await refuse(update, context, text)
        except Exception as exc:  # the chat may be the very thing that fails
            log.warning("could not tell the user about the failure: %s", exc, extra=fields)
        # PTB would otherwise go on to the next handler group: one failure would earn one
        # apology per group, and an update whose redelivery claim failed would be handled
        # unclaimed, so a redelivery could handle it twice.
        raise ApplicationHandlerStop
