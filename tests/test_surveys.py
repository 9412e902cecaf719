"""Satisfaction surveys through the real Application: ask on resolve, answer once, remind,
expire, alert on "dissatisfied", take the comment; refusals, blocked customers, reopens and
restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.models import Outbox, Survey, Ticket
from bot.services.surveys import Rating
from handlers.survey_render import button_data, parse_button
from tests.fakebot import FakeTelegram, SentMessage
from tests.harness import (
    AGENT,
    CUSTOMER,
    CUSTOMER_EN,
    MANAGER,
    STRANGER,
    TEAM_CHAT,
    TOKEN,
    Kefu,
    Person,
    only,
    settings_for,
)
from tests.steps import LINK

SWEEP = "survey-sweep"
EN_LABELS = ["Very satisfied", "Satisfied", "Dissatisfied"]
ZH_LABELS = ["非常满意", "满意", "不满意"]
TW_LABELS = ["非常滿意", "滿意", "不滿意"]
# Seconds, written as hours: remind after 10 s, expire after 30 s, comments for 6 s.
QUICK: dict[str, Any] = {
    "remind_after_hours": 10 / 3600,
    "expire_after_hours": 30 / 3600,
    "comment_window_minutes": 0.1,
}


async def started(db_url: str, telegram: FakeTelegram | None = None) -> Kefu:
    return await Kefu(settings_for(db_url, survey=QUICK), telegram=telegram).start()


@pytest.fixture
async def quick(db_url: str) -> AsyncIterator[Kefu]:
    """The bot with survey durations in seconds."""
    running = await started(db_url)
    try:
        yield running
    finally:
        await running.stop()


# ---------------------------------------------------------------- helpers


async def log_ticket(kefu: Kefu, text: str = "Parcel arrived broken order:A123") -> str:
    """An agent logs a ticket in the team chat; returns the customer's deep-link token."""
    reply = only(await kefu.say(AGENT, f"/ticket {text}", chat=TEAM_CHAT))
    match = LINK.search(reply.text or "")
    assert match, reply.text
    return match.group(1)


async def resolved_with_survey(
    kefu: Kefu, customer: Person, text: str = "Parcel arrived broken order:A123"
) -> SentMessage:
    """Log, link `customer`, resolve; returns the survey message the customer received."""
    token = await log_ticket(kefu, text)
    await kefu.say(customer, f"/start {token}")
    number = len(await tickets(kefu))
    await kefu.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT)
    survey = kefu.telegram.last_to(customer.user_id)
    assert survey is not None and survey.buttons, "no survey reached the customer"
    return survey


def labels(message: SentMessage) -> list[str]:
    return [button["text"] for row in message.buttons for button in row]


def data_of(message: SentMessage, label: str) -> str:
    return next(b["callback_data"] for row in message.buttons for b in row if b["text"] == label)


def now_shown(kefu: Kefu, message: SentMessage) -> SentMessage:
    """The message as the customer sees it now, edits applied."""
    live = kefu.telegram.message(message.chat_id, message.message_id)
    assert live is not None
    return live


async def surveys(kefu: Kefu) -> list[Survey]:
    async with kefu.runtime.db.transaction() as session:
        return list(await session.exec(select(Survey).order_by(Survey.id)))  # type: ignore[arg-type]


async def tickets(kefu: Kefu) -> list[Ticket]:
    async with kefu.runtime.db.transaction() as session:
        return list(await session.exec(select(Ticket).order_by(Ticket.id)))  # type: ignore[arg-type]


async def sweep_and_deliver(kefu: Kefu) -> list[SentMessage]:
    before = len(kefu.telegram.sent)
    await kefu.run_job(SWEEP)
    await kefu.deliver()
    return kefu.telegram.sent[before:]


async def card(kefu: Kefu, number: int = 1) -> str:
    return only(await kefu.say(MANAGER, f"/show {number}", chat=TEAM_CHAT)).text or ""


# ---------------------------------------------------------------- asking


