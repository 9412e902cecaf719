"""What real Telegram sends beyond plain messages: topics, edits, stray buttons (issue 15).

Every update here is shaped as Telegram shapes it and goes through the real Application.
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.models import Outbox, Role, Ticket, TicketEvent
from bot.services import reach, team
from tests.fakebot import CallbackAnswer, FakeTelegram, SentMessage, UpdateFactory
from tests.harness import (
    AGENT,
    CUSTOMER,
    CUSTOMER_EN,
    MANAGER,
    OTHER_GROUP,
    STRANGER,
    TEAM_CHAT,
    Kefu,
    only,
    settings_for,
)


async def tickets_in_db(kefu: Kefu) -> list[Ticket]:
    async with kefu.runtime.db.transaction() as session:
        return list(await session.exec(select(Ticket).order_by(Ticket.id)))


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    broken = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not broken, [r.getMessage() for r in broken]


# ---------------------------------------------------------------- forum topics


async def test_ticket_in_a_topic_links_only_the_person_really_replied_to(
    kefu: Kefu, caplog: pytest.LogCaptureFixture
) -> None:
    # A manager opens a topic in a customer group; in it, Telegram makes every message a
    # "reply" to the topic's creation message.
    topic = kefu.updates.forum_topic(MANAGER.json, OTHER_GROUP, "Chen's parcel")
    await kefu.process(topic)
    await kefu.say(CUSTOMER, "My parcel is broken", chat=OTHER_GROUP, topic=topic)
    customer_message = kefu.last_incoming

    plain = only(await kefu.say(AGENT, "/ticket Parcel broken", chat=OTHER_GROUP, topic=topic))
    assert "Ticket #1 logged" in (plain.text or "")
    assert "linked to" not in (plain.text or "")

    answered = only(
        await kefu.say(
            AGENT,
            "/ticket Parcel broken again",
            chat=OTHER_GROUP,
            topic=topic,
            reply_to=customer_message,
        )
    )
    assert "Ticket #2 logged" in (answered.text or "")
    assert "linked to Chen" in (answered.text or "")

    first, second = await tickets_in_db(kefu)
    assert (first.customer_user_id, first.customer_name) == (None, None)
    assert second.customer_user_id == CUSTOMER.user_id
    no_traceback(caplog)


async def test_agent_named_in_a_topic_only_by_a_real_reply(
    kefu: Kefu, caplog: pytest.LogCaptureFixture
) -> None:
    # A topic of the team chat opened by someone: "/agent add" in it, replying to nobody,
    # must not make the topic's creator an agent.
    topic = kefu.updates.forum_topic(STRANGER.json, TEAM_CHAT, "Questions")
    await kefu.process(topic)
    refused = only(await kefu.say(MANAGER, "/agent add", chat=TEAM_CHAT, topic=topic))
    assert refused.text == "Name a person by user id, by @username, or reply to their message."
    assert await team.role_of(kefu.runtime.db, STRANGER.user_id) is None

    await kefu.say(STRANGER, "I would like to help", chat=TEAM_CHAT, topic=topic)
    added = only(
        await kefu.say(
            MANAGER, "/agent add", chat=TEAM_CHAT, topic=topic, reply_to=kefu.last_incoming
        )
    )
    assert added.text == "Eve is now an agent."
    assert await team.role_of(kefu.runtime.db, STRANGER.user_id) is Role.AGENT
    no_traceback(caplog)


# ---------------------------------------------------------------- edits


async def test_an_edited_command_runs_nothing(kefu: Kefu, caplog: pytest.LogCaptureFixture) -> None:
    logged = kefu.updates.message(AGENT.json, TEAM_CHAT, "/ticket Broken zipper order:Z1")
    assert "Ticket #1 logged" in (only(await kefu.process(logged)).text or "")

    edit = kefu.updates.edit(logged, "/ticket Broken zipper order:Z2")
    answer = only(await kefu.process(edit))
    assert answer.chat_id == TEAM_CHAT
    assert answer.text == "Edits are not commands: send /ticket again as a new message."
    assert await kefu.process(edit) == []  # Telegram's redelivery of it is handled already
    [ticket] = await tickets_in_db(kefu)
    assert ticket.order_ref == "Z1"

    # A private message edited into a command: #1 stays open.
    private = kefu.updates.message(AGENT.json, AGENT.user_id, "thanks")
    await kefu.process(private)
    edited = only(await kefu.process(kefu.updates.edit(private, "/resolve 1 root")))
    assert edited.text == "Edits are not commands: send /resolve again as a new message."
    [ticket] = await tickets_in_db(kefu)
    assert ticket.status == "open"

    # A customer's edit is simply ignored, command or not.
    said = kefu.updates.message(CUSTOMER.json, CUSTOMER.user_id, "hello")
    await kefu.process(said)
    assert await kefu.process(kefu.updates.edit(said, "/start")) == []
    no_traceback(caplog)


# ---------------------------------------------------------------- buttons


def answer_to(kefu: Kefu, update: dict[str, Any]) -> CallbackAnswer:
    answers = kefu.telegram.callback_answers
    assert update["callback_query"]["id"] in answers, "the press was never answered"
    return answers[update["callback_query"]["id"]]


async def resolve_question(kefu: Kefu, chat: int) -> SentMessage:
    """A ticket logged in `chat` and the message asking how #1 was resolved, with buttons."""
    await kefu.say(AGENT, "/ticket Parcel broken order:A1", chat=chat)
    return only(await kefu.say(AGENT, "/resolve 1", chat=chat))


