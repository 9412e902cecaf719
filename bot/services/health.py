"""Is the database answering? For /healthz, which a load balancer asks every few seconds."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text

from bot.db import Database

log = logging.getLogger(__name__)

# A health check that hangs is worse than one that fails: the prober gives up and guesses.
TIMEOUT_SECONDS = 3.0


async def database_reachable(db: Database) -> bool:
    """True when `SELECT 1` comes back within TIMEOUT_SECONDS."""
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS), db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy"; say which in the log
        log.warning("health check: the database did not answer: %s", exc or type(exc).__name__)
        return False
    return True
