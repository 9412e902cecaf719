"""The event loop every `kefu` command runs in: uvloop's where it is installed.

uvloop spends less CPU than asyncio's own loop per wake-up, and Kefu wakes often: every
update, every Bot API call, every trip to aiosqlite's thread (`kefu demo` plays a month in
10% less time on it). It is a dependency on Linux; elsewhere asyncio's loop does the same job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the best loop there is."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
