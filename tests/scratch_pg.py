"""Scratch PostgreSQL databases on the local server: created for a test or a benchmark, dropped
after. Tests, the replica test and the benchmarks all use these, never the shared `test` database.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg

ADMIN_DSN = os.environ.get("KEFU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class ScratchDatabase:
    name: str

    @property
    def dsn(self) -> str:
        """For asyncpg."""
        return ADMIN_DSN.rsplit("/", 1)[0] + f"/{self.name}"

    @property
    def url(self) -> str:
        """For Kefu (SQLAlchemy)."""
        return "postgresql+asyncpg://" + self.dsn.split("://", 1)[1]

    def execute(self, sql: str) -> None:
        asyncio.run(_execute(self.dsn, sql))

    def query(self, sql: str) -> list[asyncpg.Record]:
        return asyncio.run(_fetch(self.dsn, sql))


async def _execute(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


@contextmanager
def scratch_database(prefix: str = "kefu_test") -> Iterator[ScratchDatabase]:
    """An empty database of its own (no schema), dropped afterwards even on failure."""
    database = ScratchDatabase(f"{prefix}_{uuid.uuid4().hex[:10]}")
    asyncio.run(_execute(ADMIN_DSN, f'CREATE DATABASE "{database.name}"'))
    try:
        yield database
    finally:
        asyncio.run(_execute(ADMIN_DSN, f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)'))