async def test_resolve_asks_in_the_customers_language(kefu: Kefu) -> None:
    zh = await resolved_with_survey(kefu, CUSTOMER, "Parcel arrived broken")
    assert zh.chat_id == CUSTOMER.user_id
    assert "#1" in (zh.text or "") and "Parcel arrived broken" in (zh.text or "")
    assert "满意" in (zh.text or "")
    assert labels(zh) == ZH_LABELS
    en = await resolved_with_survey(kefu, CUSTOMER_EN, "Wrong colour sent")
    assert "#2" in (en.text or "") and "Wrong colour sent" in (en.text or "")
    assert "How satisfied are you" in (en.text or "")
    assert labels(en) == EN_LABELS
    # Every button names its survey and rating, signed, within Telegram's 64 bytes.
    assert all(len(d.encode()) <= 64 for d in (data_of(en, label) for label in EN_LABELS))
    first, second = await surveys(kefu)
    assert (first.status, first.message_id, first.chat_id) == ("sent", zh.message_id, zh.chat_id)
    assert second.status == "sent" and second.sent_at is not None
    assert "Survey: sent" in await card(kefu, 2)


async def test_traditional_chinese_customers_are_asked_in_traditional_chinese(kefu: Kefu) -> None:
    """Telegram tags for Taiwan, Hong Kong and the Traditional script all get the zh_TW survey;
    plain "zh" stays Simplified."""
    tags = ["zh-hant", "zh-TW", "zh-hk", "zh"]
    for number, tag in enumerate(tags, start=1):
        customer = Person(3100 + number, f"Customer {number}", None, tag)
        survey = await resolved_with_survey(kefu, customer, f"Problem {number}")
        if tag == "zh":
            assert labels(survey) == ZH_LABELS
            continue
        assert labels(survey) == TW_LABELS, tag
        assert f"您的售後工單 #{number}" in (survey.text or "")
        await kefu.press_label(customer, survey, "不滿意")
        assert "很抱歉讓您失望了" in (now_shown(kefu, survey).text or ""), tag


async def test_each_answer_is_recorded_and_told_to_the_agent(kefu: Kefu) -> None:
    answers = [("Very satisfied", 10, "very satisfied"), ("Satisfied", 8, "satisfied")]
    for number, (label, score, name) in enumerate(answers, start=1):
        survey = await resolved_with_survey(kefu, CUSTOMER_EN, f"Problem {number}")
        sent = await kefu.press_label(CUSTOMER_EN, survey, label)
        assert kefu.last_answer() == "Thank you!"
        # The agent has never written to the bot privately, so the team chat hears it.
        notice = only(sent)
        assert notice.chat_id == TEAM_CHAT
        assert f"#{number} rated by the customer: <b>{name}</b>" in (notice.text or "")
        shown = now_shown(kefu, survey)
        assert f"Thank you for rating ticket #{number}: <b>{name}</b>" in (shown.text or "")
        assert shown.buttons == []
        answered = (await surveys(kefu))[number - 1]
        assert (answered.status, answered.rating) == ("answered", score)
        assert answered.answered_at is not None
        ticket = (await tickets(kefu))[number - 1]
        assert ticket.status == "closed" and ticket.closed_at is not None

    # Once the agent has a private chat with the bot, the notice goes there instead.
    await kefu.say(AGENT, "/help")
    survey = await resolved_with_survey(kefu, CUSTOMER_EN, "Problem 3")
    sent = await kefu.press_label(CUSTOMER_EN, survey, "Dissatisfied")
    to_agent = [m for m in sent if m.chat_id == AGENT.user_id]
    assert "#3 rated by the customer: <b>dissatisfied</b>" in (only(to_agent).text or "")
    assert (await surveys(kefu))[2].rating == 5
    assert "answered" in await card(kefu, 1) and ": very satisfied" in await card(kefu, 1)


