"""Guided conversations kept in the database, so any replica (or a restart) can continue them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot import clock
from bot.db import Database
from bot.models import FlowState

# A half-finished flow older than this is forgotten rather than resumed by surprise.
STALE_AFTER = timedelta(hours=2)


@dataclass(frozen=True)
class Flow:
    name: str
    step: str
    data: dict[str, Any]


async def start(db: Database, *, chat_id: int, user_id: int, name: str, step: str) -> Flow:
    async with db.transaction() as session:
        state = await session.get(FlowState, (chat_id, user_id))
        if state is None:
            state = FlowState(
                chat_id=chat_id, user_id=user_id, flow=name, step=step, updated_at=clock.now()
            )
            session.add(state)
        state.flow, state.step, state.data, state.updated_at = name, step, {}, clock.now()
        return Flow(name, step, {})


async def current(db: Database, *, chat_id: int, user_id: int) -> Flow | None:
    async with db.transaction() as session:
        state = await session.get(FlowState, (chat_id, user_id))
        if state is None:
            return None
        if clock.now() - state.updated_at > STALE_AFTER:
            await session.delete(state)
            return None
        return Flow(state.flow, state.step, dict(state.data))


async def advance(
    db: Database, *, chat_id: int, user_id: int, step: str, **data: Any
) -> Flow | None:
    """Move to `step`, merging `data`; None when the flow was cancelled meanwhile."""
    async with db.transaction() as session:
        state = await session.get(FlowState, (chat_id, user_id))
        if state is None:
            return None
        state.step = step
        state.data = {**state.data, **data}
        state.updated_at = clock.now()
        return Flow(state.flow, step, dict(state.data))


async def finish(db: Database, *, chat_id: int, user_id: int) -> Flow | None:
    """End the flow, returning what it had collected (None if there was none)."""
    async with db.transaction() as session:
        state = await session.get(FlowState, (chat_id, user_id))
        if state is None:
            return None
        await session.delete(state)
        return Flow(state.flow, state.step, dict(state.data))
