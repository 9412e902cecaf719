"""The team chat's life in Telegram: the bot removed and added back, the group upgraded.

Removed from the team chat, the bot tells the managers privately and holds what the team
chat cannot receive; added back, it sends that (or lists what is too old) and tells them
again. A group upgraded to a supergroup gets a new id; the team chat follows it.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import ChatMember, Update
from telegram.ext import Application, ChatMemberHandler, MessageHandler, filters

from bot import outbox
from bot.i18n import _, use_language
from bot.outbox.notices import REGISTRY, Notice, Outgoing
from bot.process.runtime import Runtime
from bot.services import reach
from handlers.common import Context, runtime
from handlers.markup import esc
from handlers.menu import refresh_commands

GONE = frozenset({ChatMember.LEFT, ChatMember.BANNED})
IN = frozenset({ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER})
# How many missed messages the managers' list names one by one.
MISSED_LISTED = 20
_TAG = re.compile(r"<[^>]+>")


async def bot_membership(update: Update, context: Context) -> None:
    """Telegram says the bot left or joined a chat: was it the team chat?"""
    change = update.my_chat_member
    if change is None:
        return
    rt = runtime(context)
    status = change.new_chat_member.status
    if status in GONE:
        await reach.team_chat_refused(
            rt.db,
            chat_id=change.chat.id,
            reason=f"the bot was removed from the group by user {change.from_user.id}",
        )
    elif status in IN or (status == ChatMember.RESTRICTED and change.new_chat_member.is_member):  # type: ignore[attr-defined]
        await reach.team_chat_back(rt.db, chat_id=change.chat.id)


async def chat_migrated(update: Update, context: Context) -> None:
    """The service message of a group upgraded to a supergroup (sent in both chats)."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id is not None:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    rt = runtime(context)
    moved = await reach.chat_moved(rt.db, old_chat_id=old, new_chat_id=new)
    if moved.team_chat:
        # The team's command menu is scoped to the team chat's id.
        await refresh_commands(context.bot, rt)


async def _render_lost(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    with use_language(rt.settings.team.language):
        text = _(
            "⚠️ I can no longer post in the team chat (Telegram says: %(reason)s).\n"
            "Digests, follow-ups and survey alerts cannot reach the team until I am added "
            "back to the group, or [team] chat_id names the new one."
        ) % {"reason": esc(payload["reason"])}
    return Outgoing(text)


async def _headline(rt: Runtime, item: outbox.Pending) -> str | None:
    """The first line of a held message as it would read now; None if no longer relevant."""
    notice = REGISTRY.get(item.kind)
    outgoing = await notice.render(rt, item.payload) if notice else None
    if outgoing is None:
        return None
    first = outgoing.text.split("\n", 1)[0]
    return _TAG.sub("", first).strip() or None


async def _render_back(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    missed = [
        line
        for item in await outbox.rows(rt.db, list(payload["missed"]))
        if (line := await _headline(rt, item))
    ]
    with use_language(rt.settings.team.language):
        lines = [_("✅ I am back in the team chat.")]
        if payload["delivered"]:
            lines.append(
                _("Messages it missed meanwhile, posted there now: %(count)s.")
                % {"count": payload["delivered"]}
            )
        if missed:
            lines.append(_("Held for over a day, these were not posted; what the team missed:"))
            lines += [f"• {line}" for line in missed[:MISSED_LISTED]]
            if len(missed) > MISSED_LISTED:
                lines.append(_("… and %(count)s more.") % {"count": len(missed) - MISSED_LISTED})
    return Outgoing("\n".join(lines))


NOTICES = (
    Notice(reach.KIND_TEAM_CHAT_LOST, render=_render_lost),
    Notice(reach.KIND_TEAM_CHAT_BACK, render=_render_back),
)


def register(app: Application) -> None:
    app.add_handler(ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated))