async def test_dissatisfied_alerts_the_team_and_keeps_the_comment(kefu: Kefu) -> None:
    survey = await resolved_with_survey(kefu, CUSTOMER, "Courier was rude order:B7")
    sent = await kefu.press_label(CUSTOMER, survey, "不满意")
    alert = only([m for m in sent if m.chat_id == TEAM_CHAT and "Dissatisfied" in (m.text or "")])
    text = alert.text or ""
    assert "#1" in text and "Courier was rude" in text
    assert f"tg://user?id={AGENT.user_id}" in text and f"tg://user?id={MANAGER.user_id}" in text
    shown = now_shown(kefu, survey)
    assert "不满意" in (shown.text or "") and "下一条消息" in (shown.text or "")
    assert shown.buttons == []

    ack, forwarded = await kefu.say(CUSTOMER, "快递员态度很差，包裹被扔在门口")
    assert ack.chat_id == CUSTOMER.user_id and "售后团队" in (ack.text or "")
    assert forwarded.chat_id == TEAM_CHAT and "快递员态度很差" in (forwarded.text or "")
    assert f"tg://user?id={AGENT.user_id}" in (forwarded.text or "")
    [stored] = await surveys(kefu)
    assert stored.comment == "快递员态度很差，包裹被扔在门口"
    # Only the next message is the comment; a later one is conversation: relayed to the team
    # as a message on a resolved ticket (README "Talking to customers"), not as a comment.
    later = await kefu.say(CUSTOMER, "还有别的事")
    assert [m.text for m in later if m.chat_id == TEAM_CHAT] == [
        "<b>#1</b> · Chen · <i>ticket already resolved</i>\n还有别的事"
    ]
    assert (await surveys(kefu))[0].comment == "快递员态度很差，包裹被扔在门口"
    shown_card = await card(kefu)
    assert "dissatisfied" in shown_card and "Customer comment: 快递员态度很差" in shown_card


async def test_a_comment_after_the_window_is_not_taken(quick: Kefu) -> None:
    survey = await resolved_with_survey(quick, CUSTOMER_EN)
    await quick.press_label(CUSTOMER_EN, survey, "Dissatisfied")
    clock.advance(timedelta(seconds=7))
    late = await quick.say(CUSTOMER_EN, "Too late to complain?")
    # Not a comment: conversation on a resolved ticket, relayed as such.
    assert [m.text for m in late if m.chat_id == TEAM_CHAT] == [
        "<b>#1</b> · Dana · <i>ticket already resolved</i>\nToo late to complain?"
    ]
    assert (await surveys(quick))[0].comment is None


async def test_a_satisfied_customer_is_not_asked_for_a_comment(kefu: Kefu) -> None:
    survey = await resolved_with_survey(kefu, CUSTOMER_EN)
    await kefu.press_label(CUSTOMER_EN, survey, "Satisfied")
    assert "next message" not in (now_shown(kefu, survey).text or "")
    thanks = await kefu.say(CUSTOMER_EN, "Thanks a lot!")
    # Not a comment: conversation on a resolved ticket, relayed as such.
    assert [m.text for m in thanks if m.chat_id == TEAM_CHAT] == [
        "<b>#1</b> · Dana · <i>ticket already resolved</i>\nThanks a lot!"
    ]
    assert (await surveys(kefu))[0].comment is None


# ---------------------------------------------------------------- refusals


async def test_duplicate_foreign_and_forged_taps_change_nothing(kefu: Kefu) -> None:
    survey = await resolved_with_survey(kefu, CUSTOMER_EN)
    satisfied = data_of(survey, "Satisfied")

    assert await kefu.press(STRANGER, survey, satisfied) == []
    assert kefu.last_answer() == "Only the customer of this ticket can answer this survey."
    assert await kefu.press(AGENT, survey, satisfied) == []
    assert (await surveys(kefu))[0].status == "sent"

    # The same survey with another rating, another survey, or garbage: the signature fails.
    survey_id, _rating, mac = satisfied.removeprefix("sv:").split(":")
    for forged in (
        f"sv:{survey_id}:10:{mac}",
        f"sv:{int(survey_id) + 1}:8:{mac}",
        f"sv:{survey_id}:8:{'0' * len(mac)}",
        "sv:1:10",
    ):
        assert await kefu.press(CUSTOMER_EN, survey, forged) == [], forged
        assert kefu.last_answer() == "This button is not valid.", forged
    assert (await surveys(kefu))[0].status == "sent"

    notices = await kefu.press(CUSTOMER_EN, survey, satisfied)
    assert len(notices) == 1 and kefu.last_answer() == "Thank you!"
    assert await kefu.press(CUSTOMER_EN, survey, data_of(survey, "Dissatisfied")) == []
    assert kefu.last_answer() == "You have already answered this survey. Thank you!"
    [answered] = await surveys(kefu)
    assert answered.rating == 8
    assert len(kefu.texts_to(TEAM_CHAT)) == len(set(kefu.texts_to(TEAM_CHAT)))


