"""What the running bot holds: settings, database, and this process's identity."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from bot.config import Settings
from bot.db import Database
from bot.process.telemetry import Metrics


def _instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def died_on_this_host(owner: str) -> bool:
    """Whether a claim's owner ("host:pid") was a process of this host that is gone.

    Our own pid counts as gone: a process that has just started holds no claims yet, and in
    a container every restart gets the same pid.
    """
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Runtime:
    settings: Settings
    db: Database
    # Names this replica in claims it takes on shared work.
    instance: str = field(default_factory=_instance_name)
    metrics: Metrics = field(default_factory=Metrics)
