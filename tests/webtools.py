"""Helpers for tests that talk to the bot over HTTP: waiting, and reading /metrics."""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

SECRET = "s3cret-Webhook_token"
HOOK_PATH = "/telegram/hook"
SECRET_HEADER = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


async def eventually(
    check: Callable[[], Any | Awaitable[Any]],
    what: str,
    *,
    within: float = 15.0,
    every: float = 0.05,
) -> Any:
    """Poll `check` (plain or async) until it returns something truthy; fail after `within` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus exposition; KeyError when the series does not exist."""
    wanted = tuple(sorted(labels.items()))
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and tuple(sorted(sample.labels.items())) == wanted:
                return float(sample.value)
    raise KeyError(f"{name}{labels} is not in the exposition")


def free_port() -> int:
    """A port nothing listens on right now (closed again, so connecting to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
