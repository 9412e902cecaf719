"""The HTTP side in process: webhook secret and body checks, /healthz, /metrics, JSON logs."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot import clock
from bot.app import build_application
from bot.models import Ticket
from bot.process import logs
from bot.process.web import MAX_BODY_BYTES, make_app, parse_listen, start_server
from tests.fakebot import FakeRequest, FakeTelegram
from tests.fakebot.updates import OLD_API_POLL
from tests.harness import AGENT, TEAM_CHAT, TOKEN, Kefu, settings_for
from tests.webtools import HOOK_PATH, SECRET, SECRET_HEADER, eventually, free_port, metric


@dataclass
class Served:
    kefu: Kefu
    http: httpx.AsyncClient

    def ticket_update(self, text: str = "Parcel arrived broken order:A1") -> dict[str, Any]:
        return self.kefu.updates.message(AGENT.json, TEAM_CHAT, f"/ticket {text}")

    async def metrics(self) -> str:
        response = await self.http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text

    async def tickets(self) -> list[Ticket]:
        async with self.kefu.runtime.db.transaction() as session:
            return list(await session.exec(select(Ticket)))


@pytest.fixture
async def served(kefu: Kefu) -> AsyncIterator[Served]:
    """The bot running (updates processed from its queue, jobs on) behind the web app."""
    await kefu.app.start()
    routes = make_app(kefu.app, webhook_path=HOOK_PATH, secret_token=SECRET)
    server = start_server(routes, "127.0.0.1", 0)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10)
    try:
        yield Served(kefu, client)
    finally:
        await client.aclose()
        await server.close()
        await kefu.app.stop()


async def test_an_update_with_the_secret_is_handled_like_a_polled_one(served: Served) -> None:
    response = await served.http.post(HOOK_PATH, json=served.ticket_update(), headers=SECRET_HEADER)
    assert response.status_code == 200
    replies = await eventually(lambda: served.kefu.texts_to(TEAM_CHAT), "the reply to /ticket")
    assert "Ticket #1 logged" in replies[0]
    assert len(await served.tickets()) == 1


async def test_requests_without_the_right_secret_are_refused_and_change_nothing(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "s3cret-Webhook_tokem"
    with caplog.at_level(logging.WARNING, logger="bot.process.web"):
        missing = await served.http.post(HOOK_PATH, json=served.ticket_update())
        mistyped = await served.http.post(
            HOOK_PATH,
            json=served.ticket_update(),
            headers={"X-Telegram-Bot-Api-Secret-Token": wrong},
        )
    assert (missing.status_code, mistyped.status_code) == (403, 403)
    assert served.kefu.app.update_queue.empty()
    assert served.kefu.telegram.sent == [] and await served.tickets() == []
    assert metric(await served.metrics(), "kefu_updates_handled_total") == 0
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.process.web"]
    assert any("no secret token" in m for m in logged)
    assert any("wrong secret token" in m for m in logged)
    assert not any(wrong in m or SECRET in m for m in caplog.text.splitlines())


@pytest.mark.parametrize(
    "body",
    [b"this is not json", b"[1, 2]", b'{"update_id": "seven"}', b'{"message": {"text": "hi"}}'],
    ids=["not-json", "array", "bad-update-id", "no-update-id"],
)
async def test_bodies_that_are_not_updates_get_400(served: Served, body: bytes) -> None:
    response = await served.http.post(
        HOOK_PATH,
        content=body,
        headers={**SECRET_HEADER, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert served.kefu.app.update_queue.empty()
    assert metric(await served.metrics(), "kefu_updates_handled_total") == 0


async def test_healthz_answers_ok_while_database_and_scheduler_run(served: Served) -> None:
    response = await served.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "scheduler": "ok"}


async def test_healthz_names_a_stopped_scheduler(kefu: Kefu) -> None:
    # Initialised but never started: the JobQueue's scheduler is not running.
    server = start_server(make_app(kefu.app), "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            response = await http.get("/healthz")
            # Polling mode (no webhook_path): there is no webhook route to post to.
            hook = await http.post(HOOK_PATH, json={"update_id": 1}, headers=SECRET_HEADER)
    finally:
        await server.close()
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "scheduler": "stopped"}
    assert hook.status_code == 404


async def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    url = f"postgresql+asyncpg://kefu@127.0.0.1:{free_port()}/kefu"
    app = build_application(settings_for(url), request=FakeRequest(FakeTelegram()))
    await app.initialize()
    await app.start()
    server = start_server(make_app(app), "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            health = await http.get("/healthz")
            scraped = await http.get("/metrics")
    finally:
        await server.close()
        await app.stop()
        await app.shutdown()
    assert health.status_code == 503
    assert health.json() == {"database": "unreachable", "scheduler": "ok"}
    # The counters stay readable; only the gauge read from the database is missing a value.
    assert scraped.status_code == 200
    assert metric(scraped.text, "kefu_updates_handled_total") == 0


async def test_counters_move_with_updates_sends_errors_and_jobs(served: Served) -> None:
    before = await served.metrics()
    assert metric(before, "kefu_tickets_open") == 0
    assert metric(before, "kefu_bot_api_errors_total", kind="Forbidden") == 0
    # A scheduled job that has not run yet (its first run is a minute after start) reads 0.
    assert metric(before, "kefu_job_runs_total", job="forget-updates") == 0

    await served.http.post(HOOK_PATH, json=served.ticket_update(), headers=SECRET_HEADER)
    await eventually(lambda: served.kefu.texts_to(TEAM_CHAT), "the first reply")
    # The reply fails once (as if the bot had been removed from the chat), which the error
    # handler catches and answers.
    served.kefu.telegram.fail("sendMessage", status=403, times=1, chat_id=TEAM_CHAT)
    await served.http.post(
        HOOK_PATH, json=served.ticket_update("Wrong colour"), headers=SECRET_HEADER
    )
    await eventually(
        lambda: len(served.kefu.texts_to(TEAM_CHAT)) == 2, "the apology after the error"
    )
    assert "something went wrong" in served.kefu.texts_to(TEAM_CHAT)[1]

    after = await eventually(lambda: _scrape_once_outbox_ran(served), "the outbox job to have run")
    assert metric(after, "kefu_updates_handled_total") == 2
    assert metric(after, "kefu_messages_sent_total", method="sendMessage") == 2
    assert metric(after, "kefu_bot_api_errors_total", kind="Forbidden") == 1
    assert metric(after, "kefu_handler_errors_total", source="update") == 1
    assert metric(after, "kefu_tickets_open") == 2
    assert metric(after, "kefu_job_runs_total", job="outbox") >= 1


async def _scrape_once_outbox_ran(served: Served) -> str | None:
    text = await served.metrics()
    try:
        return text if metric(text, "kefu_job_runs_total", job="outbox") >= 1 else None
    except KeyError:
        return None


def test_listen_addresses_are_checked() -> None:
    assert parse_listen("0.0.0.0:8443", "[telegram] listen") == ("0.0.0.0", 8443)
    assert parse_listen("[::1]:9000", "[ops] listen") == ("::1", 9000)
    for bad in ("8443", "localhost", "host:port", ":80", "host:70000"):
        with pytest.raises(Exception, match=r"\[ops\] listen: must be HOST:PORT"):
            parse_listen(bad, "[ops] listen")


async def test_json_log_lines_carry_ids_and_never_the_token(
    kefu: Kefu, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure(level="INFO", json_lines=True, secrets=[TOKEN, SECRET])
    try:
        received = (clock.now() - timedelta(days=8)).astimezone(kefu.settings.team.tz)
        await kefu.say(
            AGENT, f"/ticket Parcel lost received:{received:%Y-%m-%dT%H:%M}", chat=TEAM_CHAT
        )
        await kefu.run_job("followup-sweep")
        await kefu.deliver()
        logging.getLogger("test").warning("leaked? %s and %s", TOKEN, SECRET)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    command = next(e for e in lines if e["message"].endswith("command /ticket"))
    assert command["chat_id"] == TEAM_CHAT and command["user_id"] == AGENT.user_id
    logged = next(e for e in lines if e["message"] == "ticket #1 logged")
    assert logged["ticket"] == 1 and logged["update_id"] == command["update_id"]
    delivered = next(e for e in lines if "followup_escalate" in e["message"])
    assert delivered["message"].endswith(": sent")
    assert delivered["ticket"] == 1 and delivered["chat_id"] == TEAM_CHAT
    text = stream.getvalue()
    assert TOKEN not in text and TOKEN.split(":")[1] not in text and SECRET not in text
    assert "leaked? *** and ***" in text


async def test_an_update_the_library_cannot_read_is_logged_and_taken(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    update = {"update_id": 9_000_001, "poll": OLD_API_POLL}
    with caplog.at_level(logging.WARNING):
        response = await served.http.post(HOOK_PATH, json=update, headers=SECRET_HEADER)
    # 200: a 400 would make Telegram deliver it again and again.
    assert response.status_code == 200
    assert served.kefu.app.update_queue.empty()
    [skipped] = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert skipped.startswith("update 9000001 could not be read and is skipped (TypeError")
    assert skipped.endswith("it carries poll")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]

    # The next update is handled as usual.
    ok = await served.http.post(HOOK_PATH, json=served.ticket_update(), headers=SECRET_HEADER)
    assert ok.status_code == 200
    await eventually(lambda: served.kefu.texts_to(TEAM_CHAT), "the reply to /ticket")


async def test_a_body_over_the_limit_gets_413(served: Served) -> None:
    big = b'{"update_id": 1, "message": {"text": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}}'
    headers = {**SECRET_HEADER, "Content-Type": "application/json"}
    sized = await served.http.post(HOOK_PATH, content=big, headers=headers)
    assert sized.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked encoding
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = await served.http.post(HOOK_PATH, content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert served.kefu.app.update_queue.empty()
    # The connection stays usable: a normal update right after is taken.
    ok = await served.http.post(HOOK_PATH, json=served.ticket_update(), headers=SECRET_HEADER)
    assert ok.status_code == 200
