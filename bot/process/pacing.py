"""Keeping under Telegram's overall flood limit before sending, rather than after a 429.

Telegram allows a bot about 30 messages a second (up to 1,000 with paid broadcasts enabled)
and counts them, as they arrive, over any one second. PTB's AIORateLimiter is a leaky bucket:
it lets the whole rate through at once and then the rate every second more, so a burst of
hundreds (a day's surveys falling due together, the backlog after a restart) puts up to twice
the limit into the first second and earns 429s, each of which stalls every request. Every
send that names a chat therefore takes a place in a window instead: the rate limiter's
overall limit (bot/process/telemetry.py), which direct replies and the outbox both pass through.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from types import TracebackType

# Telegram's limit without paid broadcasts: `[telegram] messages_per_second` by default.
LIMIT = 30
PERIOD = 1.0


class SendWindow:
    """At most `limit` sends that reached Telegram in any `period` seconds.

    A place is held from the moment a send starts until `period` after its answer came back.
    A send arrives at Telegram after it starts and before its answer, so however long a busy
    machine or network holds it up on the way, the sends Telegram counts in any one second
    never exceed the limit. Bursts up to `limit` go at once; waiters take their places in
    the order they came. Used as `async with window:` (as AIORateLimiter uses its limiters).
    """

    def __init__(self, limit: int = LIMIT, period: float = PERIOD) -> None:
        self.limit, self.period = limit, period
        self._answered: deque[float] = deque()  # when the sends of the last period ended
        self._in_flight = 0
        self._turn = asyncio.Lock()
        self._ended = asyncio.Event()

    async def __aenter__(self) -> None:
        async with self._turn:
            while True:
                now = time.monotonic()
                while self._answered and self._answered[0] <= now - self.period:
                    self._answered.popleft()
                if self._in_flight + len(self._answered) < self.limit:
                    break
                if self._answered:
                    await asyncio.sleep(self._answered[0] + self.period - now)
                else:  # every place is a send still on its way: wait for one to end
                    self._ended.clear()
                    await self._ended.wait()
            self._in_flight += 1

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._in_flight -= 1
        self._answered.append(time.monotonic())
        self._ended.set()
