"""Updates handled side by side: each gets its own answer, one person's stay in order, and the
writes of many share a transaction without one bad write sinking the others."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func
from sqlmodel import select
from telegram import Update

from bot.db import Database, DatabaseUnavailable
from bot.models import Category, ProcessedUpdate, Ticket, TicketEvent
from bot.process.concurrency import InFlightQueue, PerPersonOrder
from bot.services import team, tickets
from bot.services.errors import NotAllowed
from bot.services.tickets import NewTicket
from tests.harness import AGENT, MANAGER, STRANGER, TEAM_CHAT, Kefu, Person, settings_for
from tests.throttle import unthrottle

TEAM = [Person(6000 + n, f"Agent {n}", f"agent_{n}") for n in range(30)]
LOGGED = re.compile(r"^Ticket #(\d+) logged")


@pytest.fixture
async def big_team(db_url: str) -> AsyncIterator[Kefu]:
    settings = settings_for(db_url, team={"agents": [AGENT.user_id] + [p.user_id for p in TEAM]})
    running = await Kefu(settings).start()
    # Thirty answers in one group would wait out Telegram's 20-a-minute group limit.
    unthrottle(running.app)
    try:
        yield running
    finally:
        await running.stop()


@contextmanager
def counting_ticket_inserts(db: Database) -> Iterator[list[int]]:
    """How many INSERT INTO ticket statements reach the database (one per batch written)."""
    inserts: list[int] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO ticket "):
            inserts.append(1)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield inserts
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


def ticket_update(kefu: Kefu, who: Person, n: int) -> dict[str, object]:
    return kefu.updates.message(who.json, TEAM_CHAT, f"/ticket Parcel {n} broken order:A{n}")


async def test_a_team_logging_at_once_gets_one_ticket_each_in_shared_transactions(
    big_team: Kefu,
) -> None:
    burst = [ticket_update(big_team, who, n) for n, who in enumerate(TEAM)]
    with counting_ticket_inserts(big_team.runtime.db) as inserts:
        sent = await big_team.burst(burst)

    numbers = [int(m.group(1)) for m in (LOGGED.match(s.text or "") for s in sent) if m]
    assert sorted(numbers) == list(range(1, len(TEAM) + 1)), [s.text for s in sent]
    assert all(s.chat_id == TEAM_CHAT for s in sent)
    async with big_team.runtime.db.transaction() as session:
        rows = list(await session.exec(select(Ticket).order_by(Ticket.id)))
        events = list(await session.exec(select(TicketEvent)))
    # Each sender's ticket carries their own text, and only theirs.
    assert {t.agent_id: t.order_ref for t in rows} == {
        who.user_id: f"A{n}" for n, who in enumerate(TEAM)
    }
    assert sorted(e.ticket_id for e in events if e.kind == "created") == [t.id for t in rows]
    # One at a time, that would be one insert per ticket.
    assert len(inserts) < len(TEAM) / 2, len(inserts)


async def test_one_persons_messages_are_handled_in_the_order_sent(big_team: Kefu) -> None:
    """The guided flow's answer typed right after /ticket waits for /ticket to be handled."""
    others = [ticket_update(big_team, who, n) for n, who in enumerate(TEAM[:10])]
    mine = [
        big_team.updates.message(AGENT.json, TEAM_CHAT, "/ticket"),
        big_team.updates.message(AGENT.json, TEAM_CHAT, "Customer says the lid is cracked"),
    ]
    sent = await big_team.burst(others[:5] + mine + others[5:])

    to_agent = [s.text for s in sent if not LOGGED.match(s.text or "")]
    assert to_agent == [
        "New ticket. What is the problem? Describe it in one message (or /cancel).",
        "Which category?",
    ]
    assert sum(1 for s in sent if LOGGED.match(s.text or "")) == 10


async def test_an_update_delivered_twice_at_once_is_handled_once(kefu: Kefu) -> None:
    update = kefu.updates.message(AGENT.json, TEAM_CHAT, "/ticket Parcel broken order:A1")
    stranger = kefu.updates.message(STRANGER.json, TEAM_CHAT, "/ticket let me in")
    sent = await kefu.burst([update, stranger, update])

    assert [s.text for s in sent if LOGGED.match(s.text or "")] != []
    assert sum(1 for s in sent if LOGGED.match(s.text or "")) == 1
    assert sum(1 for s in sent if "for the after-sales team" in (s.text or "")) == 1
    async with kefu.runtime.db.transaction() as session:
        assert (await session.exec(select(func.count()).select_from(Ticket))).one() == 1
        claimed = (await session.exec(select(func.count()).select_from(ProcessedUpdate))).one()
    assert claimed == 2


# ------------------------------------------------------------------ the batch, at the service


async def create_many(db: Database, creators: list[int]) -> list[object]:
    """`tickets.create` for each creator at the same moment, as concurrent handlers call it."""
    return await asyncio.gather(
        *(
            tickets.create(
                db, creator_id=creator, new=NewTicket(f"Parcel {n} broken", Category.LOGISTICS)
            )
            for n, creator in enumerate(creators)
        ),
        return_exceptions=True,
    )


async def test_a_refusal_in_a_batch_is_that_callers_alone(db_url: str) -> None:
    db = Database(db_url)
    try:
        await team.sync_config(db, managers=[MANAGER.user_id], agents=[AGENT.user_id], chat_id=None)
        creators = [AGENT.user_id, STRANGER.user_id, MANAGER.user_id, AGENT.user_id]
        with counting_ticket_inserts(db) as inserts:
            outcomes = await create_many(db, creators)
        assert isinstance(outcomes[1], NotAllowed)
        made = [o for o in outcomes if isinstance(o, tickets.TicketView)]
        assert sorted(v.number for v in made) == [1, 2, 3]
        assert [v.agent_id for v in made] == [AGENT.user_id, MANAGER.user_id, AGENT.user_id]
        assert len(inserts) == 1
    finally:
        await db.dispose()


