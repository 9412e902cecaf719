"""Telegram, the network and the database misbehave: nothing acknowledged is lost or doubled.

In-process tests drive the real Application and dispatcher against the fake Bot API's fault
injection; the crash test (`kill -9` of `kefu run` mid-burst) and the PostgreSQL restart test
run the bot the way production does, against a Bot API served over HTTP and a private
PostgreSQL server of their own.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from bot import clock, migrate, outbox
from bot.db import Database, DatabaseUnavailable
from bot.jobs import recover_after_crash
from bot.models import Outbox, Survey, Ticket, TicketEvent
from bot.outbox import dispatcher
from bot.outbox.notices import REGISTRY, Notice, Outgoing, register
from bot.process import sending
from bot.process.runtime import Runtime
from bot.services import tickets
from tests.fakebot import FakeBotApiServer, FakeTelegram, SentMessage, UpdateFactory
from tests.harness import (
    AGENT,
    CUSTOMER,
    MANAGER,
    TEAM_CHAT,
    TOKEN,
    Kefu,
    Person,
    settings_for,
)
from tests.pg_private import PrivatePostgres
from tests.processes import clean_env, kefu_command, wait_for
from tests.steps import LINK
from tests.throttle import unthrottle
from tests.webtools import eventually, free_port, metric

PING = "fault-test-ping"
ACK = re.compile(r"Ticket #(\d+) logged")


async def _render_ping(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    return Outgoing(payload["text"])


# A plain notice kind of our own, so delivery is tested apart from any feature's rendering.
if PING not in REGISTRY:
    register(Notice(PING, render=_render_ping))


@pytest.fixture
async def bot(db_url: str) -> AsyncIterator[Kefu]:
    """The bot with the rate limiter's own 429 retries off, so the dispatcher's are tested."""
    running = await Kefu(
        settings_for(db_url, telegram={"send_retries": 0}, digest={"time": "00:00"})
    ).start()
    try:
        yield running
    finally:
        await running.stop()


async def queue_ping(kefu: Kefu, chat_id: int, text: str, key: str | None = None) -> None:
    async with kefu.runtime.db.transaction() as session:
        await outbox.enqueue(
            session, key=key or f"ping:{text}", kind=PING, chat_id=chat_id, payload={"text": text}
        )


async def outbox_rows(db: Database, kind: str | None = None) -> list[Outbox]:
    async with db.transaction() as session:
        statement = select(Outbox).order_by(Outbox.id)
        if kind is not None:
            statement = statement.where(Outbox.kind == kind)
        return list(await session.exec(statement))


def texts(kefu: Kefu, chat_id: int) -> list[str]:
    return kefu.texts_to(chat_id)


def short_read_timeout(kefu: Kefu, seconds: float) -> None:
    """What the fake's transport waits before it reports a timeout (its default is 5 s)."""
    kefu.app.bot.request._read_timeout = seconds  # type: ignore[attr-defined]


async def link_customer(kefu: Kefu, customer: Person = CUSTOMER) -> int:
    """Log a ticket in the team chat and have the customer open its link; its number."""
    [logged] = await kefu.say(AGENT, "/ticket Parcel arrived broken order:A1", chat=TEAM_CHAT)
    match = LINK.search(logged.text or "")
    assert match, logged.text
    await kefu.say(customer, f"/start {match.group(1)}")
    number = int(re.search(r"#(\d+)", logged.text or "").group(1))  # type: ignore[union-attr]
    return number


# ---------------------------------------------------------------- transient failures


