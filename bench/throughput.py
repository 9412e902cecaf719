"""Updates per second: Kefu handling `/ticket` against a bare python-telegram-bot echo bot.

    python bench/throughput.py            # 10,000 updates each
    python bench/throughput.py --short    # 1,000: a quick check for CI

Each bot is the real Application on the in-memory fake Bot API (tests.fakebot.FakeRequest),
fed parsed updates one after another with `await app.process_update(...)`, as PTB's own
update fetcher does when updates are handled in order. Kefu runs on SQLite (a file) and on
PostgreSQL (a database of its own, dropped afterwards); the echo bot answers every
`/ticket` with its text and touches no database. The Telegram flood limits are taken out of
both runs (tests/throttle.py): the fake has none, and the goal is about Kefu's own cost.

Goal: Kefu handles at least half the echo bot's rate.
"""

from __future__ import annotations

import argparse
import asyncio
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
from tests.fakebot import FakeRequest, FakeTelegram, UpdateFactory  # noqa: E402
from tests.harness import AGENT, TEAM_CHAT, TOKEN, settings_for  # noqa: E402
from tests.scratch_pg import scratch_database  # noqa: E402
from tests.throttle import unthrottle  # noqa: E402

GOAL_RATIO = 0.5
WARM_UP = 50

App = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Result:
    name: str
    updates: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


def ticket_updates(telegram: FakeTelegram, count: int, app: App) -> list[Update]:
    factory = UpdateFactory(telegram)
    factory.group_chat(TEAM_CHAT, "After-sales team")
    return [
        UpdateFactory.to_update(
            factory.message(
                AGENT.json,
                TEAM_CHAT,
                f"/ticket Parcel {n} arrived broken order:A{n} cat:logistics customer:Chen",
            ),
            app.bot,
        )
        for n in range(count)
    ]


async def measure(name: str, app: App, telegram: FakeTelegram, count: int) -> Result:
    """Time `count` updates through `app`, after a short warm-up; checks every one was answered."""
    updates = ticket_updates(telegram, count + WARM_UP, app)
    for update in updates[:WARM_UP]:
        await app.process_update(update)
    sent = len(telegram.sent)
    start = time.perf_counter()
    for update in updates[WARM_UP:]:
        await app.process_update(update)
    seconds = time.perf_counter() - start
    answered = len(telegram.sent) - sent
    if answered != count:
        raise SystemExit(f"{name}: {answered} answers to {count} updates")
    return Result(name, count, seconds)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the framework costs by itself: parse the command, answer in the chat."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "", do_quote=False)


async def run_echo(count: int) -> Result:
    telegram = FakeTelegram()
    app: App = Application.builder().token(TOKEN).request(FakeRequest(telegram)).build()
    app.add_handler(CommandHandler("ticket", echo))
    async with app:
        return await measure("echo bot (PTB alone)", app, telegram, count)


async def run_kefu(name: str, db_url: str, count: int) -> Result:
    telegram = FakeTelegram()
    app = build_application(settings_for(db_url), request=FakeRequest(telegram))
    unthrottle(app)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    try:
        return await measure(name, app, telegram, count)
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
    args = parser.parse_args()
    count = args.updates or (1_000 if args.short else 10_000)

    results = [timed(lambda: run_echo(count))]
    with sqlite_database() as url:
        results.append(timed(lambda: run_kefu("Kefu on SQLite", url, count)))
    with postgres_database() as url:
        results.append(timed(lambda: run_kefu("Kefu on PostgreSQL", url, count)))

    echo_rate = results[0].rate
    print(f"{count:,} /ticket updates each, handled in order")
    print(f"{'bot':<24}{'seconds':>9}{'updates/s':>11}{'vs echo':>9}")
    for result in results:
        print(
            f"{result.name:<24}{result.seconds:>9.2f}{result.rate:>11.0f}"
            f"{result.rate / echo_rate:>9.2f}"
        )
    worst = min(r.rate for r in results[1:]) / echo_rate
    verdict = "met" if worst >= GOAL_RATIO else "NOT met"
    print(f"goal: Kefu at least {GOAL_RATIO:.0%} of the echo bot's rate: {verdict} ({worst:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
