"""Schema migrations (Alembic), applied at start and by `kefu db upgrade`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Replicas may all run `kefu db upgrade` at start; PostgreSQL serialises them on this
# advisory lock key (taken in migrations/env.py).
MIGRATION_LOCK_KEY = 0x6B656675


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; Alembic runs its own loop, so it gets a thread."""
    await asyncio.to_thread(upgrade_sync, url, revision)