async def test_refusals_speak_the_pressers_language(kefu: Kefu) -> None:
    survey = await resolved_with_survey(kefu, CUSTOMER)
    await kefu.press_label(CUSTOMER, survey, "满意")
    await kefu.press_label(CUSTOMER, survey, "非常满意")
    assert kefu.last_answer() == "您已评价过，谢谢！"


async def test_the_team_words_the_survey_per_language(db_url: str) -> None:
    """[survey.texts.<language>] replaces the question and the labels it sets, in that
    language only; the rest keeps the defaults, and an answer still counts as its rating."""
    own = {
        "zh_CN": {
            "question": "这次售后您打几分？",
            "very_satisfied": "超赞",
            "dissatisfied": "不行 <差>",
        },
    }
    kefu = await Kefu(settings_for(db_url, survey={**QUICK, "texts": own})).start()
    try:
        zh = await resolved_with_survey(kefu, CUSTOMER, "Parcel arrived broken")
        assert (zh.text or "").endswith("已处理完毕。\n这次售后您打几分？")
        assert labels(zh) == ["超赞", "满意", "不行 <差>"]
        en = await resolved_with_survey(kefu, CUSTOMER_EN, "Wrong colour sent")
        assert (en.text or "").endswith("How satisfied are you with our service?")
        assert labels(en) == EN_LABELS
        # The reminder asks the team's question too.
        clock.advance(timedelta(seconds=11))
        reminders = {m.chat_id: m for m in await sweep_and_deliver(kefu)}
        assert (reminders[CUSTOMER.user_id].text or "").endswith(
            "\n这次售后您打几分？点一下按钮即可。"
        )
        assert labels(reminders[CUSTOMER.user_id]) == ["超赞", "满意", "不行 <差>"]
        await kefu.press_label(CUSTOMER, zh, "不行 <差>")
        first = (await surveys(kefu))[0]
        assert first.rating == 5
    finally:
        await kefu.stop()


def test_survey_texts_are_checked_by_check_config() -> None:
    with pytest.raises(ValueError, match="fr"):
        settings_for("sqlite+aiosqlite:///x.db", survey={"texts": {"fr": {"question": "?"}}})
    with pytest.raises(ValueError, match="very_satisfied"):
        settings_for("sqlite+aiosqlite:///x.db", survey={"texts": {"en": {"very_satisfied": ""}}})


# ---------------------------------------------------------------- reminder and expiry


async def test_one_reminder_then_expiry_closes_the_ticket_unrated(quick: Kefu) -> None:
    survey = await resolved_with_survey(quick, CUSTOMER_EN)
    assert await sweep_and_deliver(quick) == []

    clock.advance(timedelta(seconds=11))
    reminder = only(await sweep_and_deliver(quick))
    assert reminder.chat_id == CUSTOMER_EN.user_id
    assert "reminder" in (reminder.text or "") and "#1" in (reminder.text or "")
    assert labels(reminder) == EN_LABELS
    assert await sweep_and_deliver(quick) == []
    assert "reminded" in await card(quick)

    clock.advance(timedelta(seconds=20))
    assert await sweep_and_deliver(quick) == []  # expiry edits; it sends nothing new
    for message in (survey, reminder):
        shown = now_shown(quick, message)
        assert "has closed" in (shown.text or "") and shown.buttons == []
    [expired] = await surveys(quick)
    assert expired.status == "expired" and expired.rating is None
    [ticket] = await tickets(quick)
    assert ticket.status == "closed"
    assert "expired" in await card(quick) and "unrated" in await card(quick)

    assert await quick.press(CUSTOMER_EN, reminder, data_of(reminder, "Satisfied")) == []
    assert quick.last_answer() == "This survey has closed."
    assert (await surveys(quick))[0].rating is None
    edits = [e for e in quick.telegram.edits if e.chat_id == CUSTOMER_EN.user_id]
    assert len(edits) == 2


