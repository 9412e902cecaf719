"""Delivers queued messages: claim, render, send, record; retry what is worth retrying."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import replace
from datetime import timedelta
from typing import Any

from telegram import Bot, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot import outbox
from bot.db import Database
from bot.outbox.notices import REGISTRY, Outgoing
from bot.process.runtime import Runtime
from bot.process.sending import PATIENCE, QUEUED
from bot.services import reach

log = logging.getLogger(__name__)

# One pass at a time per replica, keyed by its database handle rather than the module so
# that two replicas in one process (the scale-out test) really run side by side; replicas
# are kept apart by the claims.
_locks: weakref.WeakKeyDictionary[Database, asyncio.Lock] = weakref.WeakKeyDictionary()


# How long a queued message waits for Telegram's answer: a send that timed out may still
# have been delivered, and retrying it would repeat it.
SEND_TIMEOUT = PATIENCE


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 600))


async def deliver_due(bot: Bot, rt: Runtime) -> int:
    """Send every due message once; returns how many were delivered."""
    async with _locks.setdefault(rt.db, asyncio.Lock()):
        delivered = 0
        tried: set[int] = set()
        # A message is claimed only when its turn comes, never a batch ahead: claims taken
        # early would expire while earlier sends wait on Telegram, and another replica would
        # send them too.
        while fresh := [i for i in await outbox.due_ids(rt.db) if i not in tried]:
            for outbox_id in fresh:
                tried.add(outbox_id)
                item = await outbox.claim(
                    rt.db, outbox_id, owner=rt.instance, lease=outbox.SEND_LEASE
                )
                if item is not None:
                    delivered += await _deliver(bot, rt, item)
        return delivered


async def _deliver(bot: Bot, rt: Runtime, item: outbox.Pending) -> int:
    notice = REGISTRY.get(item.kind)
    fields = _log_fields(item)
    about = f" about ticket #{fields['ticket']}" if "ticket" in fields else ""
    context = f"outbox #{item.id} {item.kind} ({item.dedupe_key}){about} to chat {item.chat_id}"
    if notice is None:
        log.error("%s: no notice registered for this kind; giving up", context, extra=fields)
        await outbox.mark_failed(rt.db, item.id, error="unknown kind", retry_in=None)
        return 0
    try:
        outgoing = await notice.render(rt, item.payload)
        if outgoing is None or item.chat_id is None:
            await outbox.mark_sent(rt.db, item.id, message_id=None)
            return 0
        message_id = await _send(bot, item.chat_id, outgoing)
    except ChatMigrated as exc:
        # A group upgraded to a supergroup: follow it (the team chat too), and send there.
        assert item.chat_id is not None
        await reach.chat_moved(rt.db, old_chat_id=item.chat_id, new_chat_id=exc.new_chat_id)
        log.warning("%s: the chat is now %s; sending there", context, exc.new_chat_id, extra=fields)
        return await _deliver(bot, rt, replace(item, chat_id=exc.new_chat_id))
    except RetryAfter as exc:
        retry = (
            exc.retry_after
            if isinstance(exc.retry_after, timedelta)
            else timedelta(seconds=exc.retry_after)
        )
        await _retry_later(rt, item, f"flood limit ({exc})", retry, context, fields)
        return 0
    except Forbidden as exc:
        if await _held(rt, item, exc.message, context):
            return 0
        log.warning(
            "%s: refused by Telegram (%s); not retrying", context, exc.message, extra=fields
        )
        await outbox.mark_failed(rt.db, item.id, error=exc.message, retry_in=None)
        if notice.refused:
            await notice.refused(rt, item.payload, exc.message)
        return 0
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            await outbox.mark_sent(rt.db, item.id, message_id=None)
            return 0
        log.error(
            "%s: Telegram rejected the message (%s); giving up", context, exc.message, extra=fields
        )
        await outbox.mark_failed(rt.db, item.id, error=exc.message, retry_in=None)
        if notice.refused:
            await notice.refused(rt, item.payload, exc.message)
        return 0
    except (TimedOut, NetworkError) as exc:
        error = f"network error ({exc})"
        await _retry_later(rt, item, error, _backoff(item.attempts), context, fields)
        return 0
    except Exception as exc:
        log.exception("%s: failed unexpectedly", context, extra=fields)
        error = f"internal error ({type(exc).__name__})"
        await _retry_later(rt, item, error, _backoff(item.attempts), context, fields)
        return 0
    await outbox.mark_sent(rt.db, item.id, message_id=message_id)
    log.info("%s: sent", context, extra=fields)
    if notice.sent:
        try:
            await notice.sent(rt, item.payload, message_id)
        except Exception:
            log.exception("%s: sent, but recording it failed", context, extra=fields)
    return 1


async def _held(rt: Runtime, item: outbox.Pending, reason: str, context: str) -> bool:
    """The team chat refuses the bot (removed from it): keep the message for its return."""
    if item.chat_id is None or item.chat_id > 0:
        return False
    try:
        held = await reach.hold_for_team_chat(
            rt.db, outbox_id=item.id, chat_id=item.chat_id, reason=reason
        )
    except Exception:
        # Mid-batch: a failure here must not hold back the other messages.
        log.exception("%s: could not hold the message for the team chat's return", context)
        return False
    if held:
        log.warning("%s: the team chat refuses the bot (%s); held", context, reason)
    return held


async def _retry_later(
    rt: Runtime,
    item: outbox.Pending,
    error: str,
    retry_in: timedelta,
    context: str,
    fields: dict[str, Any],
) -> None:
    """Record a failed attempt: retried after `retry_in`, or given up (loudly) when exhausted."""
    status = await outbox.mark_failed(rt.db, item.id, error=error, retry_in=retry_in)
    if status == outbox.Status.PENDING:
        log.warning("%s: %s; will retry in %s", context, error, retry_in, extra=fields)
    else:
        log.error("%s: %s; gave up after %s attempts", context, error, item.attempts, extra=fields)


def _log_fields(item: outbox.Pending) -> dict[str, Any]:
    """Structured-log fields of a delivery: its chat and, when the payload names one, ticket."""
    fields: dict[str, Any] = {"chat_id": item.chat_id, "outbox_id": item.id}
    for key in ("ticket", "number", "ticket_id"):
        if isinstance(item.payload.get(key), int):
            fields["ticket"] = item.payload[key]
            break
    return fields


async def _send(bot: Bot, chat_id: int, out: Outgoing) -> int | None:
    # Paced with the direct replies by the rate limiter's window (bot/process/pacing.py);
    # failures are retried by the outbox, with a record that survives restarts, flood
    # limits in place (bot/process/sending.py).
    wait: dict[str, Any] = {"read_timeout": SEND_TIMEOUT, "rate_limit_args": QUEUED}
    if out.edit_message_id is not None:
        await bot.edit_message_text(
            out.text,
            chat_id=chat_id,
            message_id=out.edit_message_id,
            reply_markup=out.reply_markup,
            **wait,
        )
        return out.edit_message_id
    message: Message
    if out.photo is not None:
        message = await bot.send_photo(
            chat_id, out.photo, caption=out.text[:1024], reply_markup=out.reply_markup, **wait
        )
    else:
        message = await bot.send_message(chat_id, out.text, reply_markup=out.reply_markup, **wait)
    if out.document is not None:
        filename, data = out.document
        await bot.send_document(chat_id, data, filename=filename, **wait)
    return message.message_id
