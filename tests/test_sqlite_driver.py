"""SQLite's statements make one trip each to aiosqlite's thread (bot/sqlite_driver.py), and
behave as SQLAlchemy's own aiosqlite dialect does: rows, row counts, row ids, errors, roll-back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from bot import sqlite_driver
from bot.db import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with db.connection() as connection:
        await connection.execute(
            text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        )
    try:
        yield db
    finally:
        await db.dispose()


async def trips_of(db: Database) -> list[str]:
    """Every call that goes to aiosqlite's thread from now on, by the function's name."""
    trips: list[str] = []
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        aio = raw.driver_connection
        assert aio is not None
        execute = aio._execute

        async def counted(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
            trips.append(getattr(fn, "__name__", repr(fn)))
            return await execute(fn, *args, **kwargs)

        aio._execute = counted  # type: ignore[method-assign]
    return trips


async def test_the_engine_uses_the_one_trip_dialect(database: Database) -> None:
    assert database.engine.dialect.driver == sqlite_driver.DRIVER
    # The URL people write is unchanged.
    assert database.url.startswith("sqlite+aiosqlite://")


async def test_a_statement_is_one_trip_and_an_empty_commit_none(database: Database) -> None:
    trips = await trips_of(database)
    async with database.connection() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('a'), ('b')"))
        rows = (await connection.execute(text("SELECT name FROM item ORDER BY id"))).all()
    assert [row.name for row in rows] == ["a", "b"]
    assert trips == ["_run", "_run", "commit"]
    trips.clear()
    async with database.connection() as connection:  # a read: SQLite opened no transaction
        await connection.execute(text("SELECT count(*) FROM item"))
    assert trips == ["_run"]


async def test_counts_ids_errors_and_roll_back_work_as_before(database: Database) -> None:
    async with database.connection() as connection:
        inserted = await connection.execute(text("INSERT INTO item (name) VALUES ('x')"))
        assert inserted.lastrowid == 1
        many = await connection.execute(
            text("INSERT INTO item (name) VALUES (:name)"), [{"name": "y"}, {"name": "z"}]
        )
        assert many.rowcount == 2
        changed = await connection.execute(text("UPDATE item SET name = name || '!'"))
        assert changed.rowcount == 3
        returned = await connection.execute(
            text("INSERT INTO item (name) VALUES ('w') RETURNING id")
        )
        assert returned.scalar_one() == 4
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        async with database.connection() as connection:
            await connection.execute(text("DELETE FROM item WHERE name = 'w'"))
            await connection.execute(text("INSERT INTO item (name) VALUES ('x!')"))
    async with database.connection() as connection:
        names = (await connection.execute(text("SELECT name FROM item ORDER BY id"))).scalars()
        assert list(names) == ["x!", "y!", "z!", "w"]  # the delete was rolled back
