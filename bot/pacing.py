"""Keeping under Telegram's overall flood limit before sending, rather than after a 429.

Telegram allows a bot about 30 messages a second (up to 1,000 with paid broadcasts enabled)
and counts them over any one second. PTB's AIORateLimiter is a leaky bucket: it lets the
whole rate through at once and then the rate every second more, so a burst of hundreds (a
day's surveys falling due together, the backlog after a restart) puts up to twice the limit
into the first second and earns 429s, each of which stalls every request. Every send that
names a chat therefore waits for a slot in a sliding window instead: the rate limiter's
overall limit (bot/telemetry.py), which direct replies and the outbox both pass through.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from types import TracebackType

# Telegram's limit without paid broadcasts: `[telegram] messages_per_second` by default.
LIMIT = 30
# Counted over a little more than a second: network jitter can bring two sends a second
# apart closer together by the time they reach Telegram.
PERIOD = 1.05


class SendWindow:
    """At most `limit` sends in any `period` seconds; bursts up to `limit` go at once.

    Used as `async with window:` (as AIORateLimiter uses its limiters); waiters take their
    slots in the order they came, one at a time, so side-by-side senders never overshoot.
    """

    def __init__(self, limit: int = LIMIT, period: float = PERIOD) -> None:
        self.period = period
        self._sent: deque[float] = deque(maxlen=limit)
        self._turn = asyncio.Lock()

    async def slot(self) -> None:
        """Wait until one more send fits in the window, and count it."""
        async with self._turn:
            if len(self._sent) == self._sent.maxlen:
                wait = self._sent[0] + self.period - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            self._sent.append(time.monotonic())

    async def __aenter__(self) -> None:
        await self.slot()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None