FAULTS: dict[str, Callable[[FakeTelegram, int], None]] = {
    "429 flood limit": lambda tg, chat: tg.fail(
        "sendMessage", status=429, retry_after=7, chat_id=chat
    ),
    "500 internal error": lambda tg, chat: tg.fail("sendMessage", status=500, chat_id=chat),
    "502 bad gateway": lambda tg, chat: tg.fail("sendMessage", status=502, chat_id=chat),
    "dropped connection": lambda tg, chat: tg.drop("sendMessage", chat_id=chat),
    "timeout": lambda tg, chat: tg.delay("sendMessage", 0.5, chat_id=chat, executed=False, times=1),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_transient_failure_is_retried_with_back_off_and_delivered_once(
    bot: Kefu, fault: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = await link_customer(bot)
    monkeypatch.setattr(dispatcher, "SEND_TIMEOUT", 0.2)
    FAULTS[fault](bot.telegram, CUSTOMER.user_id)
    with caplog.at_level(logging.WARNING, logger="bot.outbox.dispatcher"):
        await bot.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT)
    assert bot.sent_to(CUSTOMER.user_id)[1:] == []  # [0] is the reply to /start
    [row] = await outbox_rows(bot.runtime.db, "survey")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error and row.not_before > clock.now()
    assert any(f"outbox #{row.id}" in r.getMessage() for r in caplog.records)

    # Not due yet: a second pass right away does not hammer Telegram.
    calls = len(bot.telegram.calls("sendMessage"))
    assert await bot.deliver() == 0
    assert len(bot.telegram.calls("sendMessage")) == calls

    clock.advance(row.not_before - clock.now() + timedelta(seconds=1))
    assert await bot.deliver() == 1
    clock.advance(timedelta(hours=1))
    assert await bot.deliver() == 0
    [_linked, survey] = bot.sent_to(CUSTOMER.user_id)
    assert f"#{number}" in (survey.text or "") and survey.buttons
    [row] = await outbox_rows(bot.runtime.db, "survey")
    assert (row.status, row.attempts, row.message_id) == ("sent", 2, survey.message_id)


async def test_a_slow_answer_is_waited_for_rather_than_raced_by_a_retry(bot: Kefu) -> None:
    # Direct replies give up after 0.2 s here; a queued message waits for Telegram's answer,
    # because a send that timed out may still have been delivered.
    short_read_timeout(bot, 0.2)
    await queue_ping(bot, CUSTOMER.user_id, "slow but delivered")
    bot.telegram.delay("sendMessage", 0.5, chat_id=CUSTOMER.user_id, executed=True, times=1)
    assert await bot.deliver() == 1
    clock.advance(timedelta(hours=1))
    assert await bot.deliver() == 0
    assert texts(bot, CUSTOMER.user_id) == ["slow but delivered"]


async def test_flood_limit_retry_after_is_honoured(bot: Kefu) -> None:
    await queue_ping(bot, CUSTOMER.user_id, "hello")
    bot.telegram.fail("sendMessage", status=429, retry_after=42, chat_id=CUSTOMER.user_id)
    assert await bot.deliver() == 0
    [row] = await outbox_rows(bot.runtime.db, PING)
    wait = row.not_before - clock.now()
    assert timedelta(seconds=40) < wait <= timedelta(seconds=42)
    clock.advance(timedelta(seconds=30))
    assert await bot.deliver() == 0
    clock.advance(timedelta(seconds=13))
    assert await bot.deliver() == 1
    assert texts(bot, CUSTOMER.user_id) == ["hello"]


async def test_the_rate_limiter_waits_out_a_short_flood_limit_itself(db_url: str) -> None:
    kefu = await Kefu(settings_for(db_url)).start()  # production setting: 429s retried in place
    try:
        await queue_ping(kefu, CUSTOMER.user_id, "hello")
        kefu.telegram.fail("sendMessage", status=429, retry_after=1, chat_id=CUSTOMER.user_id)
        assert await kefu.deliver() == 1
        assert texts(kefu, CUSTOMER.user_id) == ["hello"]
        assert [c.status for c in kefu.telegram.calls("sendMessage")] == [429, 200]
    finally:
        await kefu.stop()


async def test_an_outage_of_hours_is_outlasted_and_giving_up_is_logged(
    bot: Kefu, caplog: pytest.LogCaptureFixture
) -> None:
    await queue_ping(bot, CUSTOMER.user_id, "your survey")
    bot.telegram.fail("sendMessage", status=502, chat_id=CUSTOMER.user_id, times=None)
    elapsed = timedelta()
    # Telegram down for two hours: the message is still waiting, not given up.
    while elapsed < timedelta(hours=2):
        await bot.deliver()
        [row] = await outbox_rows(bot.runtime.db, PING)
        assert row.status == "pending", f"gave up after {elapsed}"
        step = row.not_before - clock.now() + timedelta(seconds=1)
        assert step <= timedelta(minutes=11)  # the back-off is capped
        clock.advance(step)
        elapsed += step
    bot.telegram.clear_faults()
    assert await bot.deliver() == 1
    assert texts(bot, CUSTOMER.user_id) == ["your survey"]

    # A message that can never get through is given up in the end, loudly.
    await queue_ping(bot, CUSTOMER.user_id, "doomed")
    bot.telegram.fail("sendMessage", status=500, chat_id=CUSTOMER.user_id, times=None)
    with caplog.at_level(logging.WARNING, logger="bot.outbox.dispatcher"):
        for _ in range(200):
            await bot.deliver()
            [_sent, row] = await outbox_rows(bot.runtime.db, PING)
            if row.status != "pending":
                break
            clock.advance(row.not_before - clock.now() + timedelta(seconds=1))
    assert row.status == "failed"
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1 and gave_up[0].levelno == logging.ERROR
    assert f"outbox #{row.id}" in gave_up[0].getMessage()
    assert texts(bot, CUSTOMER.user_id) == ["your survey"]


# ---------------------------------------------------------------- direct replies


async def test_twenty_acknowledgements_survive_flood_limits_and_errors_each_once(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Production retries; no digest falling due while the burst runs.
    kefu = await Kefu(settings_for(db_url, digest={"time": "00:00"})).start()
    unthrottle(kefu.app)  # 20 a minute to a group: the pacing would only slow the test
    monkeypatch.setattr(sending, "FIRST_BACKOFF", 0.05)  # the same schedule, faster
    try:
        # Telegram's bad moment: three flood limits, then three internal errors.
        kefu.telegram.fail("sendMessage", status=429, retry_after=1, times=3)
        kefu.telegram.fail("sendMessage", status=500, times=3)
        await kefu.burst(
            [
                kefu.updates.message(AGENT.json, TEAM_CHAT, f"/ticket Parcel {n} order:F{n}")
                for n in range(1, 21)
            ]
        )
        statuses = [call.status for call in kefu.telegram.calls("sendMessage")]
        assert statuses.count(429) == 3 and statuses.count(500) == 3
        acks = [m for m in kefu.sent_to(TEAM_CHAT) if ACK.search(m.text or "")]
        numbers = sorted(int(ACK.search(m.text or "").group(1)) for m in acks)  # type: ignore[union-attr]
        assert numbers == list(range(1, 21))  # every ticket acknowledged, none twice
        assert all(LINK.search(m.text or "") for m in acks)
        assert await outbox_rows(kefu.runtime.db, tickets.ACKNOWLEDGEMENT_KIND) == []
    finally:
        await kefu.stop()


async def test_a_slow_acknowledgement_is_waited_for_not_raced(bot: Kefu) -> None:
    short_read_timeout(bot, 0.2)  # what the transport would wait for any other call
    bot.telegram.delay("sendMessage", 0.5, chat_id=TEAM_CHAT, executed=True, times=1)
    sent = await bot.say(AGENT, "/ticket Parcel late order:S1", chat=TEAM_CHAT)
    assert [ACK.search(m.text or "") is not None for m in sent] == [True]
    assert len(bot.telegram.calls("sendMessage")) == 1


async def test_an_acknowledgement_telegram_keeps_failing_goes_through_the_outbox(
    bot: Kefu, caplog: pytest.LogCaptureFixture
) -> None:
    # Retries in place are off here (send_retries = 0): the first failure hands it over.
    unthrottle(bot.app)  # every attempt counts against 20 a minute to a group
    bot.telegram.fail("sendMessage", status=502, chat_id=TEAM_CHAT, times=2)
    with caplog.at_level(logging.WARNING):
        assert await bot.say(AGENT, "/ticket Parcel wet order:O1", chat=TEAM_CHAT) == []
        clock.advance(timedelta(minutes=1))
        [ack] = [m for _ in range(3) for m in await _delivered(bot)]
    assert ACK.search(ack.text or "") and LINK.search(ack.text or "")
    assert any("ticket #1 logged" in r.getMessage() for r in caplog.records)
    [row] = await outbox_rows(bot.runtime.db)
    assert (row.status, row.attempts) == ("sent", 2)

    # One Telegram never takes is given up in the end, with a line naming the ticket.
    bot.telegram.fail("sendMessage", status=500, chat_id=TEAM_CHAT, times=None)
    await bot.say(AGENT, "/ticket Parcel gone order:O2", chat=TEAM_CHAT)
    with caplog.at_level(logging.WARNING, logger="bot.dispatcher"):
        for _ in range(outbox.MAX_ATTEMPTS):
            clock.advance(timedelta(hours=1))
            await bot.deliver()
    [_sent, doomed] = await outbox_rows(bot.runtime.db)
    assert doomed.status == "failed"
    [gave_up] = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert "about ticket #2" in gave_up.getMessage() and gave_up.levelno == logging.ERROR


async def _delivered(kefu: Kefu) -> list[SentMessage]:
    before = len(kefu.telegram.sent)
    await kefu.deliver()
    clock.advance(timedelta(minutes=1))
    return kefu.telegram.sent[before:]


# ---------------------------------------------------------------- refusals: no retry loop


async def test_a_customer_who_blocked_the_bot_is_recorded_and_the_agent_told(
    bot: Kefu, caplog: pytest.LogCaptureFixture
) -> None:
    number = await link_customer(bot)
    bot.telegram.clear()
    bot.telegram.blocked(CUSTOMER.user_id)
    with caplog.at_level(logging.WARNING, logger="bot.outbox.dispatcher"):
        await bot.say(AGENT, f"/resolve {number} root", chat=TEAM_CHAT)
    for _ in range(5):
        clock.advance(timedelta(hours=2))
        await bot.deliver()
        await bot.run_job("survey-sweep")
        await bot.deliver()
    attempts = [c for c in bot.telegram.calls("sendMessage") if c.params["chat_id"] == 3001]
    assert len(attempts) == 1 and attempts[0].status == 403
    [row] = await outbox_rows(bot.runtime.db, "survey")
    assert row.status == "failed" and "blocked" in (row.last_error or "")
    async with bot.runtime.db.transaction() as session:
        [survey] = await session.exec(select(Survey))
    assert survey.status == "undeliverable"
    told = [t for t in texts(bot, TEAM_CHAT) + texts(bot, AGENT.user_id) if f"#{number}" in t]
    assert any("survey" in t.lower() for t in told), told
    assert any("not retrying" in r.getMessage() for r in caplog.records)


async def test_an_agent_who_blocked_the_bot_is_reminded_in_the_team_chat(bot: Kefu) -> None:
    await bot.say(AGENT, "/help")  # the agent has a private chat with the bot
    received = (clock.now() - timedelta(days=4)).astimezone(bot.settings.team.tz)
    await bot.say(AGENT, f"/ticket Slow courier received:{received:%Y-%m-%dT%H:%M}", chat=TEAM_CHAT)
    bot.telegram.clear()
    bot.telegram.blocked(AGENT.user_id)
    for _ in range(4):
        await bot.run_job("followup-sweep")
        await bot.deliver()
        clock.advance(timedelta(hours=1))
    to_agent = [c for c in bot.telegram.calls("sendMessage") if c.params["chat_id"] == 2001]
    assert [c.status for c in to_agent] == [403]
    reminders = [t for t in texts(bot, TEAM_CHAT) if "still open" in t]
    assert len(reminders) == 1 and "#1" in reminders[0]


async def test_the_bot_removed_from_the_team_chat_tells_the_managers_once_and_holds_its_messages(
    bot: Kefu,
) -> None:
    await bot.say(MANAGER, "/help")  # the manager can be written to privately
    bot.telegram.clear()
    bot.telegram.blocked(TEAM_CHAT)  # "Forbidden: bot was kicked from the supergroup chat"
    await queue_ping(bot, TEAM_CHAT, "first")
    await queue_ping(bot, TEAM_CHAT, "second")
    for _ in range(3):
        await bot.deliver()
        clock.advance(timedelta(minutes=30))
    to_team = [c for c in bot.telegram.calls("sendMessage") if c.params["chat_id"] == TEAM_CHAT]
    assert [c.status for c in to_team] == [403, 403]
    # Kept for the bot's return (tests/test_real_updates.py), not given up.
    assert {r.status for r in await outbox_rows(bot.runtime.db, PING)} == {"held"}
    [told] = texts(bot, MANAGER.user_id)
    assert "team chat" in told.lower()


async def test_removing_the_bot_from_the_team_chat_is_noticed_at_once(bot: Kefu) -> None:
    await bot.say(MANAGER, "/help")
    bot.telegram.clear()
    me = {**bot.telegram.bot_user}
    removal = {
        "update_id": bot.updates.next_update_id(),
        "my_chat_member": {
            "chat": {"id": TEAM_CHAT, "type": "supergroup", "title": "After-sales team"},
            "from": AGENT.json,
            "date": int(clock.now().timestamp()),
            "old_chat_member": {"status": "member", "user": me},
            "new_chat_member": {"status": "kicked", "user": me, "until_date": 0},
        },
    }
    await bot.process(removal)
    [told] = texts(bot, MANAGER.user_id)
    assert "team chat" in told and "removed" in told
    # Telegram refusing the next team message the same day does not repeat the alarm.
    bot.telegram.blocked(TEAM_CHAT)
    await queue_ping(bot, TEAM_CHAT, "digest")
    await bot.deliver()
    assert len(texts(bot, MANAGER.user_id)) == 1


# ---------------------------------------------------------------- no race into a duplicate


async def two_replicas(db_url: str, telegram: FakeTelegram) -> tuple[Kefu, Kefu]:
    settings = settings_for(db_url, telegram={"send_retries": 0})
    first = await Kefu(settings, telegram).start()
    second = Kefu(settings, telegram)
    second.runtime.instance = "replica-2"
    return first, await second.start()


async def test_two_dispatchers_on_one_database_send_each_message_once(db_url: str) -> None:
    telegram = FakeTelegram()
    first, second = await two_replicas(db_url, telegram)
    try:
        for n in range(60):
            await queue_ping(first, 5000 + n, f"message {n}")
        telegram.delay("sendMessage", 0.01)  # keep both passes in flight together
        delivered = await asyncio.gather(first.deliver(), second.deliver())
        assert sum(delivered) == 60
        assert sorted(m.text or "" for m in telegram.sent) == sorted(
            f"message {n}" for n in range(60)
        )
        rows = await outbox_rows(first.runtime.db, PING)
        assert {r.status for r in rows} == {"sent"}
    finally:
        await first.stop()
        await second.stop()


async def test_a_slow_send_past_its_lease_is_not_sent_again_by_another_replica(
    db_url: str,
) -> None:
    telegram = FakeTelegram()
    first, second = await two_replicas(db_url, telegram)
    try:
        for n in range(5):
            await queue_ping(first, 6000 + n, f"message {n}")
        telegram.delay("sendMessage", 0.6, times=1)  # the first replica's first send hangs
        stuck = asyncio.create_task(first.deliver())
        await eventually(lambda: telegram.delays_pending() == 0, "the first send to hang", within=5)
        # Meanwhile the claims' lease runs out and the second replica looks for work.
        clock.advance(outbox.LEASE + timedelta(seconds=1))
        await second.deliver()
        await stuck
        clock.advance(timedelta(hours=1))
        await first.deliver()
        await second.deliver()
        sent = sorted(m.text or "" for m in telegram.sent)
        assert sent == [f"message {n}" for n in range(5)]
    finally:
        await first.stop()
        await second.stop()


async def test_a_redelivered_update_is_handled_once(bot: Kefu) -> None:
    update = bot.updates.message(AGENT.json, TEAM_CHAT, "/ticket Lost parcel order:R1")
    first = await bot.process(update)
    again = await bot.process(update)
    assert len(first) == 1 and again == []
    async with bot.runtime.db.transaction() as session:
        count = (await session.exec(select(func.count()).select_from(Ticket))).one()
    assert count == 1


async def test_a_failing_update_gets_one_apology_not_one_per_handler(
    bot: Kefu, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import updates

    async def unavailable(*args: object, **kwargs: object) -> bool:
        raise DatabaseUnavailable("connection refused")

    monkeypatch.setattr(updates, "claim_and_look_up", unavailable)
    replies = await bot.say(AGENT, "/ticket Parcel broken", chat=TEAM_CHAT)
    assert [r.text for r in replies] == [
        "The database is not reachable right now. Please try again in a moment."
    ]


# ---------------------------------------------------------------- PostgreSQL restarted under the bot

UNREACHABLE = "The database is not reachable right now. Please try again in a moment."


async def handle(kefu: Kefu, who: Person, text: str, *, chat: int) -> list[SentMessage]:
    """What the Application answers to one message, without running the outbox after it."""
    before = len(kefu.telegram.sent)
    update = kefu.updates.message(who.json, chat, text)
    await kefu.app.process_update(UpdateFactory.to_update(update, kefu.app.bot))
    return kefu.telegram.sent[before:]


async def test_postgresql_restart_is_survived_without_corruption(
    private_postgres: PrivatePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    pg = private_postgres
    pg.create_database("kefu")
    await migrate.upgrade(pg.url("kefu"))
    kefu = await Kefu(settings_for(pg.url("kefu"))).start()
    try:
        [first] = await kefu.say(AGENT, "/ticket Before the outage order:B1", chat=TEAM_CHAT)
        assert "Ticket #1 logged" in (first.text or "")

        await asyncio.to_thread(pg.stop)
        with caplog.at_level(logging.WARNING):
            during = [
                await handle(kefu, AGENT, "/ticket During the outage", chat=TEAM_CHAT),
                await handle(kefu, AGENT, "/tickets", chat=TEAM_CHAT),
                await handle(kefu, CUSTOMER, "/start sometoken", chat=CUSTOMER.user_id),
            ]
        # One clear answer per command, not one per handler group.
        assert [[m.text for m in replies] for replies in during] == [[UNREACHABLE]] * 3
        assert any("database unavailable" in r.getMessage() for r in caplog.records)
        with pytest.raises(DatabaseUnavailable):
            await kefu.deliver()  # a job meets the outage the same way: no crash, no send

        # Back up: the pool notices its dead connections by itself (pre-ping).
        await asyncio.to_thread(pg.start)
        [after] = await kefu.say(AGENT, "/ticket After the outage order:B3", chat=TEAM_CHAT)
        assert "Ticket #2 logged" in (after.text or "")

        # A crash (no clean shutdown) loses nothing that was committed.
        await asyncio.to_thread(pg.stop, "immediate")
        await asyncio.to_thread(pg.start)
        [listing] = await kefu.say(AGENT, "/tickets all", chat=TEAM_CHAT)
        assert "Before the outage" in (listing.text or "")
        assert "After the outage" in (listing.text or "")
        assert "During the outage" not in (listing.text or "")
        async with kefu.runtime.db.transaction() as session:
            tickets = list(await session.exec(select(Ticket).order_by(Ticket.id)))
            events = list(await session.exec(select(TicketEvent).order_by(TicketEvent.id)))
        assert [t.description for t in tickets] == ["Before the outage", "After the outage"]
        assert [(e.ticket_id, e.kind) for e in events] == [(1, "created"), (2, "created")]
    finally:
        await kefu.stop()


# ---------------------------------------------------------------- kill -9 in the middle of a burst

BURST = 500
KILL_AFTER_ACKS = 150
# Every 100th ticket was raised 4 days ago (a reminder is due), every 250th 6 days ago
# (an escalation is due): scheduled work that must happen once across the crash.
OVERDUE_REMIND = range(100, BURST + 1, 100)
OVERDUE_ESCALATE = range(125, BURST + 1, 250)


def crash_config(path: Path, *, base_url: str, db_url: str, ops_port: int) -> Path:
    path.write_text(
        f'[telegram]\napi_base_url = "{base_url}"\npoll_timeout = 1\n'
        f'[database]\nurl = "{db_url}"\n'
        f"[team]\nmanagers = [{MANAGER.user_id}]\nagents = [{AGENT.user_id}]\n"
        f"chat_id = {TEAM_CHAT}\n"
        # The survey reminder comes due two seconds after the question, swept every second.
        "[survey]\nremind_after_hours = 0.0006\nexpire_after_hours = 1\n"
        "check_interval_seconds = 1\n"
        '[followup]\ncheck_interval_minutes = 0.02\n[digest]\ntime = "00:00"\n'
        # /metrics counts the scheduled runs: how the test knows more of them have passed.
        f'[ops]\nlisten = "127.0.0.1:{ops_port}"\n'
    )
    return path


def job_runs(ops_port: int) -> dict[str, float]:
    """The outbox passes and follow-up sweeps `kefu run` has made, read from /metrics."""
    text = httpx.get(f"http://127.0.0.1:{ops_port}/metrics", timeout=5).text
    return {job: metric(text, "kefu_job_runs_total", job=job) for job in RUNS_WATCHED}


RUNS_WATCHED = ("outbox", "followup-sweep")


def start_kefu(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [*kefu_command(), "--config", str(config), "run"],
            env=clean_env(KEFU_TELEGRAM__TOKEN=TOKEN),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def burst_text(n: int, tz: Any) -> str:
    text = f"/ticket burst {n} order:K{n}"
    days = 6 if n in OVERDUE_ESCALATE else 4 if n in OVERDUE_REMIND else 0
    if days:
        received = (clock.now() - timedelta(days=days, hours=1)).astimezone(tz)
        text += f" received:{received:%Y-%m-%dT%H:%M}"
    return text


@pytest.mark.e2e
def test_kill_9_mid_burst_loses_nothing_acknowledged_and_repeats_nothing(
    db_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "kefu.log"
    with FakeBotApiServer() as server:
        telegram = server.telegram
        updates = UpdateFactory(telegram)
        updates.group_chat(TEAM_CHAT, "After-sales team")
        ops_port = free_port()
        config = crash_config(
            tmp_path / "config.toml", base_url=server.base_url, db_url=db_url, ops_port=ops_port
        )
        tz = settings_for(db_url).team.tz

        def acks() -> list[int]:
            found = (ACK.search(m.text or "") for m in telegram.sent_to(AGENT.user_id))
            return [int(match.group(1)) for match in found if match]

        process = start_kefu(config, log)
        try:
            # A resolved ticket whose customer is linked: its survey reminder is scheduled work.
            telegram.push_update(updates.message(AGENT.json, AGENT.user_id, "/ticket Survey me"))
            [linked] = wait_for(lambda: telegram.sent_to(AGENT.user_id), "the first ticket")  # type: ignore[misc]
            token = LINK.search(linked.text or "")
            assert token, linked.text
            customer_chat = CUSTOMER.user_id
            telegram.push_update(
                updates.message(CUSTOMER.json, customer_chat, f"/start {token.group(1)}")
            )
            telegram.push_update(updates.message(AGENT.json, AGENT.user_id, "/resolve 1 root"))
            # The start-up digest goes out before the burst: a kill between Telegram's answer
            # and the outbox marking the row sent can repeat a message (Telegram has no
            # idempotency key; README, "What a crash can drop"), which is not what this tests.
            wait_for(
                lambda: any(m.method == "sendPhoto" for m in telegram.sent_to(TEAM_CHAT)),
                "the start-up digest",
                60,
            )
            update_of = {
                n: telegram.push_update(
                    updates.message(AGENT.json, AGENT.user_id, burst_text(n, tz))
                )["update_id"]
                for n in range(1, BURST + 1)
            }
            wait_for(lambda: len(acks()) >= KILL_AFTER_ACKS, "the burst to be under way", 60)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            acked_before_crash = len(acks())
            assert acked_before_crash < BURST + 1, "the crash came too late to test anything"

            handled_before_crash = {
                update_of[int(t.description.split()[1])]
                for t in asyncio.run(_tickets(db_url))
                if t.description.startswith("burst")
            }
            polls_before_restart = len(telegram.calls("getUpdates"))
            process = start_kefu(config, log)
            # Pushed after the restart, so it is answered only after every earlier update.
            telegram.push_update(updates.message(AGENT.json, AGENT.user_id, "/help"))
            wait_for(
                lambda: any("Commands you can use" in t for t in texts_to(telegram, AGENT.user_id)),
                "the restarted bot to work through the burst",
                90,
            )
            # Scheduled work of both runs: one survey reminder, one digest, follow-ups.
            wait_for(lambda: len(telegram.sent_to(customer_chat)) >= 3, "the survey reminder", 30)
            overdue = _overdue_logged(asyncio.run(_tickets(db_url)))
            wait_for(
                lambda: (
                    _numbers(texts_to(telegram, AGENT.user_id), "still open") == overdue[0]
                    and _numbers(texts_to(telegram, TEAM_CHAT), "has been open for") == overdue[1]
                ),
                "the follow-ups",
                30,
            )
            # A few more sweeps and outbox passes: nothing may come twice.
            before = job_runs(ops_port)
            wait_for(
                lambda: all(job_runs(ops_port)[job] >= before[job] + 2 for job in RUNS_WATCHED),
                "two more outbox passes and follow-up sweeps",
                60,
            )
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)

        # Telegram redelivered what the first run had fetched but not confirmed, including
        # updates it had already handled: those were skipped, not handled again.
        redelivered = {
            update["update_id"]
            for call in telegram.calls("getUpdates")[polls_before_restart:]
            for update in (call.response or {}).get("result", [])
        }
        assert redelivered & handled_before_crash
        acked = acks()
        assert len(acked) == len(set(acked)), "a ticket was acknowledged twice"
        tickets = asyncio.run(_tickets(db_url))
        descriptions = [t.description for t in tickets]
        assert len(descriptions) == len(set(descriptions)), "an update was processed twice"
        by_number = {t.id: t.description for t in tickets}
        assert set(acked) <= set(by_number), "an acknowledged ticket is missing"
        assert acked_before_crash < len(acked), log.read_text()
        # The inbox: a redelivered update was handled (by either run), never skipped as
        # "already handled" because the first run had claimed it before dying.
        logged = {update_of[int(d.split()[1])] for d in descriptions if d.startswith("burst")}
        assert (redelivered & set(update_of.values())) <= logged, "a redelivered update was lost"

        to_customer = texts_to(telegram, customer_chat)
        assert len(to_customer) == 3, to_customer  # linked, the question, one reminder
        photos = [m for m in telegram.sent_to(TEAM_CHAT) if m.method == "sendPhoto"]
        assert len(photos) == 1, "the digest went out more than once (or never)"
        # One reminder and one escalation per overdue ticket, whichever run queued it.
        remind, escalate = _overdue_logged(tickets)
        assert remind and escalate
        assert _numbers(texts_to(telegram, AGENT.user_id), "still open") == remind
        assert _numbers(texts_to(telegram, TEAM_CHAT), "has been open for") == escalate
        assert "Traceback" not in log.read_text(errors="replace")


def _overdue_logged(tickets: list[Ticket]) -> tuple[list[int], list[int]]:
    """Numbers of the logged burst tickets that are due a reminder, and an escalation."""
    burst = {
        int(t.description.split()[1]): t.id for t in tickets if t.description.startswith("burst")
    }
    remind = sorted(number for n, number in burst.items() if n in OVERDUE_REMIND and number)
    escalate = sorted(number for n, number in burst.items() if n in OVERDUE_ESCALATE and number)
    return remind, escalate


def _numbers(texts: list[str], marker: str) -> list[int]:
    """The ticket numbers of the messages containing `marker`, sorted, repeats kept."""
    return sorted(int(re.findall(r"#(\d+)", t)[0]) for t in texts if marker in t)


def texts_to(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [m.text or "" for m in telegram.sent_to(chat_id)]


async def _tickets(db_url: str) -> list[Ticket]:
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            return list(await session.exec(select(Ticket).order_by(Ticket.id)))
    finally:
        await db.dispose()


async def test_a_restart_frees_what_a_crashed_process_on_this_host_had_claimed(db_url: str) -> None:
    kefu = await Kefu(settings_for(db_url)).start()
    try:
        async with kefu.runtime.db.transaction() as session:
            for n, owner in enumerate(
                [f"{socket.gethostname()}:999999999", "elsewhere:1", f"{socket.gethostname()}:1"]
            ):
                await outbox.enqueue(
                    session, key=f"test:{n}", kind="test", chat_id=TEAM_CHAT, payload={}
                )
                await session.exec(  # type: ignore[call-overload]
                    update(Outbox)
                    .where(col(Outbox.dedupe_key) == f"test:{n}")
                    .values(claimed_by=owner, claimed_until=clock.now() + timedelta(minutes=5))
                )
        await recover_after_crash(kefu.runtime)
        async with kefu.runtime.db.transaction() as session:
            rows = {
                row.dedupe_key: row.claimed_by
                for row in await session.exec(select(Outbox).order_by(col(Outbox.id)))
            }
        # A dead pid here is freed; another host's claim and a live process's (pid 1) are not.
        assert rows == {
            "test:0": None,
            "test:1": "elsewhere:1",
            "test:2": f"{socket.gethostname()}:1",
        }
    finally:
        await kefu.stop()
