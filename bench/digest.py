"""How long `kefu digest --json` takes on a big history, on SQLite and on PostgreSQL.

    python bench/digest.py            # 1,000,000 tickets, 100 agents, a year of orders
    python bench/digest.py --short    # 20,000 tickets: a quick check for CI

For each database it fills a fresh schema with N tickets (and N/10 for the scaling check),
surveys, refunds, skill ratings and a year of daily orders, using plain multi-row inserts in
big batches (generation time is not what is measured). Then it runs `kefu digest --json` as
a child process several times and reports the best wall time and the child's peak RSS (from
`wait4`, so each run is measured on its own). Goals: under 1.5 s and 200 MB at 1M tickets,
and 10× more history costing under 1.5× the time. PostgreSQL gets a database of its own,
dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import migrate  # noqa: E402
from tests.scratch_pg import scratch_database  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
BATCH = 20_000
RUNS = 3
# Issue 16: a command a person types answers quickly, at a million tickets too.
GOAL_SECONDS = 1.5
GOAL_MB = 200.0
GOAL_SCALING = 1.5
CATEGORIES = ("product", "logistics", "service", "other")
MANAGER_ID = 1


@dataclass(frozen=True)
class Measure:
    database: str
    tickets: int
    seconds: float
    # CPU time of the child (user + system): steadier than wall time on a busy machine.
    cpu_seconds: float
    peak_mb: float


# ------------------------------------------------------------------ data


def _ts(moment: datetime) -> datetime:
    """Naive UTC, as Kefu stores every timestamp."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def people(agents: int, now: datetime) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [(MANAGER_ID, "Manager", "manager", _ts(now), False)]
    rows += [(1000 + i, f"Agent {i:03d}", "agent", _ts(now), False) for i in range(agents)]
    return rows