async def test_answering_the_reminder_updates_the_first_message_too(quick: Kefu) -> None:
    survey = await resolved_with_survey(quick, CUSTOMER_EN)
    clock.advance(timedelta(seconds=11))
    reminder = only(await sweep_and_deliver(quick))
    await quick.press_label(CUSTOMER_EN, reminder, "Very satisfied")
    for message in (survey, reminder):
        shown = now_shown(quick, message)
        assert "very satisfied" in (shown.text or "") and shown.buttons == []
    clock.advance(timedelta(seconds=60))
    assert await sweep_and_deliver(quick) == []
    assert (await surveys(quick))[0].status == "answered"
    shown_card = await card(quick)
    assert "sent" in shown_card and "reminded" in shown_card
    assert "answered" in shown_card and "very satisfied" in shown_card


async def test_an_answer_after_the_deadline_is_refused_before_the_sweep_runs(quick: Kefu) -> None:
    survey = await resolved_with_survey(quick, CUSTOMER_EN)
    clock.advance(timedelta(seconds=31))
    await quick.press_label(CUSTOMER_EN, survey, "Satisfied")
    assert quick.last_answer() == "This survey has closed."
    assert (await surveys(quick))[0].status == "sent"


# ---------------------------------------------------------------- delivery


async def test_a_blocked_customer_makes_it_undeliverable_once(quick: Kefu) -> None:
    token = await log_ticket(quick)
    await quick.say(CUSTOMER_EN, f"/start {token}")
    quick.telegram.blocked(CUSTOMER_EN.user_id)
    sent = await quick.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT)
    told = [m for m in sent if "could not be delivered" in (m.text or "")]
    assert only(told).chat_id == TEAM_CHAT
    for _ in range(2):
        clock.advance(timedelta(seconds=40))
        assert await sweep_and_deliver(quick) == []
    attempts = [
        c
        for c in quick.telegram.calls("sendMessage")
        if c.params.get("chat_id") == CUSTOMER_EN.user_id and c.status == 403
    ]
    assert len(attempts) == 1
    [survey] = await surveys(quick)
    assert survey.status == "undeliverable"
    assert (await tickets(quick))[0].status == "closed"
    assert "undeliverable" in await card(quick)


async def test_a_network_error_is_retried_and_the_survey_sent_once(kefu: Kefu) -> None:
    token = await log_ticket(kefu)
    await kefu.say(CUSTOMER_EN, f"/start {token}")
    kefu.telegram.fail("sendMessage", status=502, chat_id=CUSTOMER_EN.user_id)
    await kefu.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT)
    assert (await surveys(kefu))[0].status == "pending"
    assert "queued" in await card(kefu)
    clock.advance(timedelta(seconds=5))
    await kefu.deliver()
    await kefu.deliver()
    surveys_sent = [m for m in kefu.sent_to(CUSTOMER_EN.user_id) if m.buttons]
    assert len(surveys_sent) == 1
    assert (await surveys(kefu))[0].status == "sent"


async def test_a_customer_who_links_after_resolution_is_asked_then(quick: Kefu) -> None:
    token = await log_ticket(quick)
    reply = only(await quick.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT))
    assert "no survey can be sent yet" in (reply.text or "")
    assert "customer has not linked" in await card(quick)
    sent = await quick.say(CUSTOMER, f"/start {token}")
    assert len(sent) == 2
    assert labels(sent[1]) == ZH_LABELS and "#1" in (sent[1].text or "")
    # Opening the link again does not ask twice.
    assert len(await quick.say(CUSTOMER, f"/start {token}")) == 1

    # A customer who links only after the survey's expiry is not asked any more.
    late = await log_ticket(quick, "Second problem")
    await quick.say(AGENT, "/resolve 2 root", chat=TEAM_CHAT)
    clock.advance(timedelta(seconds=31))
    await sweep_and_deliver(quick)
    assert only(await quick.say(CUSTOMER_EN, f"/start {late}")).buttons == []
    states = {s.ticket_id: s.status for s in await surveys(quick)}
    assert states == {1: "expired", 2: "expired"}


