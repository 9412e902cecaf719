"""Daily order counts: the denominator of every refund rate. Set in chat or imported from CSV."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot import clock
from bot.db import Database
from bot.i18n import N_
from bot.models import DailyOrders
from bot.services.access import require_member
from bot.services.errors import InvalidInput, KefuError
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
class Problem:
    """Why one line of an import was refused; `message` is a msgid with `params`."""

    line: int
    message: str
    params: dict[str, Any] = field(default_factory=dict)


class ImportRejected(KefuError):
    """At least one row is bad, so nothing was imported."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(N_("Nothing was imported: %(count)s problem(s)."), count=len(problems))
        self.problems = problems


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


def _check_row(
    line: int, cells: list[str], today: date, seen: dict[date, int]
) -> tuple[date, int] | Problem:
    if len(cells) != 2:
        return Problem(
            line, N_("Expected 2 columns (date,orders), found %(count)s."), {"count": len(cells)}
        )
    try:
        day = parse_day(cells[0])
        check_not_future(day, today)
        count = parse_count(cells[1])
    except InvalidInput as bad:
        return Problem(line, bad.message, bad.params)
    if day in seen:
        return Problem(
            line, N_("%(day)s is already on line %(line)s."), {"day": str(day), "line": seen[day]}
        )
    seen[day] = line
    return day, count


def parse_csv(text: str, *, today: date) -> dict[date, int]:
    """Every row of a `date,orders` CSV, or ImportRejected listing each bad row."""
    # newline="" as the csv module asks: otherwise a lone "\r" (old Mac / Excel line ends)
    # makes the reader raise instead of reading the next row.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None or [cell.strip().lower() for cell in header] != ["date", "orders"]:
        raise ImportRejected([Problem(1, N_("The first line must be the header date,orders."))])
    rows: dict[date, int] = {}
    seen: dict[date, int] = {}
    problems: list[Problem] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, e.g. at the end of the file
        checked = _check_row(reader.line_num, cells, today, seen)
        if isinstance(checked, Problem):
            problems.append(checked)
        else:
            rows[checked[0]] = checked[1]
    if problems:
        raise ImportRejected(problems)
    if not rows:
        raise ImportRejected([Problem(1, N_("The file has no rows after the header."))])
    return rows


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
