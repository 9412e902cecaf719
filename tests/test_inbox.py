"""The inbox: an update is handled once, or handled again.

A process that dies while handling an update (here: stuck on a Bot API call that never
answers, then gone without a clean shutdown, as `kill -9` leaves it) has claimed the update.
When Telegram redelivers it, the next process handles it again if its work had not
committed, and skips it if it had (the work and the claim's end are one transaction).
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot import clock
from bot.models import FlowState, ProcessedUpdate, Ticket
from bot.services import updates
from tests.fakebot import FakeTelegram, SentMessage, UpdateFactory
from tests.harness import AGENT, TEAM_CHAT, Kefu, settings_for
from tests.webtools import eventually

ACK = re.compile(r"Ticket #(\d+) logged")
# Longer than the test: a Bot API call stuck for good.
FOREVER = 3600.0


def dead_instance() -> str:
    """The claim owner name of a process of this host that has exited."""
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{socket.gethostname()}:{process.stdout.strip()}"


async def count(kefu: Kefu, model: Any) -> int:
    async with kefu.runtime.db.transaction() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def dies_while_handling(
    kefu: Kefu, update: dict[str, Any], stuck_on: str, until: Any
) -> None:
    """`kefu` handles `update` until `until()` holds, stuck on a `stuck_on` call that never
    answers; then its process is gone: nothing after that point runs, no clean shutdown."""
    kefu.telegram.delay(stuck_on, FOREVER, executed=False)
    handling = asyncio.create_task(
        kefu.app.process_update(UpdateFactory.to_update(update, kefu.app.bot))
    )
    await eventually(until, "the first process to get that far")
    handling.cancel()
    await asyncio.gather(handling, return_exceptions=True)
    kefu.telegram.clear_faults()
    await kefu.runtime.db.dispose()


async def doomed(db_url: str, telegram: FakeTelegram) -> Kefu:
    """A process that will die: its claims name a process of this host that is gone."""
    kefu = Kefu(settings_for(db_url), telegram)
    kefu.runtime.instance = dead_instance()
    return await kefu.start()


async def restarted(db_url: str, telegram: FakeTelegram) -> Kefu:
    """A new process on the same database and bot: it frees a dead predecessor's claims."""
    return await Kefu(settings_for(db_url), telegram).start()


def acks(messages: list[SentMessage]) -> list[int]:
    return [int(m.group(1)) for m in (ACK.search(s.text or "") for s in messages) if m]


async def test_an_update_whose_process_died_after_its_ticket_is_not_logged_twice(
    db_url: str,
) -> None:
    telegram = FakeTelegram()
    first = await doomed(db_url, telegram)
    update = first.updates.message(AGENT.json, TEAM_CHAT, "/ticket Parcel lost order:L1")

    async def ticket_written() -> bool:
        return await count(first, Ticket) == 1

    # The ticket is written, then the acknowledgement hangs and the process dies.
    await dies_while_handling(first, update, "sendMessage", ticket_written)

    second = await restarted(db_url, telegram)
    try:
        # The ticket and the claim's end were one transaction: the redelivery is skipped.
        assert await second.process(update) == []
        assert await count(second, Ticket) == 1
    finally:
        await second.stop()


async def test_an_update_whose_process_died_before_its_work_is_handled_again(
    db_url: str,
) -> None:
    telegram = FakeTelegram()
    first = await doomed(db_url, telegram)
    # A guided /ticket at its last step: the Skip button answers first, then logs.
    await first.say(AGENT, "/ticket", chat=TEAM_CHAT)
    [categories] = await first.say(AGENT, "Screen cracked", chat=TEAM_CHAT)
    [order_question] = await first.press_label(AGENT, categories, "product")
    skip = first.updates.callback(AGENT.json, order_question, "flow:order:skip")

    async def claimed() -> bool:
        async with first.runtime.db.transaction() as session:
            row = await session.get(ProcessedUpdate, skip["update_id"])
            return row is not None

    # Claimed, then stuck answering the button: the process dies before any of the work.
    await dies_while_handling(first, skip, "answerCallbackQuery", claimed)
    assert await count(first, Ticket) == 0

    second = await restarted(db_url, telegram)
    try:
        sent = await second.process(skip)
        assert acks(sent) == [1]
        assert await count(second, Ticket) == 1
        assert await count(second, FlowState) == 0  # the draft became the ticket
    finally:
        await second.stop()


async def test_another_hosts_unfinished_update_is_taken_over_when_its_lease_runs_out(
    kefu: Kefu,
) -> None:
    update = kefu.updates.message(AGENT.json, TEAM_CHAT, "/ticket Parcel lost order:L2")
    # A replica on another host claimed it and has not finished: it may still be at work.
    assert await updates.claim(kefu.runtime.db, update["update_id"], owner="elsewhere:42")
    assert await kefu.process(update) == []
    clock.advance(updates.LEASE + timedelta(seconds=1))
    sent = await kefu.process(update)
    assert acks(sent) == [1]
    assert await kefu.process(update) == []


@pytest.mark.parametrize("finished", [True, False])
async def test_a_live_process_keeps_its_claim(kefu: Kefu, finished: bool) -> None:
    update = kefu.updates.message(AGENT.json, TEAM_CHAT, "/tickets")
    db = kefu.runtime.db
    assert await updates.claim(db, update["update_id"], owner=kefu.runtime.instance)
    if finished:
        await updates.finish(db, update["update_id"])
    # Unfinished and ours (still at work) or finished: either way, not handled twice.
    assert await kefu.process(update) == []
    # Unfinished past its lease: whoever held it is stuck or gone; finished: never again.
    clock.advance(updates.LEASE + timedelta(seconds=1))
    answered = await kefu.process(update)
    assert len(answered) == (0 if finished else 1)