async def test_every_button_press_is_answered(kefu: Kefu, caplog: pytest.LogCaptureFixture) -> None:
    question = await resolve_question(kefu, TEAM_CHAT)
    presses = {
        "garbage": kefu.updates.press(AGENT.json, message=question, data="\x00zz‮xx"),
        "empty": kefu.updates.press(AGENT.json, message=question, data=""),
        "game": kefu.updates.press(AGENT.json, message=question, game_short_name="snake"),
        "inline": kefu.updates.press(
            AGENT.json, inline_message_id="AAQBxyz", data="resolve:1:root"
        ),
        "unknown ticket": kefu.updates.press(AGENT.json, message=question, data="resolve:99:root"),
        "stale survey": kefu.updates.press(
            CUSTOMER_EN.json, message=question, data="sv:1:10:" + "0" * 20
        ),
    }
    for update in presses.values():
        assert await kefu.process(update) == []
    answers = {name: answer_to(kefu, update) for name, update in presses.items()}
    assert answers["garbage"].text == "This button no longer works."
    assert answers["empty"].text == "This button no longer works."
    assert answers["game"].text == "This button no longer works."
    assert answers["inline"].text is None
    assert answers["unknown ticket"].text == "There is no ticket #99."
    assert answers["unknown ticket"].show_alert
    assert answers["stale survey"].text == "This button is not valid."
    [ticket] = await tickets_in_db(kefu)
    assert ticket.status == "open"
    no_traceback(caplog)


async def test_a_refused_press_in_a_customer_group_is_an_alert_not_a_post(
    kefu: Kefu, caplog: pytest.LogCaptureFixture
) -> None:
    question = await resolve_question(kefu, OTHER_GROUP)
    posted = len(kefu.sent_to(OTHER_GROUP))

    customer = kefu.updates.press(CUSTOMER_EN.json, message=question, data="resolve:1:root")
    assert await kefu.process(customer) == []
    refusal = answer_to(kefu, customer)
    assert refusal.show_alert
    assert (refusal.text or "").startswith("Sorry, this command is for the after-sales team.")

    # The "Open #1" button of a follow-up shows team data: not in a customer group.
    opened = kefu.updates.press(AGENT.json, message=question, data="followup:open:1")
    assert await kefu.process(opened) == []
    wrong_place = answer_to(kefu, opened)
    assert wrong_place.show_alert
    assert wrong_place.text == "Team data is shown only in the team chat or a private chat with me."

    assert len(kefu.sent_to(OTHER_GROUP)) == posted
    [ticket] = await tickets_in_db(kefu)
    assert ticket.status == "open"
    no_traceback(caplog)


@pytest.mark.parametrize(
    "edit_error",
    [
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
        "Bad Request: message to edit not found",
        "Bad Request: message can't be edited",
    ],
)
async def test_a_resolve_button_resolves_whatever_the_keyboard_edit_does(
    kefu: Kefu, caplog: pytest.LogCaptureFixture, edit_error: str
) -> None:
    question = await resolve_question(kefu, TEAM_CHAT)
    kefu.telegram.fail("editMessageReplyMarkup", status=400, description=edit_error)
    press = kefu.updates.press(AGENT.json, message=question, data="resolve:1:root")
    sent = only(await kefu.process(press))
    assert sent.text is not None and sent.text.startswith("#1 resolved (quality 10).")
    assert answer_to(kefu, press).text is None
    [ticket] = await tickets_in_db(kefu)
    assert (ticket.status, ticket.quality) == ("resolved", 10)
    no_traceback(caplog)


