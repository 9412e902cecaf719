"""Running `kefu` as its own process in tests: the command, its environment, waiting on it."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path


def kefu_command() -> list[str]:
    script = Path(sys.executable).parent / "kefu"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    return {**env, **extra}


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
