"""Customers and agents talking through Kefu, through the real Application: the relay both
ways (text and media), several tickets, resolved tickets, blocked customers, what never
reaches a customer, and delivery across Telegram failures."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from bot import clock
from bot.models import ConversationMessage, Outbox, Ticket
from tests.harness import (
    AGENT,
    AGENT2,
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
from tests.steps import agent_in_private, linked_ticket, running


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


async def test_text_is_relayed_to_the_agent_and_the_reply_reaches_the_customer(kefu: Kefu) -> None:
    await agent_in_private(kefu)
    number = await linked_ticket(kefu)

    sent = await kefu.say(CUSTOMER, "Where is my parcel?")
    relayed = only([m for m in sent if m.chat_id == AGENT.user_id])
    assert relayed.text == f"<b>#{number}</b> · Chen\nWhere is my parcel?"
    assert not [m for m in sent if m.chat_id == CUSTOMER.user_id]  # no noise for the customer

    sent = await kefu.say(AGENT, "It left the warehouse today.", reply_to=relayed)
    to_customer = only([m for m in sent if m.chat_id == CUSTOMER.user_id])
    assert to_customer.text == f"<b>#{number}</b>\nIt left the warehouse today."
    confirmation = only([m for m in sent if m.chat_id == AGENT.user_id])
    assert confirmation.text == f"Delivered to Chen (#{number})."
    assert confirmation.result["reply_to_message"]["text"] == "It left the warehouse today."

    stored = await messages(kefu)
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


async def test_agent_without_a_private_chat_gets_it_in_the_team_chat(kefu: Kefu) -> None:
    number = await linked_ticket(kefu)
    sent = await kefu.say(CUSTOMER, "Anyone?")
    assert [(m.chat_id, m.text) for m in sent] == [(TEAM_CHAT, f"<b>#{number}</b> · Chen\nAnyone?")]


async def test_media_both_ways_are_copied(kefu: Kefu) -> None:
    await agent_in_private(kefu)
    number = await linked_ticket(kefu)

    sent = await kefu.send_media(CUSTOMER, "photo", caption="The box <torn>")
    photo = only(sent)
    assert photo.method == "copyMessage" and photo.chat_id == AGENT.user_id
    assert photo.result["photo"][-1]["file_id"].startswith("IN-photo")
    assert photo.result["caption"] == f"<b>#{number}</b> · Chen\nThe box &lt;torn&gt;"

    for kind in ("document", "voice", "video"):
        copied = only(await kefu.send_media(CUSTOMER, kind))
        assert copied.method == "copyMessage" and kind in copied.result
        assert copied.result["caption"] == f"<b>#{number}</b> · Chen"

    # A sticker cannot carry a caption: the heading goes first, the copy answers it.
    heading, sticker = await kefu.send_media(CUSTOMER, "sticker")
    assert heading.text == f"<b>#{number}</b> · Chen" and heading.method == "sendMessage"
    assert sticker.method == "copyMessage" and "sticker" in sticker.result
    assert sticker.result["reply_to_message"]["message_id"] == heading.message_id

    # The agent answers the photo with a photo of their own, by replying to the relayed copy.
    sent = await kefu.send_media(AGENT, "photo", caption="Return label", reply_to=photo)
    to_customer = only([m for m in sent if m.chat_id == CUSTOMER.user_id])
    assert to_customer.method == "copyMessage"
    assert to_customer.result["caption"] == f"<b>#{number}</b>\nReturn label"
    assert [m.text for m in sent if m.chat_id == AGENT.user_id] == [
        f"Delivered to Chen (#{number})."
    ]

    # And a document captioned "/reply N text" in the team chat.
    sent = await kefu.send_media(
        AGENT, "document", chat=TEAM_CHAT, caption=f"/reply {number} Your invoice"
    )
    to_customer = only([m for m in sent if m.chat_id == CUSTOMER.user_id])
    assert to_customer.result["caption"] == f"<b>#{number}</b>\nYour invoice"
    assert "document" in to_customer.result


async def test_several_open_tickets_ask_once_and_the_choice_sticks(kefu: Kefu) -> None:
    await agent_in_private(kefu)
    first = await linked_ticket(kefu, text="Parcel broken")
    second = await linked_ticket(kefu, text="Wrong colour")

    asked = only(await kefu.say(CUSTOMER, "Any news?"))
    assert asked.chat_id == CUSTOMER.user_id
    assert [b["text"] for row in asked.buttons for b in row] == [
        f"#{second} Wrong colour",
        f"#{first} Parcel broken",
    ]
    # Not asked again while the question stands; nothing is lost meanwhile.
    assert await kefu.say(CUSTOMER, "Hello??") == []

    sent = await kefu.press_label(CUSTOMER, asked, f"#{first} Parcel broken")
    relayed = [m.text for m in sent if m.chat_id == AGENT.user_id]
    assert relayed == [f"<b>#{first}</b> · Chen\nAny news?", f"<b>#{first}</b> · Chen\nHello??"]
    # Chen's Telegram speaks Chinese: so does the bot, to him.
    assert [m.text for m in sent if m.chat_id == CUSTOMER.user_id] == [
        f"谢谢。您的消息现在会转到售后单 #{first}。 您刚才发送的消息已转给客服。\n"
        "要咨询其他售后单，请发送 /switch。"
    ]

    sent = await kefu.say(CUSTOMER, "Still broken")
    assert [m.text for m in sent] == [f"<b>#{first}</b> · Chen\nStill broken"]

    # /switch picks another.
    menu = only(await kefu.say(CUSTOMER, "/switch"))
    await kefu.press_label(CUSTOMER, menu, f"#{second} Wrong colour")
    sent = await kefu.say(CUSTOMER, "About the colour")
    assert [m.text for m in sent] == [f"<b>#{second}</b> · Chen\nAbout the colour"]


async def test_a_customer_cannot_pick_someone_elses_ticket(kefu: Kefu) -> None:
    await linked_ticket(kefu, text="Mine")
    await linked_ticket(kefu, text="Also mine")
    others = await linked_ticket(kefu, CUSTOMER_EN, text="Dana's")
    asked = only(await kefu.say(CUSTOMER, "Hi"))
    before = len(kefu.telegram.sent)
    await kefu.press(CUSTOMER, asked, f"conv:pick:{others}")
    assert kefu.last_answer() == "这不是您的售后单。"
    assert all(m.chat_id != TEAM_CHAT for m in kefu.telegram.sent[before:])
    assert all(m.ticket_id is None for m in await messages(kefu))


async def test_a_message_on_a_resolved_ticket_is_relayed_marked_and_does_not_reopen(
    kefu: Kefu,
) -> None:
    await agent_in_private(kefu)
    number = await linked_ticket(kefu)
    await kefu.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT)
    sent = await kefu.say(CUSTOMER, "It broke again")
    assert [m.text for m in sent if m.chat_id == AGENT.user_id] == [
        f"<b>#{number}</b> · Chen · <i>ticket already resolved</i>\nIt broke again"
    ]
    assert [m.text for m in sent if m.chat_id == CUSTOMER.user_id] == [
        f"您的售后单 #{number} 已解决；您的消息已转给售后团队。"
    ]
    assert (await ticket_row(kefu, number)).status == "resolved"


async def test_someone_without_a_ticket_gets_a_polite_answer_and_nothing_is_forwarded(
    kefu: Kefu,
) -> None:
    sent = await kefu.say(STRANGER, "Hello, my order?")
    assert [m.chat_id for m in sent] == [STRANGER.user_id]
    assert "ticket link" in (sent[0].text or "")
    assert await messages(kefu) == []


# ---------------------------------------------------------------- what never reaches a customer


async def test_team_chat_talk_never_reaches_a_customer(kefu: Kefu) -> None:
    number = await linked_ticket(kefu)
    relayed = only(await kefu.say(CUSTOMER, "Any news?"))
    chatter = only(await kefu.say(MANAGER, "/show 1", chat=TEAM_CHAT))
    before = len(kefu.telegram.sent_to(CUSTOMER.user_id))
    await kefu.say(AGENT, "Who handles this one?", chat=TEAM_CHAT)  # not a reply
    await kefu.say(AGENT, "I will", chat=TEAM_CHAT, reply_to=chatter)  # a reply to something else
    await kefu.say(AGENT, f"/note {number} customer sounds upset", chat=TEAM_CHAT)
    assert len(kefu.telegram.sent_to(CUSTOMER.user_id)) == before
    # A customer replying to the bot is relayed, never taken as an answer.
    await kefu.say(CUSTOMER, "Hello?", reply_to=relayed)
    assert len(kefu.telegram.sent_to(CUSTOMER.user_id)) == before


async def test_a_stranger_cannot_answer_through_the_bot(kefu: Kefu) -> None:
    number = await linked_ticket(kefu)
    await kefu.say(CUSTOMER, "Hi")
    sent = await kefu.say(STRANGER, f"/reply {number} I am the shop, pay me here")
    assert [m.chat_id for m in sent] == [STRANGER.user_id]
    assert all(m.direction == "in" for m in await messages(kefu))


async def test_reply_to_an_unlinked_ticket_says_why(kefu: Kefu) -> None:
    only(await kefu.say(AGENT, "/ticket No customer yet", chat=TEAM_CHAT))
    sent = only(await kefu.say(AGENT, "/reply 1 hello", chat=TEAM_CHAT))
    assert "has not opened the ticket link" in (sent.text or "")


# ---------------------------------------------------------------- failures


async def test_blocked_customer_is_recorded_and_the_agent_told(kefu: Kefu) -> None:
    number = await linked_ticket(kefu)
    await kefu.say(CUSTOMER, "Please call me")
    kefu.telegram.blocked(CUSTOMER.user_id)
    sent = await kefu.say(AGENT, f"/reply {number} Calling now", chat=TEAM_CHAT)
    assert [m.text for m in sent] == [
        f"Could not deliver your answer on #{number} to Chen: the customer has blocked the bot. "
        "The answer is kept on the ticket."
    ]
    assert (await ticket_row(kefu, number)).customer_blocked_at is not None
    stored = await messages(kefu)
    assert [(m.direction, m.status) for m in stored] == [
        ("in", "delivered"),
        ("out", "undeliverable"),
    ]
    shown = only(await kefu.say(AGENT, f"/show {number}", chat=TEAM_CHAT)).text or ""
    assert "blocked the bot" in shown
    # They unblock and write again: answers reach them again.
    kefu.telegram.unblock(CUSTOMER.user_id)
    await kefu.say(CUSTOMER, "Sorry, I blocked you by mistake")
    assert (await ticket_row(kefu, number)).customer_blocked_at is None
    sent = await kefu.say(AGENT, f"/reply {number} No problem", chat=TEAM_CHAT)
    assert [m.text for m in sent if m.chat_id == CUSTOMER.user_id] == [
        f"<b>#{number}</b>\nNo problem"
    ]


async def test_a_5xx_delays_but_neither_loses_nor_reorders(kefu: Kefu) -> None:
    await agent_in_private(kefu)
    number = await linked_ticket(kefu)
    kefu.telegram.fail("sendMessage", status=502, chat_id=AGENT.user_id)
    assert await kefu.say(CUSTOMER, "first") == []
    # The second waits behind the first, although it is due and the first is backing off.
    assert await kefu.say(CUSTOMER, "second") == []
    async with kefu.runtime.db.transaction() as session:
        rows = await session.exec(select(Outbox).where(Outbox.kind == "relay-in"))
        for row in rows:
            row.not_before = row.created_at  # the back-off has passed
    await kefu.deliver()
    assert [m.text for m in kefu.telegram.sent_to(AGENT.user_id)][-2:] == [
        f"<b>#{number}</b> · Chen\nfirst",
        f"<b>#{number}</b> · Chen\nsecond",
    ]
    assert await kefu.deliver() == 0  # nothing twice


async def test_too_large_and_too_long_give_a_clear_message(kefu: Kefu) -> None:
    number = await linked_ticket(kefu)
    await linked_ticket(kefu, CUSTOMER_EN)
    sent = only(await kefu.send_media(CUSTOMER_EN, "video", file_size=30 * 1024 * 1024))
    assert sent.text == "The file is too large (30.0 MB; at most 20 MB). Please send a smaller one."
    sent = only(await kefu.send_media(CUSTOMER, "video", file_size=30 * 1024 * 1024))
    assert sent.text == "文件太大（30.0 MB；最多 20 MB）。请发送小一些的文件。"
    sent = only(await kefu.say(AGENT, f"/reply {number} " + "x" * 4097, chat=TEAM_CHAT))
    assert "too long" in (sent.text or "")
    assert await messages(kefu) == []


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
        clock.advance(timedelta(minutes=1, seconds=1))
        await kefu.deliver()
        assert [m.text for m in kefu.telegram.sent_to(AGENT.user_id)][-5:] == [
            f"<b>#{number}</b> · Chen\nm{n}" for n in range(1, 6)
        ]
    finally:
        await kefu.stop()


# ---------------------------------------------------------------- intake


async def test_intake_ticket_opens_a_ticket_that_whoever_presses_take_gets(db_url: str) -> None:
    kefu = await running(db_url, intake={"mode": "ticket"})
    try:
        await agent_in_private(kefu, AGENT2)
        sent = await kefu.say(STRANGER, "My order A9 never arrived")
        told = only([m for m in sent if m.chat_id == STRANGER.user_id])
        assert told.text == (
            "Thank you. We opened ticket #1 for you; an agent will answer you here."
        )
        posted = only([m for m in sent if m.chat_id == TEAM_CHAT])
        assert posted.text == (
            "<b>#1</b> · Eve · <i>new ticket, not taken yet</i>\nMy order A9 never arrived"
        )
        ticket = await ticket_row(kefu, 1)
        assert (ticket.category, ticket.customer_user_id, ticket.status) == (
            "other",
            STRANGER.user_id,
            "open",
        )
        assert ticket.received_at <= ticket.logged_at

        # Unanswered and untaken for over an hour: the team chat hears it, no agent named.
        clock.advance(timedelta(minutes=61))
        await kefu.run_job("reply-sweep")
        await kefu.deliver()
        assert kefu.texts_to(TEAM_CHAT)[-1] == (
            "Eve has been waiting 1h 1m for an answer on #1, which nobody has taken yet."
        )

        # A customer cannot take it; the first agent to press does; the second is told.
        await kefu.press_label(STRANGER, posted, "Take #1")
        assert (await ticket_row(kefu, 1)).agent_id == 0
        taken = await kefu.press_label(AGENT2, posted, "Take #1")
        assert [m.text for m in taken] == ["#1 is now assigned to Bo."]
        assert (await ticket_row(kefu, 1)).agent_id == AGENT2.user_id
        again = await kefu.press(AGENT, posted, "conv:take:1")
        assert [m.text for m in again] == ["#1 was already taken by Bo."]

        # From now on Eve's messages go to Bo privately, and his answer reaches her.
        relayed = only(await kefu.say(STRANGER, "Any news?"))
        assert (relayed.chat_id, relayed.text) == (AGENT2.user_id, "<b>#1</b> · Eve\nAny news?")
        answer = await kefu.say(AGENT2, "Found it, resending.", reply_to=relayed)
        assert [m.text for m in answer if m.chat_id == STRANGER.user_id] == [
            "<b>#1</b>\nFound it, resending."
        ]
    finally:
        await kefu.stop()


# ---------------------------------------------------------------- forum topics


async def test_a_topic_per_ticket_answers_written_in_it_closed_and_reopened(db_url: str) -> None:
    kefu = await running(db_url, conversation={"topics": True})
    kefu.updates.group_chat(TEAM_CHAT, "After-sales team", forum=True)
    try:
        await agent_in_private(kefu)
        number = await linked_ticket(kefu)
        first = await kefu.say(CUSTOMER, "Hello")
        [created] = kefu.telegram.calls("createForumTopic")
        assert created.params["name"] == f"#{number} Chen · Parcel arrived broken"
        thread = created.response["result"]["message_thread_id"]  # type: ignore[index]
        relayed = only(first)
        assert (relayed.chat_id, relayed.result["message_thread_id"]) == (TEAM_CHAT, thread)
        assert only(await kefu.say(CUSTOMER, "Still there?")).result["message_thread_id"] == thread
        assert len(kefu.telegram.calls("createForumTopic")) == 1

        topic = {
            "message_id": thread,
            "chat": {"id": TEAM_CHAT, "type": "supergroup", "title": "x", "is_forum": True},
            "date": relayed.result["date"],
            "forum_topic_created": {"name": "t", "icon_color": 7322096},
        }
        # Writing in the topic answers the customer; the General chat does not.
        answer = await kefu.process(
            kefu.updates.message(AGENT.json, TEAM_CHAT, "Yes, checking now", topic=topic)
        )
        assert [m.text for m in answer if m.chat_id == CUSTOMER.user_id] == [
            f"<b>#{number}</b>\nYes, checking now"
        ]
        before = len(kefu.telegram.sent_to(CUSTOMER.user_id))
        await kefu.say(AGENT, "Lunch?", chat=TEAM_CHAT)
        await kefu.process(kefu.updates.message(STRANGER.json, TEAM_CHAT, "spam", topic=topic))
        assert len(kefu.telegram.sent_to(CUSTOMER.user_id)) == before

        await kefu.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT)
        assert kefu.telegram.topics[(TEAM_CHAT, thread)]["closed"] is True
        await kefu.say(AGENT, f"/reopen {number}", chat=TEAM_CHAT)
        assert kefu.telegram.topics[(TEAM_CHAT, thread)]["closed"] is False
    finally:
        await kefu.stop()


async def test_a_customer_linked_in_a_group_who_writes_privately_can_be_answered(
    kefu: Kefu,
) -> None:
    kefu.updates.group_chat(OTHER_GROUP, "Shop fans")
    asked = kefu.updates.message(CUSTOMER.json, OTHER_GROUP, "My kettle leaks")
    await kefu.process(asked)
    await kefu.say(AGENT, "/ticket Kettle leaks", chat=OTHER_GROUP, reply_to=asked)
    refused = only(await kefu.say(AGENT, "/reply 1 Hello", chat=TEAM_CHAT))
    assert "has not opened the ticket link" in (refused.text or "")
    relayed = only(await kefu.say(CUSTOMER, "Hello, about my kettle"))
    assert relayed.text == "<b>#1</b> · Chen\nHello, about my kettle"
    sent = await kefu.say(AGENT, "/reply 1 A new one is on its way", chat=TEAM_CHAT)
    assert [m.text for m in sent if m.chat_id == CUSTOMER.user_id] == [
        "<b>#1</b>\nA new one is on its way"
    ]


async def test_two_replicas_share_the_conversation_and_send_each_message_once(
    db_url: str,
) -> None:
    first = await running(db_url)
    second = await Kefu(settings_for(db_url), telegram=first.telegram).start()
    second.updates = first.updates  # one Telegram: one sequence of update ids
    try:
        await agent_in_private(first)
        number = await linked_ticket(first)
        # Replica one takes the customer's messages; both dispatch at once.
        for text in ("one", "two", "three"):
            update = first.updates.message(CUSTOMER.json, CUSTOMER.user_id, text)
            await first.app.process_update(first.updates.to_update(update, first.app.bot))
        await asyncio.gather(first.deliver(), second.deliver(), first.deliver())
        relayed = first.telegram.sent_to(AGENT.user_id)[-3:]
        assert [m.text for m in relayed] == [
            f"<b>#{number}</b> · Chen\n{text}" for text in ("one", "two", "three")
        ]
        assert len(first.telegram.sent_to(AGENT.user_id)) == 4  # /help's answer + three
        # Replica two takes the agent's reply to a message replica one relayed.
        sent = await second.say(AGENT, "All three noted.", reply_to=relayed[1])
        assert [m.text for m in sent if m.chat_id == CUSTOMER.user_id] == [
            f"<b>#{number}</b>\nAll three noted."
        ]
        assert await first.deliver() == 0
    finally:
        await second.stop()
        await first.stop()


async def test_a_survey_comment_and_an_edit_are_not_relayed_again(kefu: Kefu) -> None:
    await agent_in_private(kefu)
    number = await linked_ticket(kefu)
    await kefu.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT)
    survey = kefu.telegram.last_to(CUSTOMER.user_id)
    assert survey is not None
    await kefu.press_label(CUSTOMER, survey, "不满意")
    sent = await kefu.say(CUSTOMER, "The courier was rude")  # the comment, to the team chat
    assert [m.chat_id for m in sent if m.chat_id == AGENT.user_id] == []
    assert await messages(kefu) == []
    # A later message is relayed; editing it relays nothing more.
    relayed = await kefu.say(CUSTOMER, "Also the box was wet")
    assert sorted(m.chat_id for m in relayed) == [AGENT.user_id, CUSTOMER.user_id]
    edited = kefu.updates.edit(kefu.updates.message(CUSTOMER.json, CUSTOMER.user_id, "x"), "y")
    before = len(kefu.telegram.sent)
    await kefu.process(edited)
    assert kefu.telegram.sent[before:] == []
    assert [m.text for m in await messages(kefu)] == ["Also the box was wet"]


async def test_a_message_handled_again_after_a_crash_is_stored_and_sent_once(kefu: Kefu) -> None:
    await agent_in_private(kefu)
    number = await linked_ticket(kefu)
    asked = kefu.updates.message(CUSTOMER.json, CUSTOMER.user_id, "Is it shipped?")
    await kefu.process(asked)
    relayed = kefu.telegram.last_to(AGENT.user_id)
    assert relayed is not None
    answer = kefu.updates.message(AGENT.json, AGENT.user_id, "Yes", reply_to=relayed)
    await kefu.process(answer)
    # The same Telegram messages come through again (their first handling died before it
    # was marked finished): nothing is stored or sent twice.
    for update in (asked, answer):
        again = {**update, "update_id": kefu.updates.next_update_id()}
        assert await kefu.process(again) == []
    assert [(m.direction, m.text) for m in await messages(kefu)] == [
        ("in", "Is it shipped?"),
        ("out", "Yes"),
    ]
    assert [m.text for m in kefu.telegram.sent_to(CUSTOMER.user_id)][-1] == f"<b>#{number}</b>\nYes"