async def test_a_double_tap_resolves_once(kefu: Kefu, caplog: pytest.LogCaptureFixture) -> None:
    question = await resolve_question(kefu, TEAM_CHAT)
    first = kefu.updates.press(AGENT.json, message=question, data="resolve:1:noroot")
    second = kefu.updates.press(AGENT.json, message=question, data="resolve:1:root")
    sent = await kefu.burst([first, second])
    assert [m.text.split("\n")[0] for m in sent if m.text] == ["#1 resolved (quality 8)."]
    assert answer_to(kefu, first).text is None
    assert answer_to(kefu, second).text == "Ticket #1 is already resolved."
    async with kefu.runtime.db.transaction() as session:
        events = await session.exec(select(TicketEvent).where(TicketEvent.kind == "resolved"))
        assert len(list(events)) == 1
    [ticket] = await tickets_in_db(kefu)
    assert ticket.quality == 8
    no_traceback(caplog)


# ---------------------------------------------------------------- logs


async def test_user_text_reaches_the_log_escaped_and_cut(
    kefu: Kefu, logging_as_kefu_run: io.StringIO
) -> None:
    question = await resolve_question(kefu, TEAM_CHAT)
    # 64 bytes is all Telegram lets a button carry, but an update from anywhere may carry more.
    data = "x\x00y\u202eevil\nFAKE LINE" + "z" * 500
    press = kefu.updates.press(AGENT.json, message=question, data=data)
    await kefu.process(press)
    assert answer_to(kefu, press).text == "This button no longer works."

    written = logging_as_kefu_run.getvalue()
    [line] = [x for x in written.splitlines() if "button nobody handles" in x]
    # No raw NUL or override anywhere (the library's own debug lines included), and the
    # newline forged no line.
    assert "\x00" not in written and "\u202e" not in written
    assert "\nFAKE LINE" not in written
    # repr() escapes the NUL and the newline itself; the override it leaves raw is escaped
    # here, and the 200-character cut keeps the line short.
    assert "x\\x00y\\u202eevil\\nFAKE LINE" in line
    assert "zzz…(+" in line and "chars)" in line
    assert len(line) < 400


# ---------------------------------------------------------------- the team chat moves

OLD_GROUP = -4001234567  # a basic group's id
SUPERGROUP = -1004001234567  # what Telegram makes of it


async def team_in_a_basic_group(
    db_url: str, telegram: FakeTelegram | None = None, *, first_update_id: int = 1
) -> Kefu:
    kefu = Kefu(settings_for(db_url, team={"chat_id": OLD_GROUP}), telegram)
    # A restarted bot gets the updates that follow, not the ones it handled already.
    kefu.updates = UpdateFactory(kefu.telegram, first_update_id=first_update_id)
    kefu.updates.group_chat(OLD_GROUP, "After-sales team", "group")
    return await kefu.start()


async def log_old_ticket(kefu: Kefu, chat: int, *, days: int) -> None:
    """A ticket logged in `chat` `days` days after the customer raised it."""
    received = (clock.now() - timedelta(days=days)).astimezone(kefu.settings.team.tz)
    text = f"/ticket Zipper broke received:{received:%Y-%m-%dT%H:%M}"
    only(await kefu.say(AGENT, text, chat=chat))


async def escalation_queued(kefu: Kefu, chat: int) -> int:
    """A ticket logged in `chat` six days after the customer raised it, and the follow-up
    sweep run (nothing delivered yet): its escalation waits for the team chat."""
    await log_old_ticket(kefu, chat, days=6)
    return await swept(kefu, chat)


async def swept(kefu: Kefu, chat: int) -> int:
    """Run the follow-up sweep; how many messages now wait for `chat`."""
    await kefu.run_job("followup-sweep")
    async with kefu.runtime.db.transaction() as session:
        rows = await session.exec(select(Outbox).where(Outbox.status == "pending"))
        return len([row for row in rows if row.chat_id == chat])


def escalations(kefu: Kefu, chat: int) -> list[str]:
    return [t for t in kefu.texts_to(chat) if "has been open for" in t]


async def team_chat(kefu: Kefu) -> int | None:
    return await team.team_chat_id(kefu.runtime.db)