async def test_reopen_withdraws_the_survey_and_the_next_resolve_asks_again(kefu: Kefu) -> None:
    first = await resolved_with_survey(kefu, CUSTOMER_EN)
    await kefu.say(MANAGER, "/reopen 1", chat=TEAM_CHAT)
    shown = now_shown(kefu, first)
    assert "withdrawn" in (shown.text or "") and shown.buttons == []
    assert await kefu.press(CUSTOMER_EN, first, data_of(first, "Satisfied")) == []
    assert kefu.last_answer() == "This survey has closed."

    await kefu.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT)
    second = kefu.telegram.last_to(CUSTOMER_EN.user_id)
    assert second is not None and second.message_id != first.message_id
    assert labels(second) == EN_LABELS
    await kefu.press_label(CUSTOMER_EN, second, "Very satisfied")
    rounds = [(s.round, s.status, s.rating) for s in await surveys(kefu)]
    assert rounds == [(1, "void", None), (2, "answered", 10)]
    assert (await tickets(kefu))[0].status == "closed"


async def test_a_closed_ticket_reopened_keeps_its_old_answer(kefu: Kefu) -> None:
    first = await resolved_with_survey(kefu, CUSTOMER_EN)
    await kefu.press_label(CUSTOMER_EN, first, "Satisfied")
    await kefu.say(MANAGER, "/reopen 1", chat=TEAM_CHAT)
    assert (await surveys(kefu))[0].status == "answered"
    assert (await tickets(kefu))[0].status == "open"


# ---------------------------------------------------------------- restarts


async def test_a_restart_loses_nothing_and_repeats_nothing(db_url: str) -> None:
    telegram = FakeTelegram()
    kefu = await started(db_url, telegram)
    survey = await resolved_with_survey(kefu, CUSTOMER_EN)

    # The reminder is claimed, then the bot stops before it could send it.
    clock.advance(timedelta(seconds=11))
    await kefu.run_job(SWEEP)
    await kefu.stop()

    kefu = await started(db_url, telegram)
    assert await kefu.deliver() == 1
    assert await sweep_and_deliver(kefu) == []
    await kefu.stop()

    # Expiry falls due while the bot is down; the next one handles it, once.
    clock.advance(timedelta(seconds=20))
    kefu = await started(db_url, telegram)
    assert await sweep_and_deliver(kefu) == []
    await kefu.stop()
    kefu = await started(db_url, telegram)
    assert await sweep_and_deliver(kefu) == []
    await kefu.stop()

    to_customer = telegram.sent_to(CUSTOMER_EN.user_id)
    assert sum(1 for m in to_customer if m.buttons) == 2  # the survey and one reminder
    closing = [e for e in telegram.edits if e.chat_id == CUSTOMER_EN.user_id]
    assert sorted(e.message_id for e in closing) == sorted(
        {survey.message_id, to_customer[-1].message_id}
    )
    assert all("has closed" in (e.text or "") for e in closing)
    async with kefu.runtime.db.transaction() as session:
        [row] = list(await session.exec(select(Survey)))
        keys = [o.dedupe_key for o in await session.exec(select(Outbox))]
    assert row.status == "expired" and row.reminded_at is not None
    assert len(keys) == len(set(keys))


async def test_a_survey_sent_but_not_recorded_before_a_crash_is_still_followed_up(
    db_url: str,
) -> None:
    telegram = FakeTelegram()
    kefu = await started(db_url, telegram)
    token = await log_ticket(kefu)
    await kefu.say(CUSTOMER_EN, f"/start {token}")
    await kefu.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT)
    # Simulate kill -9 between the send and its bookkeeping: the survey row never heard.
    async with kefu.runtime.db.transaction() as session:
        [row] = list(await session.exec(select(Survey)))
        row.status, row.sent_at, row.message_id, row.chat_id = "pending", None, None, None
    await kefu.stop()

    kefu = await started(db_url, telegram)
    clock.advance(timedelta(seconds=11))
    reminder = only(await sweep_and_deliver(kefu))
    assert labels(reminder) == EN_LABELS
    [row] = await surveys(kefu)
    assert row.status == "sent" and row.message_id is not None
    await kefu.stop()


def test_button_data_is_signed_with_the_token() -> None:
    data = button_data(TOKEN, 42, Rating.SATISFIED)
    assert parse_button(TOKEN, data) == (42, Rating.SATISFIED)
    assert parse_button("999:other-token", data) is None
    assert parse_button(TOKEN, data.replace(":8:", ":10:")) is None
