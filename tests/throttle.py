"""Taking Telegram's flood limits out of a run against the fake Bot API, which has none.

The bot's AIORateLimiter spaces messages as Telegram requires: 30 a second overall, 20 a
minute per group. A fuzz run or a benchmark sending thousands of replies would then measure
the limiter's sleeps. The limiter stays in place (its retry path still runs); only its
pacing is switched off.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import AIORateLimiter, Application


def unthrottle(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, AIORateLimiter), "expected PTB's AIORateLimiter"
    # Private attributes of PTB 22's AIORateLimiter; `None` / 0 is how its own constructor
    # records "no limit" (overall_max_rate=0, group_max_rate=0).
    limiter._base_limiter = None
    limiter._group_max_rate = 0
