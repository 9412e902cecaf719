"""Before everything else: count each update and log what it asks for, with its ids.

The ids go in as record attributes (`extra=`), so the JSON-lines log carries `update_id`,
`chat_id` and `user_id` as fields an operator can filter on. Message text is not logged:
it is customers' words; the command name is enough to follow what happened.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import Application, TypeHandler

from handlers.common import Context, runtime

log = logging.getLogger(__name__)

# Below the redelivery guard (-3), so a skipped redelivery is still counted as received.
GROUP = -4


def log_fields(update: object, **more: Any) -> dict[str, Any]:
    """`extra=` for a log call about `update`: its id, chat and user, plus `more`."""
    fields: dict[str, Any] = {}
    if isinstance(update, Update):
        fields["update_id"] = update.update_id
        if update.effective_chat is not None:
            fields["chat_id"] = update.effective_chat.id
        if update.effective_user is not None:
            fields["user_id"] = update.effective_user.id
    return {**fields, **more}


def _what(update: Update) -> tuple[int, str]:
    """The log level and a description that names the command or button, never user text."""
    message = update.effective_message
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return logging.INFO, f"button {data.split(':', 1)[0]}"
    if message is not None and message.text and message.text.startswith("/"):
        return logging.INFO, f"command {message.text.split(maxsplit=1)[0].split('@', 1)[0]}"
    return logging.DEBUG, "message" if message is not None else "update"


async def observe(update: Update, context: Context) -> None:
    runtime(context).metrics.updates.inc()
    level, what = _what(update)
    log.log(level, "update %s: %s", update.update_id, what, extra=log_fields(update))


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, observe), group=GROUP)
