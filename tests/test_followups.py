"""Follow-ups through the real Application: a reminder after 3 days, an escalation after 5,
each once per open period, across quiet hours, restarts, failures and two replicas."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot import clock, outbox
from bot.models import Outbox, Ticket
from tests.fakebot import FakeTelegram, SentMessage
from tests.harness import (
    AGENT,
    AGENT2,
    CUSTOMER_EN,
    MANAGER,
    TEAM_CHAT,
    Kefu,
    Person,
    only,
    settings_for,
)

SWEEP = "followup-sweep"
TICKET_NUMBER = re.compile(r"#(\d+)")
AGENT_LINK = f"tg://user?id={AGENT.user_id}"
AGENT2_LINK = f"tg://user?id={AGENT2.user_id}"
MANAGER_LINK = f"tg://user?id={MANAGER.user_id}"


async def started(db_url: str, fake: FakeTelegram | None = None, **sections: Any) -> Kefu:
    return await Kefu(settings_for(db_url, **sections), telegram=fake).start()


async def log_ticket(
    kefu: Kefu, who: Person, text: str, *, days_ago: float, chat: int | None = TEAM_CHAT
) -> int:
    """Log a ticket the customer raised `days_ago` days before now; returns its number."""
    received = (clock.now() - timedelta(days=days_ago)).astimezone(kefu.settings.team.tz)
    reply = only(
        await kefu.say(who, f"/ticket {text} received:{received:%Y-%m-%dT%H:%M}", chat=chat)
    )
    logged = TICKET_NUMBER.search(reply.text or "")
    assert logged and "start=" in (reply.text or ""), reply.text
    return int(logged.group(1))


async def sweep_and_deliver(kefu: Kefu) -> list[SentMessage]:
    before = len(kefu.telegram.sent)
    await kefu.run_job(SWEEP)
    await kefu.deliver()
    return kefu.telegram.sent[before:]


async def outbox_rows(kefu: Kefu) -> list[Outbox]:
    async with kefu.runtime.db.transaction() as session:
        rows = await session.exec(
            select(Outbox).where(Outbox.kind.startswith("followup")).order_by(Outbox.id)  # type: ignore[attr-defined]
        )
        return list(rows)


def _follow_up_of(message: SentMessage) -> tuple[int, str]:
    """(ticket number, level) of a follow-up message, read from its text."""
    text = message.text or ""
    level = "escalate" if "has been open" in text else "remind" if "still open" in text else "?"
    return int(text.split("#", 1)[1].split()[0]), level


def labels(message: SentMessage) -> list[str]:
    return [button["text"] for row in message.buttons for button in row]


async def open_private_chat(kefu: Kefu, who: Person) -> None:
    """`who` writes to the bot privately, so it may message them from now on."""
    await kefu.say(who, "/help")


# ---------------------------------------------------------------- what is sent, and when


async def test_tickets_2_4_and_6_days_old_get_exactly_the_right_follow_ups(kefu: Kefu) -> None:
    await open_private_chat(kefu, AGENT)
    young = await log_ticket(kefu, AGENT, "Wrong size customer:Li", days_ago=2)
    mine = await log_ticket(kefu, AGENT, "Parcel broken order:A123 customer:Chen", days_ago=4)
    bos = await log_ticket(kefu, AGENT2, "Missing manual customer:Wang", days_ago=4.2)
    old = await log_ticket(kefu, AGENT, "Refund not received customer:Zhao", days_ago=6)

    sent = await sweep_and_deliver(kefu)

    assert len(sent) == 3, [m.text for m in sent]
    escalation, to_bo, to_alex = sent  # oldest ticket first
    # Alex has a private chat with the bot: the reminder goes there, with one-tap buttons.
    assert to_alex.chat_id == AGENT.user_id
    assert f"Ticket #{mine} is still open after 4d" in (to_alex.text or "")
    assert "Chen" in (to_alex.text or "") and "A123" in (to_alex.text or "")
    assert "Parcel broken" in (to_alex.text or "")
    assert labels(to_alex) == [
        f"Open #{mine}",
        "Resolve: root cause fixed",
        "Resolve: cause not found",
    ]
    # Bo never wrote to the bot privately: the reminder mentions Bo in the team chat.
    assert to_bo.chat_id == TEAM_CHAT
    assert AGENT2_LINK in (to_bo.text or "") and f"ticket #{bos} is still open after 4d" in (
        to_bo.text or ""
    )
    # Logged already 6 days old: only the escalation, to the team chat, naming agent and managers.
    assert escalation.chat_id == TEAM_CHAT
    assert f"Ticket #{old} has been open for 6d" in (escalation.text or "") and "over 5 days" in (
        escalation.text or ""
    )
    assert AGENT_LINK in (escalation.text or "") and MANAGER_LINK in (escalation.text or "")
    assert "Zhao" in (escalation.text or "")

    # Nothing repeats, however often the sweep runs.
    assert await sweep_and_deliver(kefu) == []
    clock.advance(timedelta(hours=1))
    assert await sweep_and_deliver(kefu) == []

    # A day later: the 2-day ticket is past 3 days, the 4-day ones past 5. The 6-day ticket
    # never gets a reminder.
    clock.advance(timedelta(days=1))
    later = await sweep_and_deliver(kefu)
    texts = sorted(m.text or "" for m in later)
    assert len(later) == 3, texts
    assert sum(f"Ticket #{n} has been open for 5d" in t for n in (mine, bos) for t in texts) == 2
    assert sum(f"Ticket #{young} is still open after 3d" in t for t in texts) == 1
    assert await sweep_and_deliver(kefu) == []
    kinds = Counter(row.dedupe_key.rsplit(":", 1)[1] for row in await outbox_rows(kefu))
    assert kinds == {"remind": 3, "escalate": 3}


async def test_the_sweep_finds_its_own_keys_in_sql(kefu: Kefu) -> None:
    """The sweep skips what is queued by comparing keys built in SQL (`outbox.key_sql`) with
    the keys it queued (`outbox.key`): the two must spell a key alike, on both databases."""
    number = await log_ticket(kefu, AGENT, "Late parcel", days_ago=4)
    async with kefu.runtime.db.transaction() as session:
        [spelled] = await session.exec(
            select(outbox.key_sql("followup", col(Ticket.id), col(Ticket.round), "remind")).where(
                col(Ticket.id) == number
            )
        )
    assert spelled == outbox.key("followup", number, 1, "remind") == f"followup:{number}:1:remind"


async def test_resolving_before_the_sweep_sends_nothing(kefu: Kefu) -> None:
    number = await log_ticket(kefu, AGENT, "Parcel broken", days_ago=4)
    only(await kefu.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT))
    assert await sweep_and_deliver(kefu) == []
    assert await outbox_rows(kefu) == []


async def test_resolving_after_the_sweep_queued_it_sends_nothing(kefu: Kefu) -> None:
    number = await log_ticket(kefu, AGENT, "Parcel broken", days_ago=6)
    await kefu.run_job(SWEEP)  # queued, not yet delivered
    # The reply is all that is sent: the queued escalation is dropped when it comes to be sent.
    reply = only(await kefu.say(AGENT, f"/resolve {number} noroot", chat=TEAM_CHAT))
    assert f"#{number} resolved" in (reply.text or "")
    [row] = await outbox_rows(kefu)
    assert row.status == "sent" and row.message_id is None


async def test_reopen_starts_a_new_round(kefu: Kefu) -> None:
    number = await log_ticket(kefu, AGENT, "Parcel broken", days_ago=4)
    first = only(await sweep_and_deliver(kefu))
    assert f"ticket #{number} is still open" in (first.text or "")
    only(await kefu.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT))
    assert await sweep_and_deliver(kefu) == []
    only(await kefu.say(MANAGER, f"/reopen {number}", chat=TEAM_CHAT))
    # Still 4 days from receipt, so the new round reminds again, once.
    second = only(await sweep_and_deliver(kefu))
    assert f"ticket #{number} is still open" in (second.text or "")
    assert await sweep_and_deliver(kefu) == []
    keys = [row.dedupe_key for row in await outbox_rows(kefu)]
    assert keys == [f"followup:{number}:1:remind", f"followup:{number}:2:remind"]


async def test_reminder_buttons_open_and_resolve_the_ticket(kefu: Kefu) -> None:
    await open_private_chat(kefu, AGENT)
    number = await log_ticket(kefu, AGENT, "Screen cracked order:TB-9", days_ago=3.5)
    reminder = only(await sweep_and_deliver(kefu))
    card = only(await kefu.press_label(AGENT, reminder, f"Open #{number}"))
    assert f"Ticket #{number}" in (card.text or "") and "TB-9" in (card.text or "")
    done = only(await kefu.press_label(AGENT, reminder, "Resolve: root cause fixed"))
    assert f"#{number} resolved (quality 10)" in (done.text or "")
    assert kefu.telegram.message(AGENT.user_id, reminder.message_id).reply_markup is None  # type: ignore[union-attr]
    clock.advance(timedelta(days=2))
    assert await sweep_and_deliver(kefu) == []


async def test_the_open_button_shows_the_card_as_show_does_in_the_team_zone(kefu: Kefu) -> None:
    """Times on the card (received, the survey's) read in the team's zone, by either path."""
    await open_private_chat(kefu, AGENT)
    number = await log_ticket(kefu, AGENT, "Screen cracked order:TB-9", days_ago=3.5)
    reply = kefu.telegram.sent_to(TEAM_CHAT)[-1].text or ""
    await kefu.say(CUSTOMER_EN, f"/start {reply.split('?start=')[1].split()[0]}")
    await kefu.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT)
    survey = kefu.telegram.last_to(CUSTOMER_EN.user_id)
    assert survey is not None and survey.buttons
    await kefu.press_label(CUSTOMER_EN, survey, "Satisfied")
    await kefu.say(MANAGER, f"/reopen {number}", chat=TEAM_CHAT)
    reminder = only(await sweep_and_deliver(kefu))
    opened = only(await kefu.press_label(AGENT, reminder, f"Open #{number}")).text or ""
    shown = only(await kefu.say(AGENT, f"/show {number}")).text or ""
    assert opened == shown
    answered = clock.now().astimezone(kefu.settings.team.tz).strftime("%m-%d %H:%M")
    assert f"answered {answered}" in opened, opened


async def test_follow_ups_speak_the_team_language(db_url: str) -> None:
    kefu = await started(db_url, team={"language": "zh_CN"})
    try:
        number = await log_ticket(kefu, AGENT, "包裹破损", days_ago=4)
        reminder = only(await sweep_and_deliver(kefu))
        assert f"#{number}" in (reminder.text or "") and "包裹破损" in (reminder.text or "")
        assert "still open" not in (reminder.text or "")
        assert f"打开 #{number}" in labels(reminder)
    finally:
        await kefu.stop()


async def test_tickets_overdue_lists_oldest_first_with_agents(kefu: Kefu) -> None:
    await log_ticket(kefu, AGENT, "Two days", days_ago=2)
    four = await log_ticket(kefu, AGENT, "Four days", days_ago=4)
    six = await log_ticket(kefu, AGENT, "Six days", days_ago=6)
    seven = await log_ticket(kefu, AGENT2, "Seven days", days_ago=7)
    text = only(await kefu.say(MANAGER, "/tickets overdue", chat=TEAM_CHAT)).text or ""
    lines = text.splitlines()
    assert lines[0] == "<b>Open over 5 days</b>"
    assert lines[1].startswith(f"#{seven} ") and "Bo" in lines[1] and "7d" in lines[1]
    assert lines[2].startswith(f"#{six} ") and "Alex" in lines[2]
    assert lines[3] == "<b>Open over 3 days</b>"
    assert lines[4].startswith(f"#{four} ") and "Alex" in lines[4]
    assert len(lines) == 5  # the 2-day ticket is not overdue


# ---------------------------------------------------------------- quiet hours


def _next_local(kefu: Kefu, at: time) -> datetime:
    tz = kefu.settings.team.tz
    local = clock.now().astimezone(tz)
    moment = datetime.combine(local.date(), at, tzinfo=tz)
    return (
        moment
        if moment > local
        else datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    )


async def test_quiet_hours_delay_follow_ups_until_they_end(db_url: str) -> None:
    kefu = await started(db_url, followup={"quiet_hours": "22:00-08:00"})
    try:
        await open_private_chat(kefu, AGENT)
        clock.advance(_next_local(kefu, time(23, 30)) - clock.now())
        number = await log_ticket(kefu, AGENT, "Parcel broken", days_ago=4, chat=AGENT.user_id)
        assert await sweep_and_deliver(kefu) == []
        [row] = await outbox_rows(kefu)
        morning = _next_local(kefu, time(8, 0))
        assert row.status == "pending" and row.not_before == morning
        clock.advance(morning - clock.now() - timedelta(minutes=1))
        assert await sweep_and_deliver(kefu) == []
        clock.advance(timedelta(minutes=1))
        reminder = only(await sweep_and_deliver(kefu))
        assert reminder.chat_id == AGENT.user_id and f"#{number}" in (reminder.text or "")
    finally:
        await kefu.stop()


# ---------------------------------------------------------------- restarts and replicas


async def test_restart_between_sweep_and_delivery_sends_each_once(db_url: str) -> None:
    telegram = FakeTelegram()
    first = await started(db_url, telegram)
    await open_private_chat(first, AGENT)
    remind = await log_ticket(first, AGENT, "Parcel broken", days_ago=4)
    escalate = await log_ticket(first, AGENT, "Refund missing", days_ago=6)
    await first.run_job(SWEEP)
    # The process dies before its dispatcher ran; one row was even leased mid-delivery.
    [leased] = await outbox.claim_due(first.runtime.db, owner="dead-replica", limit=1)
    await first.stop()
    before = len(telegram.sent)

    second = await started(db_url, telegram)
    second.runtime.instance = "replica-2"
    try:
        await second.run_job(SWEEP)  # a re-run sweep finds nothing new to queue
        await second.deliver()
        # The row leased by the dead process waits for its lease to lapse, then goes out.
        clock.advance(outbox.LEASE + timedelta(seconds=1))
        await second.run_job(SWEEP)
        await second.deliver()
        assert await sweep_and_deliver(second) == []
        sent = telegram.sent[before:]
        assert len(sent) == 2, [m.text for m in sent]
        assert sum(f"#{remind} is still open" in (m.text or "") for m in sent) == 1
        assert sum(f"#{escalate} has been open" in (m.text or "") for m in sent) == 1
        [taken_over] = [r for r in await outbox_rows(second) if r.dedupe_key == leased.dedupe_key]
        assert (taken_over.status, taken_over.claimed_by, taken_over.attempts) == (
            "sent",
            "replica-2",
            2,
        )
    finally:
        await second.stop()


async def test_two_schedulers_on_one_database_send_each_follow_up_once(db_url: str) -> None:
    telegram = FakeTelegram()
    replica_a = await started(db_url, telegram)
    replica_b = await started(db_url, telegram)
    replica_a.runtime.instance, replica_b.runtime.instance = "replica-a", "replica-b"
    try:
        await open_private_chat(replica_a, AGENT)
        ages = [1.0, 2.95, 3.5, 4.97, 5.5, 8.0]
        numbers = [
            await log_ticket(replica_a, AGENT, f"Problem {age}", days_ago=age, chat=None)
            for age in ages
        ]
        before = len(telegram.sent)
        for _ in range(4):
            await asyncio.gather(
                replica_a.run_job(SWEEP),
                replica_b.run_job(SWEEP),
                replica_a.deliver(),
                replica_b.deliver(),
                replica_b.run_job(SWEEP),
                replica_a.run_job(SWEEP),
            )
            await asyncio.gather(replica_a.deliver(), replica_b.deliver())
            # Tickets cross thresholds while both replicas keep sweeping.
            clock.advance(timedelta(hours=1, minutes=30))
        sent = Counter(_follow_up_of(m) for m in telegram.sent[before:])
        expected = {
            numbers[1]: ["remind"],  # crossed 3 days during the test
            numbers[2]: ["remind"],
            numbers[3]: ["remind", "escalate"],  # reminded, then crossed 5 days
            numbers[4]: ["escalate"],
            numbers[5]: ["escalate"],
        }
        assert sent == Counter(
            (number, level) for number, levels in expected.items() for level in levels
        )
        rows = await outbox_rows(replica_a)
        assert len(rows) == 6 and all(row.status == "sent" and row.message_id for row in rows)
    finally:
        await replica_a.stop()
        await replica_b.stop()


# ---------------------------------------------------------------- failures


async def test_send_failures_are_retried_or_rerouted_and_block_nothing(db_url: str) -> None:
    # No retries inside the HTTP layer: the dispatcher's own retry and refusal paths run.
    kefu = await started(db_url, telegram={"send_retries": 0})
    try:
        for person in (AGENT, AGENT2, MANAGER):
            await open_private_chat(kefu, person)
        escalated = await log_ticket(kefu, MANAGER, "Oldest", days_ago=6)
        blocked = await log_ticket(kefu, AGENT, "Blocked agent", days_ago=4.5)
        flooded = await log_ticket(kefu, AGENT2, "Flood limit", days_ago=4.4)
        fine = await log_ticket(kefu, MANAGER, "Goes through", days_ago=4.3)
        kefu.telegram.blocked(AGENT.user_id)
        kefu.telegram.fail("sendMessage", status=429, retry_after=5, chat_id=AGENT2.user_id)
        kefu.telegram.fail("sendMessage", status=502, chat_id=TEAM_CHAT)

        first = await sweep_and_deliver(kefu)
        # The escalation hit a 502 and Bo's reminder a 429, yet the others went out in the
        # same pass, and the blocked agent's reminder moved to the team chat.
        assert [(m.chat_id, (m.text or "").split("\n")[0]) for m in first] == [
            (MANAGER.user_id, f"⏰ <b>Ticket #{fine} is still open after 4d 7h.</b>"),
            (
                TEAM_CHAT,
                f'⏰ <a href="{AGENT_LINK}">Alex</a>, ticket #{blocked} is still open after 4d 12h.',
            ),
        ]
        rows = {row.dedupe_key: row for row in await outbox_rows(kefu)}
        assert rows[f"followup:{blocked}:1:remind"].status == "failed"
        assert "blocked" in (rows[f"followup:{blocked}:1:remind"].last_error or "")
        assert rows[f"followup:{escalated}:1:escalate"].status == "pending"
        assert rows[f"followup:{flooded}:1:remind"].status == "pending"

        clock.advance(timedelta(seconds=6))
        retried = await sweep_and_deliver(kefu)
        assert {(m.chat_id, _follow_up_of(m)) for m in retried} == {
            (TEAM_CHAT, (escalated, "escalate")),
            (AGENT2.user_id, (flooded, "remind")),
        }
        clock.advance(timedelta(minutes=5))
        assert await sweep_and_deliver(kefu) == []
    finally:
        await kefu.stop()


async def test_no_destination_yet_waits_and_is_not_lost(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    kefu = await started(db_url, team={"chat_id": None})
    try:
        number = await log_ticket(kefu, AGENT, "Parcel broken", days_ago=4, chat=None)
        # Alex wrote privately, so the reminder can go there; the escalation has no team chat.
        old = await log_ticket(kefu, AGENT, "Older", days_ago=6, chat=None)
        with caplog.at_level(logging.WARNING, logger="bot.services.followups"):
            reminder = only(await sweep_and_deliver(kefu))
        assert reminder.chat_id == AGENT.user_id and f"#{number}" in (reminder.text or "")
        assert "no team chat" in caplog.text
        assert [row.kind for row in await outbox_rows(kefu)] == ["followup_remind"]
    finally:
        await kefu.stop()
    # Restarted with a team chat configured: the escalation that waited goes out, once.
    restarted = await started(db_url, kefu.telegram)
    try:
        escalation = only(await sweep_and_deliver(restarted))
        assert escalation.chat_id == TEAM_CHAT and f"#{old}" in (escalation.text or "")
        assert await sweep_and_deliver(restarted) == []
    finally:
        await restarted.stop()


async def test_sweep_runs_on_the_configured_interval(db_url: str) -> None:
    kefu = await started(db_url, followup={"check_interval_minutes": 0.5})
    try:
        assert kefu.app.job_queue is not None
        [job] = kefu.app.job_queue.get_jobs_by_name(SWEEP)
        assert job.job.trigger.interval == timedelta(seconds=30)
    finally:
        await kefu.stop()
