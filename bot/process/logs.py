"""Logging set-up: plain or JSON lines; the bot token scrubbed and user text made safe."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")

# One string interpolated into a log line (a name, a button's data, a Telegram error) is
# cut here: enough to recognise it, too short to flood the log.
ARG_LIMIT = 200
# What must not reach a log line raw: control characters (a NUL makes grep call the log a
# binary file, a newline forges a line), bidirectional and invisible formatting (a
# right-to-left override reverses what follows on the screen), line and paragraph
# separators, lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """`text` with every unsafe character written as its escape (\\x00, \\u202e)."""
    return _UNSAFE.sub(_escaped, text)


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > ARG_LIMIT:
        return f"{value[:ARG_LIMIT]}…(+{len(value) - ARG_LIMIT} chars)"
    return value


class RedactSecrets(logging.Filter):
    """Make every record safe to write: the token (and anything shaped like one) replaced,
    each interpolated string cut to ARG_LIMIT, unsafe characters escaped.

    Here, at the one place every log line passes, rather than at each call: any call may
    carry text a user typed (names, button data, errors quoting what was sent).
    """

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _TOKEN_SHAPE.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_cut(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _cut(arg) for key, arg in record.args.items()}
        record.msg = escape(self.scrub(record.getMessage()))
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, scrubbed, so no formatter prints the raw one.
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("update_id", "ticket", "chat_id", "user_id", "outbox_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure(
    *, level: str = "INFO", json_lines: bool = False, secrets: list[str] | None = None
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets(secrets or []))
    handler.setFormatter(
        JsonLines()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, and Bot API URLs carry the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic announces every plugin it loads; the migrations it runs are still logged.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
