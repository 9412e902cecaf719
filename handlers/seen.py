"""Around the handlers: the inbox claim before them (skip what was handled), its end after
them, and remembering who writes (for @username)."""

from __future__ import annotations

from dataclasses import replace

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.services import team, updates
from bot.services.team import SeenUser
from handlers.common import (
    Context,
    remember_lookup,
    runtime,
    seen_user,
    was_handled_with_work,
)

_CACHE_KEY = "seen_cache"
# After every handler group: the update is finished only when they all ran.
FINISHED_GROUP = 100


async def skip_redelivered(update: Update, context: Context) -> None:
    """Telegram redelivers updates after a crash or to another replica: handle each to the
    end once; one whose handling died unfinished is handled again (bot/services/updates.py)."""
    rt, user = runtime(context), update.effective_user
    if user is None:
        if not await updates.claim(rt.db, update.update_id, owner=rt.instance):
            raise ApplicationHandlerStop
        return
    claimed = await updates.claim_and_look_up(rt.db, update.update_id, user.id, owner=rt.instance)
    if not claimed.first:
        raise ApplicationHandlerStop
    remember_lookup(context, user.id, claimed.role, claimed.team_chat)


async def record(update: Update, context: Context) -> None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or user.is_bot:
        return
    cache: dict[int, SeenUser] = context.application.bot_data.setdefault(_CACHE_KEY, {})
    known = cache.get(user.id)
    seen = seen_user(user, chat)
    # The database keeps "has a private chat" once true; mirror that so nothing flaps.
    seen = replace(
        seen, private_chat=seen.private_chat or (known is not None and known.private_chat)
    )
    if seen == known:
        return  # writing on every update would double the database load
    await team.record_seen(runtime(context).db, seen)
    cache[user.id] = seen


async def finished(update: Update, context: Context) -> None:
    """Every handler ran and sent its replies: a redelivery of this update is skipped now.

    Not reached when the process dies first (then the update is handled again), nor after
    a failure the error handler answered (the person was told to try again)."""
    if not was_handled_with_work(context):
        await updates.finish(runtime(context).db, update.update_id)


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, skip_redelivered), group=-3)
    app.add_handler(TypeHandler(Update, record), group=-2)
    app.add_handler(TypeHandler(Update, finished), group=FINISHED_GROUP)
