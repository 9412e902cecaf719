"""When Telegram refuses a chat for good: the one that matters most is the team chat.

Digests, escalations and survey alerts all go to the team chat, so losing it (the bot was
removed, the group deleted) silences the team's whole routine. The managers are told in
their private chats, at most once a day each: the outbox key is the claim.
"""

from __future__ import annotations

import logging

from bot import clock, outbox
from bot.db import Database
from bot.services import team

log = logging.getLogger(__name__)

KIND_TEAM_CHAT_LOST = "team-chat-lost"


async def team_chat_refused(db: Database, *, chat_id: int, reason: str) -> int:
    """If `chat_id` is the team chat, queue a word to each manager; how many were queued."""
    if await team.team_chat_id(db) != chat_id:
        return 0
    reachable = [m for m in await team.managers(db) if m.has_private_chat]
    if not reachable:
        log.error(
            "Telegram refuses the team chat %s (%s) and no manager has a private chat with "
            "the bot to be told",
            chat_id,
            reason,
        )
        return 0
    day = clock.now().date().isoformat()
    queued = 0
    async with db.transaction() as session:
        for manager in reachable:
            queued += await outbox.enqueue(
                session,
                key=f"{KIND_TEAM_CHAT_LOST}:{chat_id}:{manager.user_id}:{day}",
                kind=KIND_TEAM_CHAT_LOST,
                chat_id=manager.user_id,
                payload={"chat_id": chat_id, "reason": reason[:200]},
            )
    if queued:
        log.error("Telegram refuses the team chat %s (%s); managers told", chat_id, reason)
    return queued
