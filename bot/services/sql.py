"""The one SQL idiom the services need in both dialects: insert unless the row exists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


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
    if dialect == "postgresql":
        # Imported only where PostgreSQL is in use (its dialect costs `kefu` commands on
        # SQLite a tenth of a second); by then SQLAlchemy has imported it already.
        from sqlalchemy.dialects import postgresql

        insert = postgresql.insert
    else:
        insert = sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    result = await session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount)
