"""The one source of "now", so tests can move time instead of waiting for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta()


def now() -> datetime:
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> None:
    """Move the clock forward (tests, the demo); never used by the running bot."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta()
