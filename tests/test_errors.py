"""Internal failures are logged with context, the person hears about it, the bot keeps going."""

from __future__ import annotations

import logging

import pytest

from bot.db import DatabaseUnavailable
from bot.process.logs import RedactSecrets
from bot.services import tickets
from tests.harness import AGENT, TEAM_CHAT, TOKEN, Kefu, only


async def test_a_crashing_handler_is_logged_and_the_user_told(
    kefu: Kefu, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tickets, "create", broken)
    with caplog.at_level(logging.ERROR):
        reply = only(await kefu.say(AGENT, "/ticket Parcel broken", chat=TEAM_CHAT))
    assert "something went wrong" in (reply.text or "")
    record = next(r for r in caplog.records if r.name == "handlers.errors")
    assert (
        f"chat {TEAM_CHAT}" in record.getMessage()
        and f"user {AGENT.user_id}" in record.getMessage()
    )
    assert record.exc_info and "disk on fire" in str(record.exc_info[1])
    monkeypatch.undo()
    assert "Ticket #1 logged" in (
        only(await kefu.say(AGENT, "/ticket Parcel broken", chat=TEAM_CHAT)).text or ""
    )


async def test_database_outage_asks_to_try_again(
    kefu: Kefu, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(*args: object, **kwargs: object) -> None:
        raise DatabaseUnavailable("connection refused")

    monkeypatch.setattr(tickets, "create", unavailable)
    reply = only(await kefu.say(AGENT, "/ticket Parcel broken", chat=TEAM_CHAT))
    assert "try again in a moment" in (reply.text or "")


def test_token_is_scrubbed_from_log_records() -> None:
    redact = RedactSecrets([TOKEN])
    try:
        raise ValueError(f"POST https://api.telegram.org/bot{TOKEN}/getMe failed")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "calling %s", (f"bot{TOKEN}",), sys.exc_info()
        )
    redact.filter(record)
    assert TOKEN not in record.getMessage()
    assert record.exc_text and TOKEN not in record.exc_text and "***" in record.exc_text
    # Anything shaped like a token is scrubbed too, in case another secret slips in.
    assert "987654321:AAH" not in redact.scrub("token 987654321:AAHabcdefghijklmnopqrstuvwxyz012")
