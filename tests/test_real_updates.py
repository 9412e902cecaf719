"""What real Telegram sends beyond plain messages: topics, edits, stray buttons (issue 15).

Every update here is shaped as Telegram shapes it and goes through the real Application.
"""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from bot.models import Role, Ticket
from bot.services import team
from tests.harness import (
    AGENT,
    CUSTOMER,
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
