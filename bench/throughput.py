"""Updates per second: Kefu handling `/ticket` against a bare python-telegram-bot echo bot.

    python bench/throughput.py            # 10,000 updates each
    python bench/throughput.py --short    # 1,000: a quick check for CI
    python bench/throughput.py --agents 1 # every update from one agent

Each bot is the real, started Application on the in-memory fake Bot API
(tests.fakebot.FakeRequest), fed parsed updates through its update queue, exactly as the
poller (or the webhook) feeds it, and timed until every update is finished. The updates are
`/ticket` commands from a team of agents taking turns in the team chat (100 by default, a
company with many shops). Kefu runs as `kefu run` configures it (updates of different people
side by side, one person's in order, their writes in shared transactions) on SQLite (a file)
and on PostgreSQL (a database of its own, dropped afterwards). The echo bot answers every
`/ticket` with its text and touches no database; it runs with PTB's defaults (one update at
a time) and with PTB's concurrent updates, and the faster of the two is the reference. The
Telegram flood limits are taken out of every run (tests/throttle.py): the fake has none,
and the goal is about Kefu's own cost.

Goal: Kefu handles at least half the echo bot's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application, CommandHandler, ContextTypes  # noqa: E402

from bot import migrate  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.config import TelegramSettings  # noqa: E402
from tests.fakebot import FakeRequest, FakeTelegram, UpdateFactory  # noqa: E402
from tests.harness import TEAM_CHAT, TOKEN, Person, settings_for  # noqa: E402
from tests.scratch_pg import scratch_database  # noqa: E402
from tests.throttle import unthrottle  # noqa: E402

GOAL_RATIO = 0.5
WARM_UP = 200
# As many updates in hand as `kefu run` takes by default.
IN_HAND = TelegramSettings().concurrent_updates

App = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Result:
    name: str
    updates: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


def team(agents: int) -> list[Person]:
    return [Person(5000 + n, f"Agent {n}", f"agent_{n}") for n in range(agents)]


def ticket_updates(
    telegram: FakeTelegram, count: int, app: App, agents: list[Person]
) -> list[Update]:
    factory = UpdateFactory(telegram)
    factory.group_chat(TEAM_CHAT, "After-sales team")
    return [
        UpdateFactory.to_update(
            factory.message(
                agents[n % len(agents)].json,
                TEAM_CHAT,
                f"/ticket Parcel {n} arrived broken order:A{n} cat:logistics customer:Chen",
            ),
            app.bot,
        )
        for n in range(count)
    ]


async def feed(app: App, updates: list[Update]) -> None:
    """What the poller does: put each update on the queue; then wait until all are finished."""
    for update in updates:
        await app.update_queue.put(update)
    await app.update_queue.join()


async def measure(
    name: str, app: App, telegram: FakeTelegram, count: int, agents: list[Person]
) -> Result:
    """Time `count` updates through `app`, after a warm-up; checks every one was answered."""
    updates = ticket_updates(telegram, count + WARM_UP, app, agents)
    # The prepared updates are the benchmark's data, not the bot's: kept out of the garbage
    # collector's walks, as the bot keeps its own start-up objects (bot/app.py).
    gc.collect()
    gc.freeze()
    await app.start()
    try:
        await feed(app, updates[:WARM_UP])
        sent = len(telegram.sent)
        start = time.perf_counter()
        await feed(app, updates[WARM_UP:])
        seconds = time.perf_counter() - start
    finally:
        await app.stop()
    # Only the answers: a started bot also runs its scheduled jobs (the outbox, the digest).
    answered = sum(1 for message in telegram.sent[sent:] if _answers_ticket(message.text or ""))
    if answered != count:
        raise SystemExit(f"{name}: {answered} answers to {count} updates")
    return Result(name, count, seconds)


def _answers_ticket(text: str) -> bool:
    return text.startswith(("Ticket #", "/ticket "))


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the framework costs by itself: parse the command, answer in the chat."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "", do_quote=False)


async def run_echo(name: str, count: int, agents: list[Person], concurrent: int) -> Result:
    telegram = FakeTelegram()
    builder = Application.builder().token(TOKEN).request(FakeRequest(telegram))
    app: App = builder.concurrent_updates(concurrent).build()
    app.add_handler(CommandHandler("ticket", echo))
    async with app:
        return await measure(name, app, telegram, count, agents)


async def run_kefu(name: str, db_url: str, count: int, agents: list[Person]) -> Result:
    telegram = FakeTelegram()
    settings = settings_for(db_url, team={"agents": [agent.user_id for agent in agents]})
    app = build_application(settings, request=FakeRequest(telegram))
    unthrottle(app)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    try:
        return await measure(name, app, telegram, count, agents)
    finally:
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'kefu.db'}"
        migrate.upgrade_sync(url)
        yield url


@contextmanager
def postgres_database() -> Iterator[str]:
    with scratch_database("kefu_bench") as database:
        migrate.upgrade_sync(database.url)
        yield database.url


def timed(run: Callable[[], Awaitable[Result]]) -> Result:
    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="1,000 updates instead of 10,000")
    parser.add_argument("--updates", type=int, help="how many updates per bot")
    parser.add_argument("--agents", type=int, default=100, help="how many agents send them")
    args = parser.parse_args()
    count = args.updates or (1_000 if args.short else 10_000)
    agents = team(max(1, args.agents))

    echoes = [
        timed(lambda: run_echo("echo bot, in order", count, agents, 1)),
        timed(lambda: run_echo("echo bot, concurrent", count, agents, IN_HAND)),
    ]
    kefus = []
    with sqlite_database() as url:
        kefus.append(timed(lambda: run_kefu("Kefu on SQLite", url, count, agents)))
    with postgres_database() as url:
        kefus.append(timed(lambda: run_kefu("Kefu on PostgreSQL", url, count, agents)))

    echo_rate = max(r.rate for r in echoes)
    print(f"{count:,} /ticket updates each, from {len(agents)} agents, through the update queue")
    print(f"{'bot':<24}{'seconds':>9}{'updates/s':>11}{'vs echo':>9}")
    for result in echoes + kefus:
        print(
            f"{result.name:<24}{result.seconds:>9.2f}{result.rate:>11.0f}"
            f"{result.rate / echo_rate:>9.2f}"
        )
    worst = min(r.rate for r in kefus) / echo_rate
    verdict = "met" if worst >= GOAL_RATIO else "NOT met"
    print(f"goal: Kefu at least {GOAL_RATIO:.0%} of the echo bot's rate: {verdict} ({worst:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
