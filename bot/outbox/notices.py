"""How each kind of queued message (see bot/outbox/__init__.py) becomes a Telegram message.

A feature registers a `Notice` for its kind; the dispatcher renders it in the recipient's
language at send time and reports back what happened, so services stay free of Telegram.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.process.runtime import Runtime


@dataclass(frozen=True)
class Outgoing:
    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    # A PNG sent as a photo with `text` as its caption (the digest chart).
    photo: bytes | None = None
    # (filename, bytes) sent as a document after the text (the monthly CSV).
    document: tuple[str, bytes] | None = None
    # Editing an earlier message instead of sending a new one (e.g. an expired survey).
    edit_message_id: int | None = None


Render = Callable[[Runtime, dict[str, Any]], Awaitable[Outgoing | None]]
AfterSend = Callable[[Runtime, dict[str, Any], int | None], Awaitable[None]]
AfterRefusal = Callable[[Runtime, dict[str, Any], str], Awaitable[None]]


@dataclass(frozen=True)
class Notice:
    kind: str
    # None from render means "no longer relevant": the row is closed without sending.
    render: Render
    sent: AfterSend | None = None
    # Telegram refused for good (blocked bot, chat gone): no retry, but someone may be told.
    refused: AfterRefusal | None = None
    options: dict[str, Any] = field(default_factory=dict)


REGISTRY: dict[str, Notice] = {}


def register(notice: Notice) -> Notice:
    """Make `notice` the renderer of its kind; again for the same notice is a no-op.

    The kinds are the same for every Application of the process (the tests build many), so
    the registry is the process's; two different notices for one kind are a mistake.
    """
    known = REGISTRY.get(notice.kind)
    if known is not None and known != notice:
        raise ValueError(f"notice kind {notice.kind!r} registered twice")
    REGISTRY[notice.kind] = notice
    return notice
