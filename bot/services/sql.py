"""SQL idioms the services share, each written once for both dialects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, func, literal
from sqlalchemy.dialects import sqlite
from sqlmodel import SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.models import Ticket


async def insert_if_missing(
    session: AsyncSession,
    table: type[SQLModel],
    *,
    conflict: Sequence[str] | None = None,
    **values: Any,
) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when this call inserted the row.

    It is how a claim is taken (an outbox key, an update id) and how a row is created by two
    replicas at once without one of them failing on the key.
    """
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    statement = insert_of(dialect, table)
    statement = statement.values(**values).on_conflict_do_nothing(index_elements=conflict)
    result = await session.exec(statement)
    return bool(result.rowcount)


def insert_of(dialect: str, table: Any) -> Any:
    """The INSERT of `dialect` (which has ON CONFLICT) for a model or a table."""
    if dialect == "postgresql":
        # Imported only where PostgreSQL is in use (its dialect costs `kefu` commands on
        # SQLite a tenth of a second); by then SQLAlchemy has imported it already.
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    return sqlite.insert(table)


def within_hours(session: AsyncSession, start: Any, end: Any, hours: int) -> ColumnElement[bool]:
    """`end <= start + hours`, exact to the microsecond on both databases."""
    if session.get_bind().dialect.name == "postgresql":
        return end <= start + literal(timedelta(hours=hours), Interval())
    # SQLite keeps timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text and its date functions round
    # to milliseconds: shift the whole seconds and re-attach the original fraction, so the
    # comparison stays a string comparison in the stored format.
    shifted = func.datetime(func.substr(start, 1, 19), f"+{hours} hours").concat(
        func.substr(start, 20)
    )
    return end <= shifted


def unresolved_at(moment: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Not resolved at `moment`, as two disjoint conditions to query apart and add up.

    Written as one `resolved_at IS NULL OR resolved_at >= moment`, the OR defeats the
    resolved_at index and SQLite walks the whole history (seconds at 1M tickets); apart,
    each is a short range of that index, so the cost follows the open tickets, not history.
    """
    resolved = col(Ticket.resolved_at)
    return resolved.is_(None), resolved >= moment
