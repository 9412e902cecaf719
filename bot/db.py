"""The async engine and session factory, and the pragmas SQLite needs to be a good citizen."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database could not be reached; the user should try again in a moment."""


class Database:
    """Owns the engine; hands out sessions, one transaction each."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, echo=echo)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed on success, rolled back on any error."""
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except (OperationalError, DBAPIError) as exc:
                await session.rollback()
                if _is_connection_error(exc):
                    raise DatabaseUnavailable(str(exc.orig)) from exc
                raise
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "postgresql":
        # pre_ping lets the pool recover by itself after PostgreSQL restarts.
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=5)
    else:
        kwargs.update(connect_args={"timeout": 30})
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the digest) run while a writer (a /ticket) commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _is_connection_error(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or (
        isinstance(exc, OperationalError)
        and any(
            word in str(exc).lower()
            for word in ("connection", "connect", "terminat", "shutdown", "closed")
        )
    )