def tickets(count: int, agents: int, days: int, now: datetime, seed: int) -> Iterator[list[tuple]]:
    """Batches of ticket rows spread over `days`, most resolved, the newest still open."""
    rng = random.Random(seed)
    span = days * 86400
    batch: list[tuple] = []
    for number in range(1, count + 1):
        received = now - timedelta(seconds=span * (1 - number / count) + rng.random() * 3600)
        logged = received + timedelta(minutes=rng.randint(0, 600))
        if logged > now:
            logged = now
        hours = rng.choice((2, 10, 30, 60, 80, 100, 130, 200))
        resolved: datetime | None = logged + timedelta(hours=hours * rng.random())
        if resolved is not None and (resolved > now or rng.random() < 0.002):
            resolved = None
        quality = rng.choice((10, 10, 8, 5)) if resolved else None
        agent = 1000 + rng.randrange(agents)
        batch.append(
            (
                number,
                "bench ticket",
                rng.choice(CATEGORIES),
                agent,
                agent,
                "resolved" if resolved else "open",
                _ts(received),
                _ts(logged),
                _ts(resolved) if resolved else None,
                quality,
                False,
                1,
                0,
                f"bench-{number}",
            )
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def followers(ticket_batch: Sequence[tuple], seed: int) -> tuple[list[tuple], list[tuple]]:
    """Surveys and refunds for a batch of tickets."""
    rng = random.Random(seed)
    surveys: list[tuple] = []
    refunds: list[tuple] = []
    for row in ticket_batch:
        number, resolved = row[0], row[8]
        if resolved is not None and rng.random() < 0.5:
            answered = resolved + timedelta(hours=rng.random() * 20)
            rated = rng.random() < 0.6
            surveys.append(
                (
                    number,
                    1,
                    "answered" if rated else "expired",
                    resolved,
                    resolved,
                    answered if rated else None,
                    rng.choice((10, 10, 8, 5)) if rated else None,
                )
            )
        if rng.random() < 0.05:
            recorded = (resolved or row[7]) + timedelta(hours=1)
            day = recorded.replace(tzinfo=UTC).astimezone(TZ).date()
            refunds.append(
                (
                    number,
                    Decimal("25.00"),
                    rng.random() < 0.1,  # the platform stepped in
                    recorded,
                    day,
                )
            )
    return surveys, refunds


def orders(days: int, now: datetime, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    today = now.astimezone(TZ).date()
    return [(today - timedelta(days=i), rng.randint(2000, 6000), _ts(now)) for i in range(days + 1)]


def skills(agents: int, now: datetime) -> list[tuple]:
    return [
        (1000 + i, (10, 8, 5, 0)[i % 4], MANAGER_ID, _ts(now - timedelta(days=40)))
        for i in range(agents)
    ]


COLUMNS = {
    "person": "user_id, full_name, role, updated_at, has_private_chat",
    "ticket": "id, description, category, agent_id, created_by, status, received_at, "
    "logged_at, resolved_at, quality, quality_overridden, round, reopen_count, link_token",
    "survey": "ticket_id, round, status, created_at, sent_at, answered_at, rating",
    "refund": "ticket_id, amount, dispute, recorded_at, day",
    "daily_orders": "day, orders, updated_at",
    "skill_rating": "agent_id, rating, rated_by, rated_at",
}


def _statement(table: str, marks: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({', '.join(marks)})"


def fill_sqlite(path: Path, tickets_total: int, agents: int, days: int, now: datetime) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")

    def insert(table: str, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        statement = _statement(table, ["?"] * len(rows[0]))
        connection.executemany(statement, [tuple(_sqlite_value(v) for v in row) for row in rows])

    insert("person", people(agents, now))
    insert("skill_rating", skills(agents, now))
    insert("daily_orders", orders(days, now, seed=7))
    for index, batch in enumerate(tickets(tickets_total, agents, days, now, seed=11)):
        insert("ticket", batch)
        surveys, refunds = followers(batch, seed=index)
        insert("survey", surveys)
        insert("refund", refunds)
        connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()


def _sqlite_value(value: object) -> object:
    # The format SQLAlchemy's SQLite DateTime writes and the digest queries compare against.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


async def fill_postgres(
    dsn: str, tickets_total: int, agents: int, days: int, now: datetime
) -> None:
    connection = await asyncpg.connect(dsn)
    try:

        async def insert(table: str, rows: Sequence[tuple]) -> None:
            if not rows:
                return
            marks = [f"${i + 1}" for i in range(len(rows[0]))]
            await connection.executemany(_statement(table, marks), rows)

        await insert("person", people(agents, now))
        await insert("skill_rating", skills(agents, now))
        await insert("daily_orders", orders(days, now, seed=7))
        for index, batch in enumerate(tickets(tickets_total, agents, days, now, seed=11)):
            async with connection.transaction():
                await insert("ticket", batch)
                surveys, refunds = followers(batch, seed=index)
                await insert("survey", surveys)
                await insert("refund", refunds)
        await connection.execute("SELECT setval('ticket_id_seq', (SELECT max(id) FROM ticket))")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


# ------------------------------------------------------------------ measuring


def measure(url: str, workdir: Path, day: date) -> tuple[float, float, float]:
    """Best wall time, its CPU time and peak RSS (MB) of `kefu digest --json` over RUNS runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(KEFU_DATABASE__URL=url, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "bot.cli", "digest", "--json", "--date", day.isoformat()]
    runs = []
    for _ in range(RUNS + 1):
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL)
        # wait4 gives this child's own rusage, so every run's peak RSS is its own.
        _pid, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code
        if code != 0:
            raise SystemExit(f"kefu digest failed on {url} (exit {code})")
        runs.append((elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024))
    # The first run only warms the OS file cache.
    return min(runs[1:])


def bench_sqlite(sizes: Sequence[int], agents: int, days: int, workdir: Path) -> list[Measure]:
    results = []
    now = datetime.now(UTC)
    for size in sizes:
        path = workdir / f"bench-{size}.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate.upgrade_sync(url)
        started = time.perf_counter()
        fill_sqlite(path, size, agents, days, now)
        print(
            f"  sqlite: {size:,} tickets generated in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        results.append(Measure("SQLite", size, *measure(url, workdir, now.astimezone(TZ).date())))
        path.unlink()
    return results


def bench_postgres(sizes: Sequence[int], agents: int, days: int, workdir: Path) -> list[Measure]:
    results = []
    now = datetime.now(UTC)
    for size in sizes:
        with scratch_database("kefu_bench") as database:
            dsn, url = database.dsn, database.url
            migrate.upgrade_sync(url)
            started = time.perf_counter()
            asyncio.run(fill_postgres(dsn, size, agents, days, now))
            print(
                f"  postgresql: {size:,} tickets generated in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            figures = measure(url, workdir, now.astimezone(TZ).date())
            results.append(Measure("PostgreSQL", size, *figures))

    return results


def report(results: Sequence[Measure], full: int) -> bool:
    print()
    print(f"{'database':<11} {'tickets':>10} {'time (s)':>9} {'cpu (s)':>8} {'peak RSS (MB)':>14}")
    for m in results:
        print(
            f"{m.database:<11} {m.tickets:>10,} {m.seconds:>9.2f} {m.cpu_seconds:>8.2f} "
            f"{m.peak_mb:>14.0f}"
        )
    ok = True
    print()
    for database in sorted({m.database for m in results}):
        rows = {m.tickets: m for m in results if m.database == database}
        big, small = rows[full], rows[full // 10]
        ratio = big.seconds / small.seconds
        verdicts = [
            ("time", big.seconds < GOAL_SECONDS, f"{big.seconds:.2f} s < {GOAL_SECONDS} s"),
            ("memory", big.peak_mb < GOAL_MB, f"{big.peak_mb:.0f} MB < {GOAL_MB:.0f} MB"),
            ("10× history", ratio < GOAL_SCALING, f"{ratio:.2f}× < {GOAL_SCALING}×"),
        ]
        for what, passed, detail in verdicts:
            ok &= passed
            print(f"{database:<11} {what:<12} {'ok  ' if passed else 'MISS'} {detail}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--short", action="store_true", help="20,000 tickets (CI)")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)
    full = 20_000 if args.short else args.tickets
    sizes = (full // 10, full)
    results: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        workdir = Path(tmp)
        if args.only in (None, "sqlite"):
            results += bench_sqlite(sizes, args.agents, args.days, workdir)
        if args.only in (None, "postgresql"):
            results += bench_postgres(sizes, args.agents, args.days, workdir)
    return 0 if report(results, full) else 1


if __name__ == "__main__":
    sys.exit(main())
