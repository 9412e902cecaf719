"""Assembles the python-telegram-bot Application. No business logic lives here."""

from __future__ import annotations

import gc
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, Defaults
from telegram.request import BaseRequest

from bot import jobs
from bot.config import ConfigError, Settings
from bot.db import Database
from bot.outbox import notices
from bot.process.concurrency import InFlightQueue, PerPersonOrder
from bot.process.readable import ReadableUpdates
from bot.process.runtime import Runtime
from bot.process.sending import RetryingRateLimiter
from bot.process.telemetry import CountingJobQueue, Metrics
from bot.process.transport import AiohttpRequest
from bot.services import team
from handlers import (
    chart_process,
    conversation,
    conversation_notices,
    customers,
    digest,
    errors,
    followups,
    kpi,
    membership,
    menu,
    observe,
    seen,
    shop,
    start,
    strays,
    survey_notices,
    tickets,
)
from handlers import surveys as survey_handlers
from handlers import team as team_handlers

log = logging.getLogger(__name__)

UPDATE_QUEUE_SIZE = 1


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    database: Database | None = None,
) -> Application:
    """The bot, wired: handlers, error handler, jobs; `request` swaps the wire (tests)."""
    if not settings.token:
        raise ConfigError(
            "no bot token: set [telegram] token in the config file or the KEFU_TELEGRAM__TOKEN "
            "environment variable (the token @BotFather gave you)"
        )
    metrics = Metrics()
    order = PerPersonOrder(settings.telegram.concurrent_updates)
    builder = (
        Application.builder()
        .token(settings.token)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.team.tz))
        # Every Bot API call is paced, counted and retried in place through Telegram's bad
        # moments (bot/process/sending.py).
        .rate_limiter(
            RetryingRateLimiter(
                metrics,
                messages_per_second=settings.telegram.messages_per_second,
                max_retries=settings.telegram.send_retries,
            )
        )
        .job_queue(CountingJobQueue(metrics))
        # Side by side, one person's in order; off the queue only when it can start, so the
        # poller confirms to Telegram no more than is being handled (bot/process/concurrency.py).
        .concurrent_updates(order)
        .update_queue(InFlightQueue(maxsize=UPDATE_QUEUE_SIZE, order=order))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.telegram.api_base_url:
        builder = builder.base_url(settings.telegram.api_base_url)
        builder = builder.base_file_url(
            settings.telegram.api_base_file_url
            or settings.telegram.api_base_url.replace("/bot", "/file/bot")
        )
    if settings.telegram.mode == "webhook":
        # Updates arrive through bot/process/web.py, which puts them on the update queue.
        builder = builder.updater(None)
    if request is None:
        # The wire: aiohttp rather than PTB's httpx client, for a fraction of the CPU per
        # call (bot/process/transport.py); the poller's one long poll keeps a connection of its own.
        request = AiohttpRequest()
        get_updates_request = get_updates_request or AiohttpRequest(connection_pool_size=1)
    # Tests plug their fake Bot API in here.
    # An update the library cannot read must not stall the poller (bot/process/readable.py).
    builder = builder.request(request).get_updates_request(
        ReadableUpdates(get_updates_request or request)
    )
    app = builder.build()
    app.bot_data["runtime"] = Runtime(
        settings=settings,
        db=database or Database(settings.database.url, echo=settings.database.echo),
        metrics=metrics,
    )
    observe.register(app)
    seen.register(app)
    strays.register(app)
    start.register(app)
    tickets.register(app)
    survey_handlers.register(app)
    followups.register(app)
    team_handlers.register(app)
    # The order commands are registered in is the order of the menu and /help.
    kpi.register(app)
    shop.register(app)
    digest.register(app)
    membership.register(app)
    conversation.register(app)
    customers.register(app)
    strays.register_last(app)
    # What the outbox's rows of each kind become when sent (bot/outbox/notices.py).
    for notice in (
        *survey_notices.NOTICES,
        *followups.NOTICES,
        *digest.NOTICES,
        *membership.NOTICES,
        *tickets.NOTICES,
        *conversation_notices.NOTICES,
    ):
        notices.register(notice)
    app.add_error_handler(errors.on_error)
    return app


def runtime(app: Application) -> Runtime:
    return app.bot_data["runtime"]


async def _post_init(app: Application) -> None:
    rt = runtime(app)
    team_settings = rt.settings.team
    await team.sync_config(
        rt.db,
        managers=team_settings.managers,
        agents=team_settings.agents,
        chat_id=team_settings.chat_id,
    )
    code = await team.issue_setup_code(rt.db)
    if code is not None:
        # Printed, not logged: it is for the person starting the bot, and single-use.
        print(
            f"\nNo manager is configured. In your team group, send:\n\n    /setup {code}\n\n"
            "The sender becomes a manager and that group the team chat.\n",
            flush=True,
        )
    await menu.refresh_commands(app.bot, rt)
    await jobs.recover_after_crash(rt)
    jobs.schedule(app)
    # What start-up made (modules, tables, handlers) lives as long as the process: moved out
    # of the collector's sight, it is not walked again by every full collection.
    gc.collect()
    gc.freeze()
    log.info("Kefu is up as @%s", app.bot.username)


async def _post_shutdown(app: Application) -> None:
    await chart_process.close()
    await runtime(app).db.dispose()


ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.EDITED_MESSAGE,
    Update.MY_CHAT_MEMBER,
]
