"""What real Telegram sends beyond plain messages: topics, edits, stray buttons (issue 15).

Every update here is shaped as Telegram shapes it and goes through the real Application.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from sqlmodel import select

from bot.models import Role, Ticket, TicketEvent
from bot.services import team
from tests.fakebot import CallbackAnswer, SentMessage
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

    answer = only(await kefu.process(kefu.updates.edit(logged, "/ticket Broken zipper order:Z2")))
    assert answer.chat_id == TEAM_CHAT
    assert answer.text == "Edits are not commands: send /ticket again as a new message."
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
