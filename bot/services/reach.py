"""Reaching the team chat: when Telegram refuses it, moves it, or lets the bot back in.

Digests, escalations and survey alerts all go to the team chat, so losing it (the bot was
removed, the group deleted) silences the team's whole routine. What the team chat cannot
receive is held, not dropped, and goes out once when the bot is back (or, held over a day,
is listed to the managers instead). The managers are told in their private chats when the
chat is lost (at most once a day each: the outbox key is the claim) and when it is back.

A group Telegram upgrades to a supergroup gets a new chat id; the team chat follows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot import clock, outbox
from bot.db import Database
from bot.models import TeamSetting
from bot.services import team
from bot.services.sql import insert_if_missing

log = logging.getLogger(__name__)

KIND_TEAM_CHAT_LOST = "team-chat-lost"
KIND_TEAM_CHAT_BACK = "team-chat-back"
# Held longer than this, a message is stale news: the managers get a list, not the message.
STALE_AFTER = timedelta(days=1)
_LOST_KEY = "team_chat_lost:{chat_id}"


async def team_chat_refused(db: Database, *, chat_id: int, reason: str) -> int:
    """If `chat_id` is the team chat, mark it lost and queue a word to each manager; how
    many were queued."""
    if await team.team_chat_id(db) != chat_id:
        return 0
    reachable = [m for m in await team.managers(db) if m.has_private_chat]
    day = clock.now().date().isoformat()
    queued = 0
    async with db.transaction() as session:
        # Marked lost, so that the bot's return is news (and only then).
        await insert_if_missing(
            session,
            TeamSetting,
            key=_LOST_KEY.format(chat_id=chat_id),
            value=clock.now().isoformat(),
        )
        for manager in reachable:
            queued += await outbox.enqueue(
                session,
                key=outbox.key(KIND_TEAM_CHAT_LOST, chat_id, manager.user_id, day),
                kind=KIND_TEAM_CHAT_LOST,
                chat_id=manager.user_id,
                payload={"chat_id": chat_id, "reason": reason[:200]},
            )
    if not reachable:
        log.error(
            "Telegram refuses the team chat %s (%s) and no manager has a private chat with "
            "the bot to be told",
            chat_id,
            reason,
        )
    elif queued:
        log.warning(
            "Telegram refuses the team chat %s (%s); its messages are held, managers told",
            chat_id,
            reason,
        )
    return queued


async def hold_for_team_chat(db: Database, *, outbox_id: int, chat_id: int, reason: str) -> bool:
    """A message Telegram refused: if it was for the team chat, keep it until the chat is
    back (and tell the managers); False for any other chat (its refusal is final)."""
    if await team.team_chat_id(db) != chat_id:
        return False
    await outbox.hold(db, outbox_id, error=reason)
    await team_chat_refused(db, chat_id=chat_id, reason=reason)
    return True


@dataclass(frozen=True)
class Back:
    """The team chat took the bot back: what was held is sent (`delivered` messages) or,
    too old, listed (`missed`, outbox ids) to the managers."""

    delivered: int
    missed: list[int]


async def team_chat_back(db: Database, *, chat_id: int) -> Back | None:
    """The bot is a member of `chat_id` again; None unless it is the team chat and was lost."""
    if await team.team_chat_id(db) != chat_id:
        return None
    reachable = [m for m in await team.managers(db) if m.has_private_chat]
    now = clock.now()
    async with db.transaction() as session:
        lost = await session.get(
            TeamSetting, _LOST_KEY.format(chat_id=chat_id), with_for_update=True
        )
        if lost is None:
            return None  # never lost, or another replica saw the return first
        await session.delete(lost)
        released, missed = await outbox.release_held(session, chat_id, stale_after=STALE_AFTER)
        back = Back(delivered=len(released), missed=[item.id for item in missed])
        for manager in reachable:
            await outbox.enqueue(
                session,
                key=outbox.key(KIND_TEAM_CHAT_BACK, chat_id, manager.user_id, now.isoformat()),
                kind=KIND_TEAM_CHAT_BACK,
                chat_id=manager.user_id,
                payload={"chat_id": chat_id, "delivered": back.delivered, "missed": back.missed},
            )
    log.warning(
        "the bot is back in the team chat %s: %s held messages sent, %s too old and listed "
        "to the managers",
        chat_id,
        back.delivered,
        len(back.missed),
    )
    return back


@dataclass(frozen=True)
class Moved:
    team_chat: bool  # the chat that moved was the team chat
    messages: int  # queued messages that follow it


async def chat_moved(db: Database, *, old_chat_id: int, new_chat_id: int) -> Moved:
    """Telegram upgraded a group to a supergroup: remember it, make the new id the team chat
    if the old one was, and send what waits for the old id to the new one."""
    async with db.transaction() as session:
        was_team_chat = await team.follow_move(
            session, old_chat_id=old_chat_id, new_chat_id=new_chat_id
        )
        messages = await outbox.move_chat(session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    if was_team_chat:
        log.warning(
            "the team chat %s was upgraded by Telegram to the supergroup %s, now the team "
            "chat (%s queued messages follow it); set [team] chat_id = %s in the config",
            old_chat_id,
            new_chat_id,
            messages,
            new_chat_id,
        )
    elif messages:
        log.info(
            "chat %s became %s; %s queued messages follow it", old_chat_id, new_chat_id, messages
        )
    return Moved(team_chat=was_team_chat, messages=messages)