async def upgraded_with_an_escalation_queued(db_url: str, telegram: FakeTelegram) -> Kefu:
    """The team in a basic group, an escalation queued for it, and then Telegram upgrades
    the group (nothing told to the bot yet; what it recorded so far is cleared)."""
    kefu = await team_in_a_basic_group(db_url, telegram)
    await kefu.say(MANAGER, "/help")  # a private chat, so the managers can be written to
    assert await escalation_queued(kefu, OLD_GROUP) == 1
    telegram.migrate(OLD_GROUP, SUPERGROUP)
    telegram.clear()
    return kefu


async def test_the_team_chat_follows_an_upgrade_first_seen_as_a_send_error(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = FakeTelegram()
    kefu = await upgraded_with_an_escalation_queued(db_url, telegram)
    try:
        await kefu.deliver()
        to_old = [c for c in telegram.calls() if c.params.get("chat_id") == OLD_GROUP]
        assert [c.status for c in to_old] == [400]  # the one try that taught us the move
        [escalation] = escalations(kefu, SUPERGROUP)
        assert "Ticket #1 has been open for 6d 0h" in escalation
        assert escalations(kefu, OLD_GROUP) == []
        assert await team_chat(kefu) == SUPERGROUP
        told = [r.getMessage() for r in caplog.records if "set [team] chat_id" in r.getMessage()]
        assert told == [
            f"the team chat {OLD_GROUP} was upgraded by Telegram to the supergroup "
            f"{SUPERGROUP}, now the team chat (1 queued messages follow it); "
            f"set [team] chat_id = {SUPERGROUP} in the config"
        ]

        # The service messages arrive after: nothing moves twice, nothing is sent again.
        for update in kefu.updates.chat_migration(MANAGER.json, OLD_GROUP, SUPERGROUP):
            assert await kefu.process(update) == []
        await kefu.deliver()
        assert len(escalations(kefu, SUPERGROUP)) == 1
        to_old = [c for c in telegram.calls() if c.params.get("chat_id") == OLD_GROUP]
        assert [c.status for c in to_old] == [400]

        # Commands from the new chat work as from the team chat.
        team_list = only(await kefu.say(MANAGER, "/agents", chat=SUPERGROUP))
        assert (team_list.text or "").startswith("<b>The team</b>")
        resolved = only(await kefu.say(AGENT, "/resolve 1 root", chat=SUPERGROUP))
        assert (resolved.text or "").startswith("#1 resolved (quality 10).")
    finally:
        await kefu.stop()

    # Restarted with the config still naming the old group: the team chat stays the new one.
    caplog.clear()
    again = await team_in_a_basic_group(db_url, telegram, first_update_id=1000)
    try:
        assert await team_chat(again) == SUPERGROUP
        told = [r.getMessage() for r in caplog.records if "set [team] chat_id" in r.getMessage()]
        assert told == [
            f"[team] chat_id {OLD_GROUP} is a group Telegram upgraded to the supergroup "
            f"{SUPERGROUP}, which stays the team chat: set [team] chat_id = {SUPERGROUP} "
            "in the config"
        ]
        assert (only(await again.say(MANAGER, "/agents", chat=SUPERGROUP)).text or "").startswith(
            "<b>The team</b>"
        )
    finally:
        await again.stop()
    no_traceback(caplog)


async def test_the_team_chat_follows_an_upgrade_first_seen_as_a_service_message(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = FakeTelegram()
    kefu = await upgraded_with_an_escalation_queued(db_url, telegram)
    try:
        in_old, in_new = kefu.updates.chat_migration(MANAGER.json, OLD_GROUP, SUPERGROUP)
        sent = await kefu.process(in_old)  # delivers what is queued, to the new id
        assert [m.chat_id for m in sent] == [SUPERGROUP]
        assert "Ticket #1 has been open for 6d 0h" in (sent[0].text or "")
        assert await team_chat(kefu) == SUPERGROUP
        assert await kefu.process(in_new) == []
        await kefu.deliver()
        assert len(telegram.sent) == 1
        assert not [c for c in telegram.calls() if c.params.get("chat_id") == OLD_GROUP]
        # A manager's command in the new chat: team data, not refused as a stranger's group.
        team_list = only(await kefu.say(MANAGER, "/agents", chat=SUPERGROUP))
        assert (team_list.text or "").startswith("<b>The team</b>")
    finally:
        await kefu.stop()
    no_traceback(caplog)


# ---------------------------------------------------------------- removed, then back


async def removed(kefu: Kefu) -> None:
    kefu.telegram.left_chats.add(TEAM_CHAT)
    update = kefu.updates.my_chat_member(
        TEAM_CHAT, AGENT.json, kefu.telegram.bot_user, old_status="member", new_status="kicked"
    )
    sent = await kefu.process(update)
    assert [m.chat_id for m in sent] == [MANAGER.user_id]
    assert "I can no longer post in the team chat" in (sent[0].text or "")


async def added_back(kefu: Kefu) -> list[SentMessage]:
    kefu.telegram.left_chats.discard(TEAM_CHAT)
    update = kefu.updates.my_chat_member(
        TEAM_CHAT, MANAGER.json, kefu.telegram.bot_user, old_status="left", new_status="member"
    )
    return await kefu.process(update)


async def outbox_statuses(kefu: Kefu) -> dict[str, str]:
    async with kefu.runtime.db.transaction() as session:
        rows = await session.exec(select(Outbox).order_by(Outbox.id))
        return {row.dedupe_key: row.status for row in rows}


async def test_an_escalation_due_while_the_bot_was_removed_is_posted_once_it_is_back(
    kefu: Kefu, caplog: pytest.LogCaptureFixture
) -> None:
    await kefu.say(MANAGER, "/help")
    await log_old_ticket(kefu, TEAM_CHAT, days=4)
    await removed(kefu)
    clock.advance(timedelta(days=2))  # the escalation falls due while the bot is out
    assert await swept(kefu, TEAM_CHAT) == 1
    await kefu.deliver()
    assert escalations(kefu, TEAM_CHAT) == []
    assert "held" in (await outbox_statuses(kefu)).values()

    back = await added_back(kefu)
    assert sorted(m.chat_id for m in back) == sorted([MANAGER.user_id, TEAM_CHAT])
    [escalation] = escalations(kefu, TEAM_CHAT)
    assert "Ticket #1 has been open for 6d 0h" in escalation
    [told] = [m.text for m in back if m.chat_id == MANAGER.user_id]
    assert told == (
        "✅ I am back in the team chat.\nMessages it missed meanwhile, posted there now: 1."
    )
    assert "held" not in (await outbox_statuses(kefu)).values()

    # Delivered once: more passes, or Telegram repeating that the bot is a member, add nothing.
    await kefu.deliver()
    promoted = kefu.updates.my_chat_member(
        TEAM_CHAT,
        MANAGER.json,
        kefu.telegram.bot_user,
        old_status="member",
        new_status="administrator",
    )
    assert await kefu.process(promoted) == []
    assert len(escalations(kefu, TEAM_CHAT)) == 1
    no_traceback(caplog)


async def test_held_over_a_day_the_managers_get_a_list_instead(
    kefu: Kefu, caplog: pytest.LogCaptureFixture
) -> None:
    await kefu.say(MANAGER, "/help")
    await log_old_ticket(kefu, TEAM_CHAT, days=4)
    await removed(kefu)
    clock.advance(timedelta(days=2))
    assert await swept(kefu, TEAM_CHAT) == 1
    await kefu.deliver()
    clock.advance(reach.STALE_AFTER + timedelta(hours=1))

    back = await added_back(kefu)
    [told] = back
    assert told.chat_id == MANAGER.user_id
    lines = (told.text or "").split("\n")
    assert lines[0] == "✅ I am back in the team chat."
    assert lines[1] == "Held for over a day, these were not posted; what the team missed:"
    assert lines[2].startswith("• 🚨 Ticket #1 has been open for 7d 1h")
    assert len(lines) == 3
    assert escalations(kefu, TEAM_CHAT) == []
    assert "missed" in (await outbox_statuses(kefu)).values()
    await kefu.deliver()
    assert escalations(kefu, TEAM_CHAT) == []
    no_traceback(caplog)


async def test_the_team_chat_follows_an_upgrade_first_seen_when_replying(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = FakeTelegram()
    kefu = await team_in_a_basic_group(db_url, telegram)
    try:
        # Sent in the group just before Telegram upgraded it; the reply finds it moved.
        late = kefu.updates.message(AGENT.json, OLD_GROUP, "/tickets")
        telegram.migrate(OLD_GROUP, SUPERGROUP)
        assert await kefu.process(late) == []
        assert await team_chat(kefu) == SUPERGROUP
        answer = only(await kefu.say(AGENT, "/tickets", chat=SUPERGROUP))
        assert answer.text == "No tickets here."
    finally:
        await kefu.stop()
    no_traceback(caplog)
