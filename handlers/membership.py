"""The bot's own membership: removed from the team chat, the managers hear of it privately."""

from __future__ import annotations

from typing import Any

from telegram import ChatMember, Update
from telegram.ext import Application, ChatMemberHandler

from bot.i18n import _, use_language
from bot.outbox import notices
from bot.outbox.notices import Notice, Outgoing
from bot.process.runtime import Runtime
from bot.services import reach
from handlers.common import Context, esc, runtime

GONE = frozenset({ChatMember.LEFT, ChatMember.BANNED})


async def bot_membership(update: Update, context: Context) -> None:
    """Telegram says the bot left or was removed from a chat: was it the team chat?"""
    change = update.my_chat_member
    if change is None or change.new_chat_member.status not in GONE:
        return
    await reach.team_chat_refused(
        runtime(context).db,
        chat_id=change.chat.id,
        reason=f"the bot was removed from the group by user {change.from_user.id}",
    )


async def _render_lost(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    with use_language(rt.settings.team.language):
        text = _(
            "⚠️ I can no longer post in the team chat (Telegram says: %(reason)s).\n"
            "Digests, follow-ups and survey alerts cannot reach the team until I am added "
            "back to the group, or [team] chat_id names the new one."
        ) % {"reason": esc(payload["reason"])}
    return Outgoing(text)


notices.register(Notice(reach.KIND_TEAM_CHAT_LOST, render=_render_lost))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
