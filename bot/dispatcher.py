"""Delivers queued messages: claim, render, send, record; retry what is worth retrying."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.notices import REGISTRY, Outgoing
from bot.runtime import Runtime
from bot.services import outbox

log = logging.getLogger(__name__)

_lock = asyncio.Lock()


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 600))


async def deliver_due(bot: Bot, rt: Runtime) -> int:
    """Send every due message once; returns how many were delivered."""
    # One pass at a time per process; other replicas are kept apart by the claims.
    async with _lock:
        delivered = 0
        while batch := await outbox.claim_due(rt.db, owner=rt.instance):
            for item in batch:
                delivered += await _deliver(bot, rt, item)
        return delivered


async def _deliver(bot: Bot, rt: Runtime, item: outbox.Pending) -> int:
    notice = REGISTRY.get(item.kind)
    context = f"outbox #{item.id} {item.kind} ({item.dedupe_key}) to chat {item.chat_id}"
    if notice is None:
        log.error("%s: no notice registered for this kind; giving up", context)
        await outbox.mark_failed(rt.db, item.id, error="unknown kind", retry_in=None)
        return 0
    try:
        outgoing = await notice.render(rt, item.payload)
        if outgoing is None or item.chat_id is None:
            await outbox.mark_sent(rt.db, item.id, message_id=None)
            return 0
        message_id = await _send(bot, item.chat_id, outgoing)
    except RetryAfter as exc:
        retry = (
            exc.retry_after
            if isinstance(exc.retry_after, timedelta)
            else timedelta(seconds=exc.retry_after)
        )
        log.warning("%s: flood limit, retrying in %s", context, retry)
        await outbox.mark_failed(rt.db, item.id, error=str(exc), retry_in=retry)
        return 0
    except Forbidden as exc:
        log.warning("%s: refused by Telegram (%s); not retrying", context, exc.message)
        await outbox.mark_failed(rt.db, item.id, error=exc.message, retry_in=None)
        if notice.refused:
            await notice.refused(rt, item.payload, exc.message)
        return 0
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            await outbox.mark_sent(rt.db, item.id, message_id=None)
            return 0
        log.error("%s: Telegram rejected the message (%s); giving up", context, exc.message)
        await outbox.mark_failed(rt.db, item.id, error=exc.message, retry_in=None)
        if notice.refused:
            await notice.refused(rt, item.payload, exc.message)
        return 0
    except (TimedOut, NetworkError) as exc:
        status = await outbox.mark_failed(
            rt.db, item.id, error=str(exc), retry_in=_backoff(item.attempts)
        )
        log.warning(
            "%s: network error (%s); %s",
            context,
            exc,
            "will retry" if status == "pending" else "gave up",
        )
        return 0
    except Exception:
        log.exception("%s: failed unexpectedly; will retry", context)
        await outbox.mark_failed(
            rt.db, item.id, error="internal error", retry_in=_backoff(item.attempts)
        )
        return 0
    await outbox.mark_sent(rt.db, item.id, message_id=message_id)
    if notice.sent:
        try:
            await notice.sent(rt, item.payload, message_id)
        except Exception:
            log.exception("%s: sent, but recording it failed", context)
    return 1


async def _send(bot: Bot, chat_id: int, out: Outgoing) -> int | None:
    if out.edit_message_id is not None:
        await bot.edit_message_text(
            out.text, chat_id=chat_id, message_id=out.edit_message_id, reply_markup=out.reply_markup
        )
        return out.edit_message_id
    message: Message
    if out.photo is not None:
        message = await bot.send_photo(
            chat_id, out.photo, caption=out.text[:1024], reply_markup=out.reply_markup
        )
    else:
        message = await bot.send_message(chat_id, out.text, reply_markup=out.reply_markup)
    if out.document is not None:
        filename, data = out.document
        await bot.send_document(chat_id, data, filename=filename)
    return message.message_id
