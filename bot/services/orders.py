"""Daily order counts: the denominator of every refund rate. Set in chat or imported from CSV."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot import clock
from bot.db import Database
from bot.i18n import N_
from bot.models import DailyOrders
from bot.services.access import require_member
from bot.services.csv_import import read_rows
from bot.services.errors import InvalidInput
from bot.services.sql import insert_if_missing
from scoring import local_day

# DailyOrders.orders is a 32-bit integer; no shop sells a billion orders a day.
MAX_ORDERS = 1_000_000_000
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNT = re.compile(r"^\d+$")


@dataclass(frozen=True)
class OrdersChange:
    day: date
    orders: int
    previous: int | None


@dataclass(frozen=True)
class ImportSummary:
    days: int
    orders: int
    first: date
    last: date
    replaced: int  # days that already had a count


def parse_day(text: str) -> date:
    """A calendar day written YYYY-MM-DD, and nothing looser."""
    text = text.strip()
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            N_("“%(text)s” is not a date; write it as YYYY-MM-DD, e.g. 2026-03-01."),
            text=text[:40],
        ) from None


def parse_count(text: str) -> int:
    """A whole number of orders, 0 or more."""
    text = text.strip()
    if not _COUNT.match(text):
        raise InvalidInput(
            N_("“%(text)s” is not an order count; write a whole number, 0 or more."),
            text=text[:40],
        )
    count = int(text)
    if count > MAX_ORDERS:
        raise InvalidInput(N_("%(count)s orders in one day is more than I can store."), count=count)
    return count


def check_not_future(day: date, today: date) -> None:
    if day > today:
        raise InvalidInput(
            N_("%(day)s is in the future; orders can be counted only for days that have begun."),
            day=day.isoformat(),
        )


async def set_day(
    db: Database, *, day: date, orders: int, actor_id: int, tz: ZoneInfo
) -> OrdersChange:
    """Set one day's order count, replacing any earlier count for that day."""
    check_not_future(day, local_day(clock.now(), tz))
    if orders < 0 or orders > MAX_ORDERS:
        raise InvalidInput(
            N_("“%(text)s” is not an order count; write a whole number, 0 or more."), text=orders
        )
    async with db.transaction() as session:
        await require_member(session, actor_id)
        # Two people setting the same new day at once: one inserts, the other overwrites.
        created = await insert_if_missing(
            session, DailyOrders, day=day, orders=orders, updated_at=clock.now()
        )
        row = (
            await session.exec(select(DailyOrders).where(DailyOrders.day == day).with_for_update())
        ).one()
        previous = None if created else row.orders
        row.orders = orders
        row.updated_at = clock.now()
        return OrdersChange(day=day, orders=orders, previous=previous)


def parse_csv(text: str, *, today: date) -> dict[date, int]:
    """Every row of a `date,orders` CSV, or ImportRejected listing each bad row."""
    seen: dict[date, int] = {}

    def check(line: int, cells: list[str]) -> tuple[date, int]:
        day = parse_day(cells[0])
        check_not_future(day, today)
        count = parse_count(cells[1])
        if day in seen:
            raise InvalidInput(
                N_("%(day)s is already on line %(line)s."), day=str(day), line=seen[day]
            )
        seen[day] = line
        return day, count

    return dict(read_rows(text, headers=[("date", "orders")], check=check))


async def import_csv(db: Database, text: str, *, tz: ZoneInfo) -> ImportSummary:
    """Import a `date,orders` CSV in one transaction: all rows, or none if any is bad."""
    rows = parse_csv(text, today=local_day(clock.now(), tz))
    now = clock.now()
    async with db.transaction() as session:
        existing = {
            row.day: row
            for row in await session.exec(
                select(DailyOrders).where(col(DailyOrders.day).in_(list(rows)))
            )
        }
        for day, orders in rows.items():
            row = existing.get(day)
            if row is None:
                session.add(DailyOrders(day=day, orders=orders, updated_at=now))
            else:
                row.orders = orders
                row.updated_at = now
    return ImportSummary(
        days=len(rows),
        orders=sum(rows.values()),
        first=min(rows),
        last=max(rows),
        replaced=len(existing),
    )
