"""What runs on a clock. Each job claims its work in the database before it sends anything."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.dispatcher import deliver_due
from bot.runtime import Runtime
from bot.services import updates

log = logging.getLogger(__name__)

OUTBOX_INTERVAL_SECONDS = 2.0


def runtime_of(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    return context.application.bot_data["runtime"]


async def deliver_outbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send what the services queued (surveys, follow-ups, digests, notices)."""
    await deliver_due(context.bot, runtime_of(context))


async def forget_old_updates(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keep the redelivery guard's table small."""
    await updates.forget_old(runtime_of(context).db)


def kick(app: Application) -> None:  # type: ignore[type-arg]
    """Deliver now rather than at the next tick (after a handler queued something)."""
    if app.job_queue is not None:
        app.job_queue.run_once(deliver_outbox, 0, name="outbox-now")


def schedule(app: Application) -> None:  # type: ignore[type-arg]
    assert app.job_queue is not None, "install python-telegram-bot[job-queue]"
    app.job_queue.run_repeating(
        deliver_outbox,
        interval=OUTBOX_INTERVAL_SECONDS,
        first=0.5,
        name="outbox",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    app.job_queue.run_repeating(
        forget_old_updates, interval=6 * 3600, first=60, name="forget-updates"
    )
