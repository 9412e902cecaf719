"""The bot's HTTP side (tornado): Telegram's webhook, `GET /healthz` and `GET /metrics`.

Following python-telegram-bot's custom-webhook pattern, a webhook request only checks the
secret, parses the update and puts it on the Application's update queue; the Application
handles it exactly as it would a polled one. The server runs in the Application's own loop.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import socket
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import tornado.web
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.config import ConfigError
from bot.process import readable
from bot.process.runtime import Runtime
from bot.process.telemetry import CONTENT_TYPE
from bot.services import health, tickets

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes; nothing legitimate comes near this.
MAX_BODY_BYTES = 1024 * 1024
# An oversized webhook body is read (and thrown away) up to this much, so its sender gets a
# 413 rather than a connection reset mid-upload; beyond it the connection is simply closed.
DRAIN_BYTES = 16 * MAX_BODY_BYTES


def _runtime(app: Application) -> Runtime:
    return app.bot_data["runtime"]


class _Base(tornado.web.RequestHandler):
    bot_app: Application

    def initialize(self, bot_app: Application) -> None:
        self.bot_app = bot_app

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


@tornado.web.stream_request_body
class WebhookHandler(_Base):
    """POST from Telegram: one update, with the secret token we gave setWebhook.

    The body is streamed so that one over MAX_BODY_BYTES can be answered 413 (tornado's own
    limit answers with a closed connection).
    """

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot_app: Application, secret_token: str) -> None:  # type: ignore[override]
        super().initialize(bot_app)
        self.secret_token = secret_token.encode()

    def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        length = self.request.headers.get("Content-Length", "")
        self._too_large = length.isdigit() and int(length) > MAX_BODY_BYTES
        # This handler keeps at most MAX_BODY_BYTES (data_received): tornado may read on.
        self.request.connection.set_max_body_size(DRAIN_BYTES)  # type: ignore[union-attr]

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > MAX_BODY_BYTES:
            self._too_large = True
            self._chunks.clear()
        elif not self._too_large:
            self._chunks.append(chunk)

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER)
        if given is None or not hmac.compare_digest(given.encode(), self.secret_token):
            # Never log the header itself: a near miss may be the secret with a typo.
            log.warning(
                "webhook request from %s refused: %s secret token",
                self.request.remote_ip,
                "no" if given is None else "wrong",
            )
            self._json(HTTPStatus.FORBIDDEN, {"error": "forbidden"})
            return
        if self._too_large:
            log.warning(
                "webhook request from %s refused: body over %s bytes",
                self.request.remote_ip,
                MAX_BODY_BYTES,
            )
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
            return
        data = self._data()
        if data is None:
            log.warning("webhook request from %s refused: not an update", self.request.remote_ip)
            self._json(HTTPStatus.BAD_REQUEST, {"error": "not a Telegram update"})
            return
        update = readable.parse(data, self.bot_app.bot)
        if update is None:
            # Logged by `parse`. A 400 would make Telegram send it again forever: take it.
            self._json(HTTPStatus.OK, {})
            return
        await self.bot_app.update_queue.put(update)
        self._json(HTTPStatus.OK, {})

    def _data(self) -> dict[str, Any] | None:
        """The body as an update's JSON object, or None when it is not one."""
        try:
            data = json.loads(b"".join(self._chunks))
        except (ValueError, RecursionError):  # not JSON, not UTF-8, nested beyond reason
            return None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        return data


class HealthHandler(_Base):
    """200 when the database answers and the scheduler runs; 503 naming what does not."""

    async def get(self) -> None:
        database = await health.database_reachable(_runtime(self.bot_app).db)
        job_queue = self.bot_app.job_queue
        scheduler = job_queue is not None and job_queue.scheduler.running
        body = {
            "database": "ok" if database else "unreachable",
            "scheduler": "ok" if scheduler else "stopped",
        }
        healthy = database and scheduler
        self._json(HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE, body)


class MetricsHandler(_Base):
    """Prometheus text format; the open-ticket gauge is read from the database now."""

    async def get(self) -> None:
        rt = _runtime(self.bot_app)
        try:
            open_tickets: int | None = await tickets.count_open(rt.db)
        except Exception as exc:  # the counters are still worth serving
            log.warning("metrics: could not count open tickets: %s", exc)
            open_tickets = None
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(rt.metrics.exposition(tickets_open=open_tickets))


def _access_log(handler: tornado.web.RequestHandler) -> None:
    # Telegram posts every update; an INFO line each would drown the bot's own log.
    status = handler.get_status()
    level = logging.WARNING if status >= 500 else logging.DEBUG
    log.log(
        level,
        "%s %s %s %.1f ms",
        handler.request.method,
        handler.request.path,
        status,
        1000 * handler.request.request_time(),
    )


def make_app(
    application: Application,
    *,
    webhook_path: str | None = None,
    secret_token: str | None = None,
) -> tornado.web.Application:
    """The routes: the webhook when `webhook_path` is given, /healthz and /metrics always."""
    shared = {"bot_app": application}
    routes: list[Any] = [
        (r"/healthz", HealthHandler, shared),
        (r"/metrics", MetricsHandler, shared),
    ]
    if webhook_path is not None:
        if not secret_token:
            raise ConfigError("[telegram] secret_token: the webhook needs one")
        routes.insert(
            0,
            (
                rf"{re.escape(webhook_path.rstrip('/'))}/?",
                WebhookHandler,
                {**shared, "secret_token": secret_token},
            ),
        )
    return tornado.web.Application(routes, log_function=_access_log)


def webhook_path(webhook_url: str) -> str:
    """The path Telegram posts to: that of webhook_url (behind a proxy, the same path)."""
    return urlsplit(webhook_url).path or "/"


def parse_listen(value: str, key: str) -> tuple[str, int]:
    """HOST:PORT (or [IPv6]:PORT) from the config, or a ConfigError naming `key`."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{key}: must be HOST:PORT, e.g. 127.0.0.1:8443 (got {value!r})")
    return host, int(port)


@dataclass
class Server:
    """A started HTTP server; `port` is the real one (useful when asked for port 0)."""

    http: HTTPServer
    host: str
    port: int

    async def close(self) -> None:
        self.http.stop()
        await self.http.close_all_connections()


def start_server(app: tornado.web.Application, host: str, port: int) -> Server:
    """Listen on host:port in the running loop; requests are served from now on."""
    http = HTTPServer(app, xheaders=True, max_body_size=MAX_BODY_BYTES)
    sockets = bind_sockets(port, address=host, family=socket.AF_UNSPEC)
    http.add_sockets(sockets)
    return Server(http=http, host=host, port=sockets[0].getsockname()[1])
