"""500 surveys due at once, sent through the real dispatcher within Telegram's flood limits.

    python bench/burst.py            # 500 surveys to 500 customers
    python bench/burst.py --short    # 60: a quick check for CI

The surveys are made the way the bot makes them (a ticket per customer, linked, then
resolved, through the services), then one outbox pass delivers them through Kefu's
Application (its AIORateLimiter, real HTTP) to a fake Bot API server (FakeBotApiServer)
that enforces Telegram's limits like Telegram does: 30 messages a second overall, one a
second per chat, and 429 "retry after" past them.

Goals: every survey delivered, zero 429 answers, in at most 1.2x the ideal 30 msg/s time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import migrate  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.outbox.dispatcher import deliver_due  # noqa: E402
from bot.services import tickets  # noqa: E402
from bot.services.team import SeenUser  # noqa: E402
from bot.services.tickets import NewTicket  # noqa: E402
from tests.fakebot import FakeBotApiServer  # noqa: E402
from tests.harness import AGENT, settings_for  # noqa: E402

FLOOD_LIMIT = 30  # messages a second, Telegram's overall limit for a bot
GOAL_FACTOR = 1.2
FIRST_CUSTOMER = 7_000_000


async def make_surveys(db: Database, count: int) -> None:
    """`count` resolved tickets, each with its own linked customer: `count` surveys due."""
    for n in range(count):
        customer = SeenUser(
            user_id=FIRST_CUSTOMER + n,
            full_name=f"Customer {n}",
            language_code="zh-hans" if n % 2 else "en",
            private_chat=True,
        )
        made = await tickets.create(
            db,
            creator_id=AGENT.user_id,
            new=NewTicket(description=f"Parcel {n} arrived broken", order_ref=f"B{n}"),
            customer=customer,
        )
        await tickets.resolve(db, made.number, actor_id=AGENT.user_id, root_cause_found=True)


async def burst(count: int, folder: Path) -> int:
    db_url = f"sqlite+aiosqlite:///{folder / 'kefu.db'}"
    await migrate.upgrade(db_url)
    with FakeBotApiServer() as server:
        telegram = server.telegram
        settings = settings_for(db_url, telegram={"api_base_url": server.base_url})
        app = build_application(settings)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        rt = app.bot_data["runtime"]
        try:
            await make_surveys(rt.db, count)
            telegram.clear()
            telegram.rate_limits(per_second_overall=30, per_chat_per_second=1)
            start = time.perf_counter()
            delivered = 0
            # The scheduler runs a pass every 2 s; one pass normally sends everything.
            while delivered < count and time.perf_counter() - start < 10 * count / FLOOD_LIMIT:
                delivered += await deliver_due(app.bot, rt)
                if delivered < count:
                    await asyncio.sleep(0.5)
            seconds = time.perf_counter() - start
        finally:
            await app.shutdown()
            assert app.post_shutdown is not None
            await app.post_shutdown(app)
        surveys = [m for m in telegram.sent if m.chat_id >= FIRST_CUSTOMER and m.buttons]
        chats = {m.chat_id for m in surveys}
        ideal = count / FLOOD_LIMIT
        print(f"{count} surveys due at once, Telegram's limits enforced (30/s, 1/s per chat)")
        print(f"delivered:       {len(surveys)} to {len(chats)} chats")
        print(f"429 answers:     {telegram.too_many_requests_count}")
        print(f"time:            {seconds:.1f} s (ideal {ideal:.1f} s, {seconds / ideal:.2f}x)")
        print(f"rate:            {len(surveys) / seconds:.1f} messages/s")
        met = (
            len(surveys) == count == len(chats)
            and telegram.too_many_requests_count == 0
            and seconds <= GOAL_FACTOR * ideal
        )
        print(
            f"goal: all delivered, no 429, within {GOAL_FACTOR}x the ideal: "
            f"{'met' if met else 'NOT met'}"
        )
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="60 surveys instead of 500")
    parser.add_argument("--surveys", type=int, help="how many surveys")
    args = parser.parse_args()
    count = args.surveys or (60 if args.short else 500)
    with tempfile.TemporaryDirectory(prefix="kefu-burst-") as folder:
        return asyncio.run(burst(count, Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
