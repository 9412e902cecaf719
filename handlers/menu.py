"""The command list: /help shows it per role, and the Telegram menu is registered from it."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import N_, _, use_language
from bot.models import Role
from bot.process.runtime import Runtime
from bot.services import team
from handlers.common import role_allows

log = logging.getLogger(__name__)

# (command, what it does, who may use it: None = everyone)
COMMANDS: list[tuple[str, str, Role | None]] = [
    ("start", N_("open a ticket link / say hello"), None),
    ("help", N_("what I can do for you"), None),
    ("ticket", N_("log a ticket: /ticket text order:… cat:… received:YYYY-MM-DD"), Role.AGENT),
    ("tickets", N_("list tickets: mine, open, overdue or all"), Role.AGENT),
    ("show", N_("show a ticket: /show N"), Role.AGENT),
    ("note", N_("add a note: /note N text"), Role.AGENT),
    ("assign", N_("hand a ticket over: /assign N @agent"), Role.AGENT),
    ("resolve", N_("resolve: /resolve N [root|noroot]"), Role.AGENT),
    ("reopen", N_("reopen a ticket: /reopen N"), Role.AGENT),
    ("cancel", N_("leave the guided ticket flow"), Role.AGENT),
    ("agents", N_("list the team"), Role.AGENT),
    ("agent", N_("add or remove an agent: /agent add|remove"), Role.MANAGER),
    (
        "refund",
        N_("record a refund: /refund N amount [dispute] [requested:YYYY-MM-DD] | /refund N cancel"),
        Role.AGENT,
    ),
    ("intervened", N_("the platform stepped in: /intervened N [cancel]"), Role.AGENT),
    ("sale", N_("a repeat purchase for commission: /sale N amount | /sale N cancel"), Role.AGENT),
    ("orders", N_("set a day's order count: /orders YYYY-MM-DD COUNT"), Role.AGENT),
    ("score", N_("KPI indicators, total and pay: /score [YYYY-MM]"), Role.AGENT),
    ("skill", N_("rate an agent's skill: /skill @agent 10|8|5|0"), Role.MANAGER),
    ("quality", N_("override a ticket's quality: /quality N 10|8|5"), Role.MANAGER),
    (
        "dsr",
        N_("record the shop's DSR: /dsr YYYY-MM-DD description service logistics"),
        Role.MANAGER,
    ),
    ("complaint", N_("record an internal complaint: /complaint N text"), Role.MANAGER),
    ("digest", N_("post the daily digest: /digest [YYYY-MM-DD]"), Role.MANAGER),
    ("report", N_("monthly scores and pay with a CSV: /report [YYYY-MM]"), Role.MANAGER),
    ("export", N_("every ticket of a month as a CSV: /export [YYYY-MM]"), Role.MANAGER),
]


def commands_for(role: Role | None) -> list[tuple[str, str]]:
    """Commands this role may use, described in the current language.

    /setup is left out on purpose: it is used once, with the code `kefu run` prints.
    """
    return [
        (name, _(description))
        for name, description, required in COMMANDS
        if role_allows(required, role)
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
