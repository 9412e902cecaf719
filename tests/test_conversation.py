"""Customers and agents talking through Kefu, through the real Application: the relay both
ways (text and media), several tickets, resolved tickets, blocked customers, what never
reaches a customer, and delivery across Telegram failures."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from bot.models import ConversationMessage, Outbox, Ticket
from tests.harness import (
    AGENT,
    AGENT2,
    CUSTOMER,
    CUSTOMER_EN,
    MANAGER,
    STRANGER,
    TEAM_CHAT,
    Kefu,
    Person,
    only,
    settings_for,
)

LINK = re.compile(r"https://t\.me/kefu_test_bot\?start=([A-Za-z0-9_-]+)")


async def running(db_url: str, **sections: dict[str, Any]) -> Kefu:
    return await Kefu(settings_for(db_url, **sections)).start()


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[Kefu]:
    kefu = await running(db_url)
    try:
        yield kefu
    finally:
        await kefu.stop()


async def linked_ticket(
    kefu: Kefu, customer: Person = CUSTOMER, text: str = "Parcel arrived broken order:A1"
) -> int:
    """The agent logs a ticket in the team chat and `customer` opens its link."""
    reply = only(await kefu.say(AGENT, f"/ticket {text}", chat=TEAM_CHAT))
    match = LINK.search(reply.text or "")
    assert match, reply.text
    number = int(re.search(r"#(\d+)", reply.text or "").group(1))  # type: ignore[union-attr]
    await kefu.say(customer, f"/start {match.group(1)}")
    return number


async def agent_in_private(kefu: Kefu, agent: Person = AGENT) -> None:
    """The agent has a private chat with the bot, so relays can reach them there."""
    await kefu.say(agent, "/help")


async def messages(kefu: Kefu) -> list[ConversationMessage]:
    async with kefu.runtime.db.transaction() as session:
        rows = await session.exec(select(ConversationMessage).order_by(ConversationMessage.id))  # type: ignore[arg-type]
        return list(rows)


async def ticket_row(kefu: Kefu, number: int) -> Ticket:
    async with kefu.runtime.db.transaction() as session:
        found = await session.get(Ticket, number)
        assert found is not None
        return found


# ---------------------------------------------------------------- customer → agent → customer


async def test_text_is_relayed_to_the_agent_and_the_reply_reaches_the_customer(bot: Kefu) -> None:
    await agent_in_private(bot)
    number = await linked_ticket(bot)

    sent = await bot.say(CUSTOMER, "Where is my parcel?")
    relayed = only([m for m in sent if m.chat_id == AGENT.user_id])
    assert relayed.text == f"<b>#{number}</b> · Chen\nWhere is my parcel?"
    assert not [m for m in sent if m.chat_id == CUSTOMER.user_id]  # no noise for the customer

    sent = await bot.say(AGENT, "It left the warehouse today.", reply_to=relayed)
    to_customer = only([m for m in sent if m.chat_id == CUSTOMER.user_id])
    assert to_customer.text == f"<b>#{number}</b>\nIt left the warehouse today."
    confirmation = only([m for m in sent if m.chat_id == AGENT.user_id])
    assert confirmation.text == f"Delivered to Chen (#{number})."
    assert confirmation.result["reply_to_message"]["text"] == "It left the warehouse today."

    stored = await messages(bot)
    assert [(m.direction, m.text, m.status) for m in stored] == [
        ("in", "Where is my parcel?", "delivered"),
        ("out", "It left the warehouse today.", "delivered"),
    ]


async def test_slash_reply_answers_and_signing_shows_the_agent_first_name(db_url: str) -> None:
    kefu = await running(db_url, conversation={"sign_replies": True, "notify": "team"})
    try:
        number = await linked_ticket(kefu)
        sent = await kefu.say(AGENT, f"/reply {number} We are sending a new one.", chat=TEAM_CHAT)
        to_customer = only([m for m in sent if m.chat_id == CUSTOMER.user_id])
        assert to_customer.text == f"<b>#{number} · Alex</b>\nWe are sending a new one."
        assert [m.text for m in sent if m.chat_id == TEAM_CHAT] == [
            f"Delivered to Chen (#{number})."
        ]
    finally:
        await kefu.stop()


async def test_notify_team_relays_to_the_team_chat(db_url: str) -> None:
    kefu = await running(db_url, conversation={"notify": "team"})
    try:
        await agent_in_private(kefu)
        number = await linked_ticket(kefu)
        sent = await kefu.say(CUSTOMER, "Hello?")
        assert [m.text for m in sent] == [f"<b>#{number}</b> · Chen\nHello?"]
        assert sent[0].chat_id == TEAM_CHAT
        # Any team member answers by replying in the team chat.
        answer = await kefu.say(AGENT2, "Hi, looking into it.", chat=TEAM_CHAT, reply_to=sent[0])
        assert [m.text for m in answer if m.chat_id == CUSTOMER.user_id] == [
            f"<b>#{number}</b>\nHi, looking into it."
        ]
    finally:
        await kefu.stop()


async def test_agent_without_a_private_chat_gets_it_in_the_team_chat(bot: Kefu) -> None:
    number = await linked_ticket(bot)
    sent = await bot.say(CUSTOMER, "Anyone?")
    assert [(m.chat_id, m.text) for m in sent] == [(TEAM_CHAT, f"<b>#{number}</b> · Chen\nAnyone?")]


async def test_media_both_ways_are_copied(bot: Kefu) -> None:
    await agent_in_private(bot)
    number = await linked_ticket(bot)

    sent = await bot.send_media(CUSTOMER, "photo", caption="The box <torn>")
    photo = only(sent)
    assert photo.method == "copyMessage" and photo.chat_id == AGENT.user_id
    assert photo.result["photo"][-1]["file_id"].startswith("IN-photo")
    assert photo.result["caption"] == f"<b>#{number}</b> · Chen\nThe box &lt;torn&gt;"

    for kind in ("document", "voice", "video"):
        copied = only(await bot.send_media(CUSTOMER, kind))
        assert copied.method == "copyMessage" and kind in copied.result
        assert copied.result["caption"] == f"<b>#{number}</b> · Chen"

    # A sticker cannot carry a caption: the heading goes first, the copy answers it.
    heading, sticker = await bot.send_media(CUSTOMER, "sticker")
    assert heading.text == f"<b>#{number}</b> · Chen" and heading.method == "sendMessage"
    assert sticker.method == "copyMessage" and "sticker" in sticker.result
    assert sticker.result["reply_to_message"]["message_id"] == heading.message_id

    # The agent answers the photo with a photo of their own, by replying to the relayed copy.
    sent = await bot.send_media(AGENT, "photo", caption="Return label", reply_to=photo)
    to_customer = only([m for m in sent if m.chat_id == CUSTOMER.user_id])
    assert to_customer.method == "copyMessage"
    assert to_customer.result["caption"] == f"<b>#{number}</b>\nReturn label"
    assert [m.text for m in sent if m.chat_id == AGENT.user_id] == [
        f"Delivered to Chen (#{number})."
    ]

    # And a document captioned "/reply N text" in the team chat.
    sent = await bot.send_media(
        AGENT, "document", chat=TEAM_CHAT, caption=f"/reply {number} Your invoice"
    )
    to_customer = only([m for m in sent if m.chat_id == CUSTOMER.user_id])
    assert to_customer.result["caption"] == f"<b>#{number}</b>\nYour invoice"
    assert "document" in to_customer.result


async def test_several_open_tickets_ask_once_and_the_choice_sticks(bot: Kefu) -> None:
    await agent_in_private(bot)
    first = await linked_ticket(bot, text="Parcel broken")
    second = await linked_ticket(bot, text="Wrong colour")

    asked = only(await bot.say(CUSTOMER, "Any news?"))
    assert asked.chat_id == CUSTOMER.user_id
    assert [b["text"] for row in asked.buttons for b in row] == [
        f"#{second} Wrong colour",
        f"#{first} Parcel broken",
    ]
    # Not asked again while the question stands; nothing is lost meanwhile.
    assert await bot.say(CUSTOMER, "Hello??") == []

    sent = await bot.press_label(CUSTOMER, asked, f"#{first} Parcel broken")
    relayed = [m.text for m in sent if m.chat_id == AGENT.user_id]
    assert relayed == [f"<b>#{first}</b> · Chen\nAny news?", f"<b>#{first}</b> · Chen\nHello??"]
    # Chen's Telegram speaks Chinese: so does the bot, to him.
    assert [m.text for m in sent if m.chat_id == CUSTOMER.user_id] == [
        f"谢谢。您的消息现在会转到售后单 #{first}。 您刚才发送的消息已转给客服。\n"
        "要咨询其他售后单，请发送 /switch。"
    ]

    sent = await bot.say(CUSTOMER, "Still broken")
    assert [m.text for m in sent] == [f"<b>#{first}</b> · Chen\nStill broken"]

    # /switch picks another.
    menu = only(await bot.say(CUSTOMER, "/switch"))
    await bot.press_label(CUSTOMER, menu, f"#{second} Wrong colour")
    sent = await bot.say(CUSTOMER, "About the colour")
    assert [m.text for m in sent] == [f"<b>#{second}</b> · Chen\nAbout the colour"]


async def test_a_customer_cannot_pick_someone_elses_ticket(bot: Kefu) -> None:
    await linked_ticket(bot, text="Mine")
    await linked_ticket(bot, text="Also mine")
    others = await linked_ticket(bot, CUSTOMER_EN, text="Dana's")
    asked = only(await bot.say(CUSTOMER, "Hi"))
    before = len(bot.telegram.sent)
    await bot.press(CUSTOMER, asked, f"conv:pick:{others}")
    assert bot.telegram.sent[-1].text == "这不是您的售后单。"
    assert all(m.chat_id != TEAM_CHAT for m in bot.telegram.sent[before:])
    assert all(m.ticket_id is None for m in await messages(bot))


async def test_a_message_on_a_resolved_ticket_is_relayed_marked_and_does_not_reopen(
    bot: Kefu,
) -> None:
    await agent_in_private(bot)
    number = await linked_ticket(bot)
    await bot.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT)
    sent = await bot.say(CUSTOMER, "It broke again")
    assert [m.text for m in sent if m.chat_id == AGENT.user_id] == [
        f"<b>#{number}</b> · Chen · <i>ticket already resolved</i>\nIt broke again"
    ]
    assert [m.text for m in sent if m.chat_id == CUSTOMER.user_id] == [
        f"您的售后单 #{number} 已解决；您的消息已转给售后团队。"
    ]
    assert (await ticket_row(bot, number)).status == "resolved"


async def test_someone_without_a_ticket_gets_a_polite_answer_and_nothing_is_forwarded(
    bot: Kefu,
) -> None:
    sent = await bot.say(STRANGER, "Hello, my order?")
    assert [m.chat_id for m in sent] == [STRANGER.user_id]
    assert "ticket link" in (sent[0].text or "")
    assert await messages(bot) == []


# ---------------------------------------------------------------- what never reaches a customer


async def test_team_chat_talk_never_reaches_a_customer(bot: Kefu) -> None:
    number = await linked_ticket(bot)
    relayed = only(await bot.say(CUSTOMER, "Any news?"))
    chatter = only(await bot.say(MANAGER, "/show 1", chat=TEAM_CHAT))
    before = len(bot.telegram.sent_to(CUSTOMER.user_id))
    await bot.say(AGENT, "Who handles this one?", chat=TEAM_CHAT)  # not a reply
    await bot.say(AGENT, "I will", chat=TEAM_CHAT, reply_to=chatter)  # a reply to something else
    await bot.say(AGENT, f"/note {number} customer sounds upset", chat=TEAM_CHAT)
    assert len(bot.telegram.sent_to(CUSTOMER.user_id)) == before
    # A customer replying to the bot is relayed, never taken as an answer.
    await bot.say(CUSTOMER, "Hello?", reply_to=relayed)
    assert len(bot.telegram.sent_to(CUSTOMER.user_id)) == before


async def test_a_stranger_cannot_answer_through_the_bot(bot: Kefu) -> None:
    number = await linked_ticket(bot)
    await bot.say(CUSTOMER, "Hi")
    sent = await bot.say(STRANGER, f"/reply {number} I am the shop, pay me here")
    assert [m.chat_id for m in sent] == [STRANGER.user_id]
    assert all(m.direction == "in" for m in await messages(bot))


async def test_reply_to_an_unlinked_ticket_says_why(bot: Kefu) -> None:
    only(await bot.say(AGENT, "/ticket No customer yet", chat=TEAM_CHAT))
    sent = only(await bot.say(AGENT, "/reply 1 hello", chat=TEAM_CHAT))
    assert "has not opened the ticket link" in (sent.text or "")


# ---------------------------------------------------------------- failures


async def test_blocked_customer_is_recorded_and_the_agent_told(bot: Kefu) -> None:
    number = await linked_ticket(bot)
    await bot.say(CUSTOMER, "Please call me")
    bot.telegram.blocked(CUSTOMER.user_id)
    sent = await bot.say(AGENT, f"/reply {number} Calling now", chat=TEAM_CHAT)
    assert [m.text for m in sent] == [
        f"Could not deliver your answer on #{number} to Chen: the customer has blocked the bot. "
        "The answer is kept on the ticket."
    ]
    assert (await ticket_row(bot, number)).customer_blocked_at is not None
    stored = await messages(bot)
    assert [(m.direction, m.status) for m in stored] == [
        ("in", "delivered"),
        ("out", "undeliverable"),
    ]
    shown = only(await bot.say(AGENT, f"/show {number}", chat=TEAM_CHAT)).text or ""
    assert "blocked the bot" in shown


async def test_a_5xx_delays_but_neither_loses_nor_reorders(bot: Kefu) -> None:
    await agent_in_private(bot)
    number = await linked_ticket(bot)
    bot.telegram.fail("sendMessage", status=502, chat_id=AGENT.user_id)
    assert await bot.say(CUSTOMER, "first") == []
    # The second waits behind the first, although it is due and the first is backing off.
    assert await bot.say(CUSTOMER, "second") == []
    async with bot.runtime.db.transaction() as session:
        rows = await session.exec(select(Outbox).where(Outbox.kind == "relay-in"))
        for row in rows:
            row.not_before = row.created_at  # the back-off has passed
    await bot.deliver()
    assert [m.text for m in bot.telegram.sent_to(AGENT.user_id)][-2:] == [
        f"<b>#{number}</b> · Chen\nfirst",
        f"<b>#{number}</b> · Chen\nsecond",
    ]
    assert await bot.deliver() == 0  # nothing twice


async def test_too_large_and_too_long_give_a_clear_message(bot: Kefu) -> None:
    number = await linked_ticket(bot)
    await linked_ticket(bot, CUSTOMER_EN)
    sent = only(await bot.send_media(CUSTOMER_EN, "video", file_size=30 * 1024 * 1024))
    assert sent.text == "The file is too large (30.0 MB; at most 20 MB). Please send a smaller one."
    sent = only(await bot.send_media(CUSTOMER, "video", file_size=30 * 1024 * 1024))
    assert sent.text == "文件太大（30.0 MB；最多 20 MB）。请发送小一些的文件。"
    sent = only(await bot.say(AGENT, f"/reply {number} " + "x" * 4097, chat=TEAM_CHAT))
    assert "too long" in (sent.text or "")
    assert await messages(bot) == []


async def test_flooding_is_slowed_politely_without_losing_anything(db_url: str) -> None:
    kefu = await running(db_url, conversation={"customer_messages_per_minute": 3})
    try:
        await agent_in_private(kefu)
        number = await linked_ticket(kefu)
        for n in range(1, 4):
            await kefu.say(CUSTOMER, f"m{n}")
        sent = await kefu.say(CUSTOMER, "m4")
        assert [m.text for m in sent] == [
            "您发送消息太快了。所有消息都已保存，一分钟后会转给客服，无需重复发送。"
        ]
        assert await kefu.say(CUSTOMER, "m5") == []  # told once
        from datetime import timedelta

        from bot import clock

        clock.advance(timedelta(minutes=1, seconds=1))
        await kefu.deliver()
        assert [m.text for m in kefu.telegram.sent_to(AGENT.user_id)][-5:] == [
            f"<b>#{number}</b> · Chen\nm{n}" for n in range(1, 6)
        ]
    finally:
        await kefu.stop()
