"""Fixtures: every database test runs on SQLite and on PostgreSQL (`--db` narrows it)."""

from __future__ import annotations

import io
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (the tables to truncate)
from bot import clock, migrate
from bot.process import logs
from tests.harness import TOKEN, Kefu, settings_for
from tests.pg_private import private_postgres  # noqa: F401  (a fixture: a server to stop)
from tests.scratch_pg import ScratchDatabase, scratch_database


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql", "all"),
        default="all",
        help="which databases the database tests run on (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        kinds = ["sqlite", "postgresql"] if choice == "all" else [choice]
        metafunc.parametrize("db_url", kinds, indirect=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "kefu.db"
    migrate.upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[ScratchDatabase]:
    """A database of our own on the local PostgreSQL, migrated once, dropped at the end."""
    with scratch_database("kefu_test") as database:
        migrate.upgrade_sync(database.url)
        yield database


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "kefu.db"
        shutil.copy(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    database: ScratchDatabase = request.getfixturevalue("pg_database")
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    database.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield database.url


@pytest.fixture(autouse=True)
def _fresh_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
async def kefu(db_url: str) -> AsyncIterator[Kefu]:
    """The bot with a configured team, running against a fake Telegram."""
    running = await Kefu(settings_for(db_url)).start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def logging_as_kefu_run() -> Iterator[io.StringIO]:
    """Logging configured exactly as `kefu run` does, at DEBUG, into a buffer."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    saved_levels = {name: logging.getLogger(name).level for name in ("httpx", "apscheduler")}
    buffer = io.StringIO()
    logs.configure(level="DEBUG", secrets=[TOKEN])
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        root.handlers[:], root.level = saved
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
