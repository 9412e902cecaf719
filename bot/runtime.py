"""What the running bot holds: settings, database, and this process's identity."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from bot.config import Settings
from bot.db import Database
from bot.telemetry import Metrics


def _instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Runtime:
    settings: Settings
    db: Database
    # Names this replica in claims it takes on shared work.
    instance: str = field(default_factory=_instance_name)
    metrics: Metrics = field(default_factory=Metrics)
