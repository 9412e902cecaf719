"""`kefu run`: the Application, its source of updates and the HTTP server in one event loop.

Polling: PTB's updater fetches updates; /healthz and /metrics are served on `[ops] listen`
when set. Webhook: no updater; bot/process/web.py receives Telegram's POSTs on `[telegram] listen`
and every replica registers the same webhook at start (setWebhook is idempotent). Either
way SIGINT / SIGTERM stop the intake first, then let the Application finish what it holds.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot import eventloop
from bot.app import ALLOWED_UPDATES
from bot.config import ConfigError, Settings
from bot.process.web import Server, make_app, parse_listen, start_server, webhook_path

log = logging.getLogger(__name__)

SET_WEBHOOK_ATTEMPTS = 5


@contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def _listen(settings: Settings) -> tuple[str, tuple[str, int]] | None:
    """Which key says where to listen, and the address; None when nothing is served."""
    if settings.telegram.mode == "webhook":
        key = "[telegram] listen"
        return key, parse_listen(settings.telegram.listen, key)
    if settings.ops.listen:
        key = "[ops] listen"
        return key, parse_listen(settings.ops.listen, key)
    return None


def run_process(app: Application, settings: Settings) -> int:
    """`run` in an event loop of its own (bot/eventloop.py)."""
    return eventloop.run(run(app, settings))


async def run(
    app: Application,
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve until SIGINT / SIGTERM (or `stop` is set); 0 after a clean stop, 1 when
    start-up failed."""
    listen = _listen(settings)  # a bad address is reported before anything starts
    stop = stop or asyncio.Event()
    with _stop_on_signals(stop):
        if not await _reach_telegram(app, stop):
            return 0
        try:
            async with app:
                if app.post_init:
                    await app.post_init(app)
                return await _serve(app, settings, listen, stop)
        finally:
            if app.post_shutdown:
                await app.post_shutdown(app)


async def _reach_telegram(app: Application, stop: asyncio.Event) -> bool:
    """Initialise the bot (getMe), waiting out a network that is down; False if stopped first.

    A bot started during an outage, or before the network is up at boot, should come up by
    itself rather than die; a wrong token (InvalidToken) still fails at once.
    """
    delay = 1.0
    while True:
        try:
            await app.initialize()
            return True
        except InvalidToken:
            raise
        except NetworkError as exc:
            log.error(
                "cannot reach the Telegram Bot API at %s (%s); retrying in %.0f s",
                app.bot.base_url.removesuffix(app.bot.token),
                exc,
                delay,
            )
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
            return False
        except TimeoutError:
            delay = min(delay * 2, 60.0)


async def _serve(
    app: Application,
    settings: Settings,
    listen: tuple[str, tuple[str, int]] | None,
    stop: asyncio.Event,
) -> int:
    telegram = settings.telegram
    webhook = telegram.mode == "webhook"
    server: Server | None = None
    try:
        if not webhook:
            assert app.updater is not None
            await app.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, timeout=int(telegram.poll_timeout)
            )
        await app.start()
        if listen is not None:
            key, (host, port) = listen
            secret = telegram.secret_token.get_secret_value() if telegram.secret_token else None
            routes = make_app(
                app,
                webhook_path=webhook_path(telegram.webhook_url or "") if webhook else None,
                secret_token=secret,
            )
            try:
                server = start_server(routes, host, port)
            except OSError as exc:
                raise ConfigError(f"{key}: cannot listen on {host}:{port}: {exc}") from None
            log.info(
                "serving %s/healthz and /metrics on %s:%s",
                "the webhook, " if webhook else "",
                host,
                server.port,
            )
        if webhook and not await _set_webhook(app, settings):
            return 1
        await stop.wait()
        log.info("stop signal received; shutting down")
        return 0
    finally:
        if server is not None:
            await server.close()
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)


async def _set_webhook(app: Application, settings: Settings) -> bool:
    """Point Telegram at webhook_url; network trouble is retried, a refusal is final."""
    telegram = settings.telegram
    assert telegram.webhook_url is not None and telegram.secret_token is not None
    for attempt in range(1, SET_WEBHOOK_ATTEMPTS + 1):
        try:
            await app.bot.set_webhook(
                url=telegram.webhook_url,
                secret_token=telegram.secret_token.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            )
        except BadRequest as exc:
            log.error("Telegram refused the webhook %s: %s", telegram.webhook_url, exc.message)
            return False
        except NetworkError as exc:
            if attempt == SET_WEBHOOK_ATTEMPTS:
                log.error("could not reach Telegram to set the webhook: %s", exc)
                return False
            log.warning("setWebhook failed (%s); retrying in %s s", exc, 2**attempt)
            await asyncio.sleep(2**attempt)
        except TelegramError as exc:
            log.error("setWebhook failed: %s", exc)
            return False
        else:
            log.info("webhook set to %s", telegram.webhook_url)
            return True
    return False
