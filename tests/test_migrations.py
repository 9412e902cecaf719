"""The migrations and the models agree: a schema change without its migration fails here."""

from __future__ import annotations

import asyncio

from alembic import command

from bot.migrate import alembic_config


async def test_models_match_the_migrated_schema(db_url: str) -> None:
    # Alembic runs its own event loop, so it gets a thread (as `bot.migrate.upgrade` does).
    await asyncio.to_thread(command.check, alembic_config(db_url))
