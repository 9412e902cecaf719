"""Team set-up from chat: /setup, /agent add|remove, /agents, the command menus."""

from __future__ import annotations

import json

from bot.models import Role
from bot.services import team
from tests.harness import AGENT, AGENT2, MANAGER, STRANGER, TEAM_CHAT, Kefu, only, settings_for


async def test_setup_code_makes_a_manager_and_a_team_chat(db_url: str) -> None:
    kefu = await Kefu(
        settings_for(db_url, team={"managers": [], "agents": [], "chat_id": None})
    ).start()
    try:
        code = await team.issue_setup_code(kefu.runtime.db)
        assert code is not None
        group = -100777
        wrong = only(await kefu.say(STRANGER, "/setup AAAA-BBBB-CCCC", chat=group))
        assert "not right" in (wrong.text or "")
        private = only(await kefu.say(STRANGER, f"/setup {code}"))
        assert "team group" in (private.text or "")
        done = only(await kefu.say(STRANGER, f"/setup {code.lower()}", chat=group))
        assert "Set-up complete" in (done.text or "")
        assert await team.role_of(kefu.runtime.db, STRANGER.user_id) is Role.MANAGER
        assert await team.team_chat_id(kefu.runtime.db) == group
        assert await team.issue_setup_code(kefu.runtime.db) is None
        again = only(await kefu.say(AGENT, f"/setup {code}", chat=group))
        assert "already complete" in (again.text or "")
    finally:
        await kefu.stop()


async def test_manager_adds_and_removes_agents(kefu: Kefu) -> None:
    await kefu.say(STRANGER, "hello", chat=TEAM_CHAT)
    stranger_message = kefu.last_incoming
    refused = only(await kefu.say(STRANGER, "/ticket Let me in", chat=TEAM_CHAT))
    assert "Sorry" in (refused.text or "")
    added = only(await kefu.say(MANAGER, "/agent add", chat=TEAM_CHAT, reply_to=stranger_message))
    assert "Eve is now an agent" in (added.text or "")
    assert "Ticket #1 logged" in (only(await kefu.say(STRANGER, "/ticket Now I can")).text or "")
    listing = only(await kefu.say(AGENT, "/agents", chat=TEAM_CHAT)).text or ""
    assert "Eve (@eve_stranger) — agent" in listing and "Mia (@mia_manager) — manager" in listing
    removed = only(await kefu.say(MANAGER, "/agent remove @eve_stranger", chat=TEAM_CHAT))
    assert "Eve is no longer an agent" in (removed.text or "")
    assert await team.role_of(kefu.runtime.db, STRANGER.user_id) is None
    by_id = only(await kefu.say(MANAGER, f"/agent add {STRANGER.user_id}", chat=TEAM_CHAT))
    assert "now an agent" in (by_id.text or "")


async def test_agent_commands_refuse_bad_targets_and_agents(kefu: Kefu) -> None:
    agent_try = only(await kefu.say(AGENT, "/agent add @someone", chat=TEAM_CHAT))
    assert "only managers" in (agent_try.text or "")
    cases = {
        "/agent": "/agent add or /agent remove",
        "/agent add": "reply to their message",
        "/agent add @nobody_known": "not seen @nobody_known",
        "/agent add 99999": "not seen user 99999",
        f"/agent remove {MANAGER.user_id}": "is a manager",
    }
    for text, expected in cases.items():
        reply = only(await kefu.say(MANAGER, text, chat=TEAM_CHAT))
        assert expected in (reply.text or ""), (text, reply.text)
    assert await team.role_of(kefu.runtime.db, AGENT2.user_id) is Role.AGENT


async def test_command_menus_are_registered_per_role(kefu: Kefu) -> None:
    await kefu.say(MANAGER, "/help")  # gives the manager a private chat with the bot
    await kefu.say(AGENT, "/help")
    from bot.app import runtime
    from handlers.menu import refresh_commands

    await refresh_commands(kefu.app.bot, runtime(kefu.app))
    menus = {
        scope: [entry["command"] for entry in commands]
        for scope, commands in kefu.telegram.commands.items()
    }

    def chat_scope(chat_id: int) -> str:
        return json.dumps({"chat_id": chat_id, "type": "chat"}, sort_keys=True)

    assert menus[json.dumps({"type": "all_private_chats"})] == ["start", "help"]
    assert "agent" in menus[chat_scope(MANAGER.user_id)]
    assert "ticket" in menus[chat_scope(AGENT.user_id)]
    assert "agent" not in menus[chat_scope(AGENT.user_id)]
    assert "ticket" in menus[chat_scope(TEAM_CHAT)]


async def test_team_language_chinese(db_url: str) -> None:
    kefu = await Kefu(settings_for(db_url, team={"language": "zh_CN"})).start()
    try:
        logged = only(await kefu.say(AGENT, "/ticket 包裹破损 cat:物流", chat=TEAM_CHAT)).text or ""
        assert "#1" in logged and "物流" in logged and "Ticket" not in logged
        refused = only(await kefu.say(AGENT, "/show 42")).text or ""
        assert "#42" in refused and "There is no" not in refused
        listing = only(await kefu.say(AGENT, "/tickets")).text or ""
        assert "处理中" in listing
        # Strangers get their own language (English here), not the team's.
        stranger = only(await kefu.say(STRANGER, "/ticket hi")).text or ""
        assert stranger.startswith("Sorry")
    finally:
        await kefu.stop()


async def test_team_language_traditional_chinese(db_url: str) -> None:
    kefu = await Kefu(settings_for(db_url, team={"language": "zh_TW"})).start()
    try:
        logged = only(await kefu.say(AGENT, "/ticket 包裹破損 cat:售後", chat=TEAM_CHAT)).text or ""
        assert "售後單 #1 已登記（服務）" in logged
        refused = only(await kefu.say(AGENT, "/show 42")).text or ""
        assert refused == "沒有 #42 號售後單。"
        listing = only(await kefu.say(AGENT, "/tickets")).text or ""
        assert "處理中" in listing
    finally:
        await kefu.stop()
