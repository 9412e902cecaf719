"""The command list, read from the `@command` declarations: /help per role, the Telegram menu."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import _, use_language
from bot.models import Role
from bot.process.runtime import Runtime
from bot.services import team
from handlers.common import REGISTERED, role_allows

log = logging.getLogger(__name__)


def commands_for(role: Role | None) -> list[tuple[str, str]]:
    """Commands this role may use, described in the current language.

    /setup is left out on purpose: it is used once, with the code `kefu run` prints.
    """
    return [
        (spec.name, _(spec.help))
        for spec in REGISTERED.values()
        if spec.help is not None and role_allows(spec.role, role)
    ]


async def refresh_commands(bot: Bot, rt: Runtime) -> None:
    """Register the per-role menus; a failure here is logged, never fatal."""
    language = rt.settings.team.language
    try:
        with use_language(language):
            await bot.set_my_commands(_menu(None), scope=BotCommandScopeAllPrivateChats())
            team_chat = await team.team_chat_id(rt.db)
            if team_chat is not None:
                await bot.set_my_commands(_menu(Role.AGENT), scope=BotCommandScopeChat(team_chat))
            for member in await team.members(rt.db):
                if member.has_private_chat and member.role is not None:
                    await bot.set_my_commands(
                        _menu(member.role), scope=BotCommandScopeChat(member.user_id)
                    )
    except TelegramError as exc:
        log.warning("could not register the command menu: %s", exc)


def _menu(role: Role | None) -> list[BotCommand]:
    return [BotCommand(name, description[:256]) for name, description in commands_for(role)]