async def test_a_batch_that_fails_is_written_one_by_one(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two link tokens collide: the whole batch rolls back, then each is written alone, and
    only the second holder of the token fails."""
    db = Database(db_url)
    try:
        await team.sync_config(db, managers=[], agents=[AGENT.user_id], chat_id=None)
        # The batch draws a, b, a, c and fails; written again one by one, the same four.
        tokens = iter(["token-a", "token-b", "token-a", "token-c"] * 2)
        monkeypatch.setattr(secrets, "token_urlsafe", lambda _bytes: next(tokens))
        outcomes = await create_many(db, [AGENT.user_id] * 4)
        failed = [o for o in outcomes if isinstance(o, Exception)]
        assert len(failed) == 1 and "link_token" in str(failed[0]).lower(), failed
        assert [o.description for o in outcomes if isinstance(o, tickets.TicketView)] == [
            "Parcel 0 broken",
            "Parcel 1 broken",
            "Parcel 3 broken",
        ]
        async with db.transaction() as session:
            stored = list(await session.exec(select(Ticket).order_by(Ticket.id)))
        assert [t.description for t in stored] == [
            "Parcel 0 broken",
            "Parcel 1 broken",
            "Parcel 3 broken",
        ]
    finally:
        await db.dispose()


async def test_an_unreachable_database_fails_every_waiting_caller_at_once() -> None:
    db = Database("postgresql+asyncpg://kefu@127.0.0.1:1/nowhere")
    try:
        outcomes = await create_many(db, [AGENT.user_id] * 5)
    finally:
        await db.dispose()
    assert all(isinstance(o, DatabaseUnavailable) for o in outcomes), outcomes


# ------------------------------------------------------------------------- the update queue


def person_update(user_id: int) -> object:
    return Update.de_json(
        {
            "update_id": user_id,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": user_id, "is_bot": False, "first_name": "P"},
                "text": "hi",
            },
        },
        None,
    )


async def test_the_update_queue_lets_out_no_more_than_may_be_in_hand() -> None:
    queue = InFlightQueue(maxsize=0, order=PerPersonOrder(2))
    a, b, c = (person_update(n) for n in (1, 2, 3))
    for update in (a, b, c):
        queue.put_nowait(update)
    assert [await queue.get(), await queue.get()] == [a, b]
    third = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)  # one turn of the loop: the getter runs until it has to wait
    assert not third.done()  # two in hand, none finished: the poller must wait
    queue.task_done()
    assert await asyncio.wait_for(third, 1) is c


async def test_the_update_queue_holds_back_a_persons_backlog() -> None:
    """So a crash cannot lose a person's backlog taken off the queue only to wait its turn."""
    order = PerPersonOrder(10)
    queue = InFlightQueue(maxsize=0, order=order)
    first, second, third, other = (person_update(n) for n in (1, 1, 1, 2))
    for update in (first, second, third, other):
        queue.put_nowait(update)
    assert [await queue.get(), await queue.get()] == [first, second]
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)  # one turn of the loop: the getter runs until it has to wait
    assert not waiting.done()  # the third waits, and so does everyone behind it

    async def handle() -> None:
        pass

    await order.do_process_update(first, handle())
    queue.task_done()
    assert await asyncio.wait_for(waiting, 1) is third
    assert await asyncio.wait_for(queue.get(), 1) is other


async def test_read_then_write_commands_side_by_side_all_succeed(big_team: Kefu) -> None:
    """Services that read before they write, run at once on SQLite's single writer."""
    sent = await big_team.burst([ticket_update(big_team, who, n) for n, who in enumerate(TEAM)])
    numbers = [int(m.group(1)) for m in (LOGGED.match(s.text or "") for s in sent) if m]
    burst = []
    for who, number in zip(TEAM, sorted(numbers), strict=True):
        burst.append(big_team.updates.message(who.json, TEAM_CHAT, f"/note {number} called back"))
        burst.append(big_team.updates.message(who.json, TEAM_CHAT, f"/resolve {number} root"))
    sent = await big_team.burst(burst)
    failures = [
        s.text for s in sent if "went wrong" in (s.text or "") or "try again" in (s.text or "")
    ]
    assert failures == []
    async with big_team.runtime.db.transaction() as session:
        resolved = list(await session.exec(select(Ticket).where(Ticket.status == "resolved")))
    assert len(resolved) == len(TEAM)


async def test_two_people_resolving_one_ticket_at_once_resolve_it_once(big_team: Kefu) -> None:
    [logged] = [s for s in await big_team.burst([ticket_update(big_team, TEAM[0], 0)]) if s.text][
        :1
    ]
    number = int(LOGGED.match(logged.text or "").group(1))  # type: ignore[union-attr]
    burst = [
        big_team.updates.message(who.json, TEAM_CHAT, f"/resolve {number} root") for who in TEAM[:6]
    ]
    sent = await big_team.burst(burst)
    texts = [s.text or "" for s in sent if s.chat_id == TEAM_CHAT]
    assert not [t for t in texts if "went wrong" in t], texts
    async with big_team.runtime.db.transaction() as session:
        events = list(await session.exec(select(TicketEvent).where(TicketEvent.kind == "resolved")))
    assert len(events) == 1, texts
