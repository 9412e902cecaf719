"""The async engine and session factory, and the pragmas SQLite needs to be a good citizen."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0


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
        self._turns = _Turns() if self.dialect == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed on success, rolled back on any error."""
        async with self._turn(), self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException as exc:
                await _rollback_quietly(session)
                if isinstance(exc, Exception) and is_unreachable(exc):
                    raise DatabaseUnavailable(_reason(exc)) from exc
                raise

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """One unit of work in plain SQL, without the ORM's bookkeeping: for the writes that
        every update makes (bot/services/batching.py). Committed on success."""
        try:
            async with self._turn(), self.engine.begin() as connection:
                yield connection
        except Exception as exc:
            if is_unreachable(exc):
                raise DatabaseUnavailable(_reason(exc)) from exc
            raise

    def _turn(self) -> AbstractAsyncContextManager[None]:
        return self._turns.take() if self._turns is not None else nullcontext()

    async def dispose(self) -> None:
        await self.engine.dispose()


class _Turns:
    """SQLite: this process's transactions run one after another.

    Updates are handled side by side, and pysqlite only begins a transaction at the first
    write, so two services reading a ticket and then changing it (two people resolving it at
    once) would both act on what they read. PostgreSQL locks the rows instead (`FOR UPDATE`);
    SQLite has a single writer anyway, and waiting here costs less than waiting on its file
    lock. A task already holding the turn (a transaction inside a transaction) keeps it.
    """

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._holder: asyncio.Task[Any] | None = None

    @asynccontextmanager
    async def take(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            yield
            return
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        async with self._lock:
            self._holder = task
            try:
                yield
            finally:
                self._holder = None


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "postgresql":
        # pre_ping lets the pool recover by itself after PostgreSQL restarts.
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=5)
        # asyncpg waits 60 s for an unreachable host by default, and updates would pile up
        # behind it: fail fast and say "try again in a moment" instead.
        kwargs.update(connect_args={"timeout": CONNECT_TIMEOUT})
    else:
        kwargs.update(connect_args={"timeout": 30})
    if parsed.get_backend_name() == "sqlite" and parsed.get_driver_name() == "aiosqlite":
        from bot import sqlite_driver

        parsed = parsed.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    event.listen(engine.sync_engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _without_nul(
    _conn: Any,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    """PostgreSQL cannot store U+0000 in text and fails the whole statement; nobody means
    to type it, so it is dropped from every value sent, on both databases alike."""
    if executemany and isinstance(parameters, list | tuple):
        return statement, type(parameters)(_clean(row) for row in parameters)
    return statement, _clean(parameters)


def _clean(parameters: Any) -> Any:
    # Nearly every statement has nothing to drop: look before copying.
    values = parameters.values() if isinstance(parameters, dict) else parameters
    if not isinstance(values, Iterable) or isinstance(values, str | bytes):
        return parameters
    if not any(isinstance(value, str) and "\x00" in value for value in values):
        return parameters
    if isinstance(parameters, dict):
        return {key: _clean_value(value) for key, value in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(_clean_value(value) for value in parameters)
    return parameters


def _clean_value(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the digest) run while a writer (a /ticket) commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _driver_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """What the PostgreSQL driver raises when the server is down, restarting or gone away,
    and its interface errors. None at all when asyncpg was never imported (the database is
    SQLite): it is not imported for them, which spares `kefu digest` on SQLite its import."""
    asyncpg = sys.modules.get("asyncpg")
    if asyncpg is None:
        return (), ()
    gone = (
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
        asyncpg.exceptions.TooManyConnectionsError,
    )
    return gone, (asyncpg.InterfaceError,)


_NETWORK_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}
)
_CONNECTION_WORDS = ("connection", "connect", "terminat", "shutdown", "closed")


def is_unreachable(exc: BaseException) -> bool:
    """Whether `exc`, or anything it wraps, means the database cannot be reached right now.

    A refused or reset socket arrives as a bare OSError from the driver's connect, not
    wrapped by SQLAlchemy, so the whole chain of causes is looked at.
    """
    server_gone, interface = _driver_errors()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, server_gone) or _network_error(current):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (OperationalError, *interface)) and any(
            word in str(current).lower() for word in _CONNECTION_WORDS
        ):
            return True
        wrapped = getattr(current, "orig", None)
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__
    return False


def retry_can_help(exc: BaseException) -> bool:
    """Whether trying the same work again later may succeed: the database was out of reach
    or busy (locked, a serialisation conflict). A bad setting or a bug fails the same way
    every time."""
    return isinstance(exc, DatabaseUnavailable | OperationalError | TimeoutError) or is_unreachable(
        exc
    )


def _network_error(exc: BaseException) -> bool:
    # Not any OSError: a missing file inside a transaction is not a database outage.
    return isinstance(exc, ConnectionError | TimeoutError | socket.gaierror) or (
        isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS
    )


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc) or type(exc).__name__


async def _rollback_quietly(session: AsyncSession) -> None:
    """Roll back; on a dead connection the rollback fails too, and that is not the news."""
    try:
        await session.rollback()
    except Exception as exc:
        log.debug("rollback failed after an error: %s", exc)
