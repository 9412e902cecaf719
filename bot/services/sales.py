"""Repeat sales credited to agents: what commission (seed ⑶, 千分之三) is paid on.

From chat, `/sale N amount` credits a repeat purchase by ticket #N's customer to the ticket's
agent; `kefu import-sales` credits rows of `date,agent,amount[,order]` to the named agents.
Either way a sale counts on its team-local day, in that day's month.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.db import Database
from bot.i18n import N_
from bot.models import Person, Role, Sale
from bot.services.access import load_ticket, require_member, ticket_event
from bot.services.csv_import import ImportRejected, Problem, read_rows
from bot.services.errors import InvalidInput, NotFound
from bot.services.orders import check_not_future, parse_day
from bot.services.refunds import check_amount, parse_amount
from scoring import local_day

MAX_ORDER_REF = 128
_USER_ID = re.compile(r"^\d{1,16}$")


@dataclass(frozen=True)
class SaleRecord:
    number: int
    amount: Decimal
    day: date
    agent_name: str
    ticket_total: Decimal  # every sale now recorded on the ticket


@dataclass(frozen=True)
class SalesImport:
    rows: int
    total: Decimal
    first: date
    last: date
    agents: int


@dataclass(frozen=True)
class _Row:
    line: int
    day: date
    agent_ref: str
    amount: Decimal
    order_ref: str | None


async def _name(session: AsyncSession, user_id: int) -> str:
    person = await session.get(Person, user_id)
    return person.full_name if person and person.full_name else str(user_id)


async def _ticket_total(session: AsyncSession, ticket_id: int) -> Decimal:
    total = (
        await session.exec(
            select(func.coalesce(func.sum(col(Sale.amount)), 0)).where(Sale.ticket_id == ticket_id)
        )
    ).one()
    return Decimal(total).quantize(Decimal("0.01"))


async def record(
    db: Database, *, number: int, actor_id: int, amount: Decimal, tz: ZoneInfo
) -> SaleRecord:
    """Record a repeat purchase by ticket #number's customer, credited to its agent now."""
    check_amount(amount)
    now = clock.now()
    async with db.transaction() as session:
        await require_member(session, actor_id)
        ticket = await load_ticket(session, number)
        assert ticket.id is not None
        sale = Sale(
            ticket_id=ticket.id,
            agent_id=ticket.agent_id,
            amount=amount,
            day=local_day(now, tz),
            order_ref=ticket.order_ref,
            recorded_at=now,
            recorded_by=actor_id,
        )
        session.add(sale)
        session.add(ticket_event(ticket.id, actor_id, "sale", str(amount)))
        await session.flush()
        return SaleRecord(
            number=number,
            amount=amount,
            day=sale.day,
            agent_name=await _name(session, ticket.agent_id),
            ticket_total=await _ticket_total(session, ticket.id),
        )


async def cancel(db: Database, *, number: int, actor_id: int) -> SaleRecord:
    """Remove the latest sale recorded on ticket #number; returns what was removed."""
    async with db.transaction() as session:
        await require_member(session, actor_id)
        ticket = await load_ticket(session, number)
        assert ticket.id is not None
        sale = (
            await session.exec(
                select(Sale)
                .where(Sale.ticket_id == ticket.id)
                .order_by(col(Sale.recorded_at).desc(), col(Sale.id).desc())
                .limit(1)
                .with_for_update()
            )
        ).first()
        if sale is None:
            raise NotFound(N_("No sale is recorded on #%(number)s."), number=number)
        await session.delete(sale)
        session.add(ticket_event(ticket.id, actor_id, "sale_cancelled", str(sale.amount)))
        await session.flush()
        return SaleRecord(
            number=number,
            amount=sale.amount,
            day=sale.day,
            agent_name=await _name(session, sale.agent_id),
            ticket_total=await _ticket_total(session, ticket.id),
        )


# ------------------------------------------------------------------ import-sales

HEADERS = (("date", "agent", "amount"), ("date", "agent", "amount", "order"))


def parse_csv(text: str, *, today: date) -> list[_Row]:
    """Every row of a `date,agent,amount[,order]` CSV, checked on its own (the agents are
    looked up when importing), or ImportRejected listing each bad row."""

    def check(line: int, cells: list[str]) -> _Row:
        day = parse_day(cells[0])
        check_not_future(day, today)
        agent = cells[1].strip()
        if not (_USER_ID.match(agent) or (agent.startswith("@") and len(agent) > 1)):
            raise InvalidInput(
                N_("“%(text)s” is not an agent; write a user id or an @username."),
                text=agent[:40],
            )
        amount = parse_amount(cells[2])
        check_amount(amount)
        order = cells[3].strip() if len(cells) > 3 else ""
        if len(order) > MAX_ORDER_REF:
            raise InvalidInput(
                N_("Order references and names are at most %(limit)s characters."),
                limit=MAX_ORDER_REF,
            )
        return _Row(line, day, agent, amount, order or None)

    return read_rows(text, headers=HEADERS, check=check)


async def _agents(session: AsyncSession, refs: Sequence[str]) -> dict[str, int]:
    """{ref: user id} for every ref that names a team member."""
    ids = [int(ref) for ref in refs if not ref.startswith("@")]
    names = [ref[1:].lower() for ref in refs if ref.startswith("@")]
    found: dict[str, int] = {}
    members = col(Person.role).in_([Role.AGENT, Role.MANAGER])
    if ids:
        for user_id in await session.exec(
            select(col(Person.user_id)).where(col(Person.user_id).in_(ids), members)
        ):
            found[str(user_id)] = int(user_id)
    if names:
        for user_id, username in await session.exec(
            select(col(Person.user_id), col(Person.username)).where(
                func.lower(Person.username).in_(names), members
            )
        ):
            found[f"@{username.lower()}"] = int(user_id)  # type: ignore[union-attr]
    return found


async def import_csv(db: Database, text: str, *, tz: ZoneInfo) -> SalesImport:
    """Import a sales CSV in one transaction: all rows, or none if any is bad."""
    rows = parse_csv(text, today=local_day(clock.now(), tz))
    now = clock.now()
    async with db.transaction() as session:
        agents = await _agents(session, sorted({row.agent_ref for row in rows}))

        def agent_of(row: _Row) -> int | None:
            ref = row.agent_ref
            return agents.get(ref.lower() if ref.startswith("@") else str(int(ref)))

        problems = [
            Problem(
                row.line,
                N_("%(ref)s is not on the team; a manager can add them with /agent add."),
                {"ref": row.agent_ref},
            )
            for row in rows
            if agent_of(row) is None
        ]
        if problems:
            raise ImportRejected(problems)
        for row in rows:
            session.add(
                Sale(
                    agent_id=agent_of(row),  # type: ignore[arg-type]
                    amount=row.amount,
                    day=row.day,
                    order_ref=row.order_ref,
                    recorded_at=now,
                )
            )
    days = [row.day for row in rows]
    return SalesImport(
        rows=len(rows),
        total=sum((row.amount for row in rows), Decimal(0)),
        first=min(days),
        last=max(days),
        agents=len({agent_of(row) for row in rows}),
    )
