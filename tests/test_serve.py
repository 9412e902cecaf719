"""`kefu run`'s loop in process: polling with an ops port, webhook mode, start-up failures.

The bot talks real HTTP to a FakeBotApiServer, and is stopped through `serve.run`'s `stop`
event, the same path SIGINT / SIGTERM take.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from bot.app import build_application
from bot.config import ConfigError, Settings
from bot.process import serve
from tests.fakebot import FakeBotApiServer, UpdateFactory
from tests.fakebot.updates import OLD_API_POLL
from tests.harness import AGENT, TEAM_CHAT, settings_for
from tests.webtools import HOOK_PATH, SECRET, SECRET_HEADER, eventually, free_port, metric


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer() as running:
        yield running


def _settings(db_url: str, server: FakeBotApiServer, **sections: dict[str, Any]) -> Settings:
    telegram = {"api_base_url": server.base_url, "poll_timeout": 1, **sections.pop("telegram", {})}
    return settings_for(db_url, telegram=telegram, **sections)


class Running:
    def __init__(self, settings: Settings) -> None:
        self.app: Application = build_application(settings)  # type: ignore[type-arg]
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(serve.run(self.app, settings, stop=self.stop))

    async def finish(self) -> int:
        self.stop.set()
        return await asyncio.wait_for(self.task, 30)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def _ticket_update(server: FakeBotApiServer, text: str) -> dict[str, Any]:
    updates = UpdateFactory(server.telegram)
    updates.group_chat(TEAM_CHAT, "After-sales team")
    return updates.message(AGENT.json, TEAM_CHAT, f"/ticket {text}")


async def _up(http: httpx.AsyncClient, base: str, running: Running) -> None:
    async def healthy() -> bool:
        if running.task.done():
            raise AssertionError(f"serve.run ended early: {running.task.result()}")
        try:
            return (await http.get(f"{base}/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(healthy, "the bot to answer /healthz")


async def test_polling_serves_health_and_metrics_on_the_ops_port(
    db_url: str, server: FakeBotApiServer, http: httpx.AsyncClient
) -> None:
    port = free_port()
    running = Running(_settings(db_url, server, ops={"listen": f"127.0.0.1:{port}"}))
    base = f"http://127.0.0.1:{port}"
    try:
        await _up(http, base, running)
        server.telegram.push_update(_ticket_update(server, "Polled parcel"))
        await eventually(lambda: server.telegram.sent_to(TEAM_CHAT), "the ticket reply")
        assert "Ticket #1 logged" in (server.telegram.sent_to(TEAM_CHAT)[0].text or "")
        scraped = (await http.get(f"{base}/metrics")).text
        assert metric(scraped, "kefu_updates_handled_total") == 1
        assert metric(scraped, "kefu_tickets_open") == 1
        # No webhook in polling mode: nothing to post updates to.
        refused = await http.post(
            f"{base}{HOOK_PATH}", json={"update_id": 9}, headers=SECRET_HEADER
        )
        assert refused.status_code == 404
    finally:
        assert await running.finish() == 0
    assert not running.app.running
    assert server.telegram.calls("getUpdates") and not server.telegram.calls("setWebhook")


async def test_webhook_mode_sets_the_webhook_and_takes_updates_over_http(
    db_url: str, server: FakeBotApiServer, http: httpx.AsyncClient
) -> None:
    port = free_port()
    webhook = {
        "mode": "webhook",
        "webhook_url": f"https://bot.example.com{HOOK_PATH}",
        "listen": f"127.0.0.1:{port}",
        "secret_token": SECRET,
    }
    running = Running(_settings(db_url, server, telegram=webhook))
    base = f"http://127.0.0.1:{port}"
    try:
        await _up(http, base, running)
        await eventually(lambda: server.telegram.calls("setWebhook"), "setWebhook")
        update = _ticket_update(server, "Hooked parcel")
        response = await http.post(f"{base}{HOOK_PATH}", json=update, headers=SECRET_HEADER)
        assert response.status_code == 200
        await eventually(lambda: server.telegram.sent_to(TEAM_CHAT), "the ticket reply")
    finally:
        assert await running.finish() == 0
    assert not server.telegram.calls("getUpdates")
    [call] = server.telegram.calls("setWebhook")
    assert call.params["url"] == webhook["webhook_url"]
    assert call.params["secret_token"] == SECRET
    # Stopping one replica must not take the webhook away from the others.
    assert not server.telegram.calls("deleteWebhook")


async def test_a_refused_webhook_stops_the_start_with_an_error(
    db_url: str, server: FakeBotApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.telegram.fail(
        "setWebhook", status=400, description="Bad Request: bad webhook: IP address is private"
    )
    webhook = {
        "mode": "webhook",
        "webhook_url": f"https://bot.example.com{HOOK_PATH}",
        "listen": f"127.0.0.1:{free_port()}",
        "secret_token": SECRET,
    }
    running = Running(_settings(db_url, server, telegram=webhook))
    assert await asyncio.wait_for(running.task, 30) == 1
    assert "Telegram refused the webhook" in caplog.text
    assert "ip address is private" in caplog.text.lower()
    assert not running.app.running


async def test_a_port_in_use_is_reported_with_its_key(
    db_url: str, server: FakeBotApiServer
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = Running(_settings(db_url, server, ops={"listen": f"127.0.0.1:{port}"}))
        with pytest.raises(
            ConfigError, match=rf"\[ops\] listen: cannot listen on 127.0.0.1:{port}"
        ):
            await asyncio.wait_for(running.task, 30)
    assert not running.app.running


async def test_a_malformed_listen_address_fails_before_anything_starts(
    db_url: str, server: FakeBotApiServer
) -> None:
    running = Running(_settings(db_url, server, ops={"listen": "localhost"}))
    with pytest.raises(ConfigError, match=r"\[ops\] listen: must be HOST:PORT"):
        await asyncio.wait_for(running.task, 30)
    assert not server.telegram.calls("getMe")


async def test_polling_goes_past_an_update_the_library_cannot_read(
    db_url: str, server: FakeBotApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = _ticket_update(server, "Parcel lost")
    server.telegram.push_update({"update_id": 41, "poll": OLD_API_POLL})
    server.telegram.push_update({**ticket, "update_id": 42})
    running = Running(_settings(db_url, server))
    try:
        replies = await eventually(lambda: server.telegram.sent_to(TEAM_CHAT), "the /ticket reply")
        assert "Ticket #1 logged" in (replies[0].text or "")
    finally:
        assert await running.finish() == 0
    skipped = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert skipped and skipped[0].startswith("update 41 could not be read and is skipped")
    assert skipped[0].endswith("it carries poll")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
