"""Keeping under Telegram's overall flood limit before sending, rather than after a 429.

Telegram allows a bot about 30 messages a second and counts them over any one second.
PTB's AIORateLimiter is a leaky bucket: it lets 30 through at once and then 30 a second
more, so a burst of hundreds (a day's surveys falling due together) puts up to twice the
limit into the first second and earns 429s, each of which stalls every request. The
dispatcher, the one sender of bursts, paces itself with a sliding window instead.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

# 30 a second, counted over a little more than a second: network jitter can bring two
# sends a second apart closer together by the time they reach Telegram.
LIMIT = 30
PERIOD = 1.05


class SendWindow:
    """At most `limit` sends in any `period` seconds; bursts up to `limit` go at once."""

    def __init__(self, limit: int = LIMIT, period: float = PERIOD) -> None:
        self.period = period
        self._sent: deque[float] = deque(maxlen=limit)

    async def slot(self) -> None:
        """Wait until one more send fits in the window, and count it."""
        if len(self._sent) == self._sent.maxlen:
            wait = self._sent[0] + self.period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self._sent.append(time.monotonic())
