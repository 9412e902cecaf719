"""What runs on a clock. Each job claims its work in the database before it sends anything."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot import clock, outbox
from bot.db import retry_can_help
from bot.outbox.dispatcher import deliver_due
from bot.process.runtime import Runtime, died_on_this_host
from bot.services import conversation, digest, followups, surveys, updates

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


async def sweep_followups(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue the reminders and escalations that came due; the outbox job sends them."""
    rt = runtime_of(context)
    result = await followups.sweep(rt.db, rt.settings)
    if result.reminders or result.escalations:
        log.info("follow-up sweep queued %s", result)


async def sweep_surveys(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue the survey reminders and expiries that came due; the outbox job sends them."""
    rt = runtime_of(context)
    result = await surveys.sweep(rt.db, rt.settings.survey)
    if result.reminded or result.expired or result.repaired:
        log.info("survey sweep: %s", result)
        kick(context.application)


async def sweep_reply_waits(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue the reminders and escalations of customers waiting too long for an answer."""
    rt = runtime_of(context)
    result = await conversation.sweep(rt.db, rt.settings)
    if result.reminders or result.escalations:
        log.info("reply-clock sweep queued %s", result)
        kick(context.application)


DIGEST_RETRY_SECONDS = 300


async def post_daily_digest(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue the day's digest for the team chat once its time has passed, once per day."""
    rt = runtime_of(context)
    try:
        day = await digest.claim_due(rt.db, rt.settings)
    except Exception as exc:
        if retry_can_help(exc):
            # Nothing was claimed, so trying again later cannot post twice.
            log.warning(
                "daily digest: could not build or queue it; retrying in 5 minutes", exc_info=exc
            )
            context.application.job_queue.run_once(  # type: ignore[union-attr]
                post_daily_digest, DIGEST_RETRY_SECONDS, name="digest-retry"
            )
        else:
            await _digest_cannot_be_built(rt, exc)
        return
    if day is not None:
        log.info("daily digest for %s queued for the team chat", day)
        kick(context.application)


async def _digest_cannot_be_built(rt: Runtime, exc: Exception) -> None:
    """Say once, in the log and to the managers, that a retry would fail the same way."""
    day = digest.due_day(rt.settings, clock.now())
    # A rule's own words (e.g. scoring refusing the pay tiers) help the managers; anything
    # else is a bug whose details belong in the log only.
    reason = str(exc)[:300] if isinstance(exc, ValueError) else type(exc).__name__
    if await digest.report_failure(rt.db, day=day, reason=reason):
        log.error(
            "daily digest for %s cannot be built; not retrying (the managers are told): "
            "fix the cause, then /digest posts it",
            day,
            exc_info=exc,
        )
    else:
        log.warning("daily digest for %s still cannot be built: %s", day, reason)


def kick(app: Application) -> None:
    """Deliver now rather than at the next tick (after a handler queued something)."""
    if app.job_queue is not None:
        app.job_queue.run_once(deliver_outbox, 0, name="outbox-now")


async def recover_after_crash(rt: Runtime) -> None:
    """Free what a crashed predecessor on this host had claimed, so it goes out (or is
    handled) now, not when its lease runs out."""
    released = await outbox.release_claims(rt.db, orphaned=died_on_this_host)
    if released:
        log.warning("released %s outbox messages claimed by a process that is gone", released)
    unfinished = await updates.release_claims(rt.db, orphaned=died_on_this_host)
    if unfinished:
        log.warning(
            "%s updates were left unfinished by a process that is gone; "
            "they are handled again when Telegram redelivers them",
            unfinished,
        )


def schedule(app: Application) -> None:
    assert app.job_queue is not None, "install python-telegram-bot[job-queue]"
    app.job_queue.run_repeating(
        deliver_outbox,
        interval=OUTBOX_INTERVAL_SECONDS,
        first=0.5,
        name="outbox",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    followup_every = app.bot_data["runtime"].settings.followup.check_interval_minutes
    app.job_queue.run_repeating(
        sweep_followups,
        interval=timedelta(minutes=followup_every),
        first=5,
        name="followup-sweep",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    app.job_queue.run_repeating(
        forget_old_updates, interval=6 * 3600, first=60, name="forget-updates"
    )
    app.job_queue.run_repeating(
        sweep_surveys,
        interval=app.bot_data["runtime"].settings.survey.check_interval_seconds,
        first=5,
        name="survey-sweep",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    settings = app.bot_data["runtime"].settings
    app.job_queue.run_repeating(
        sweep_reply_waits,
        interval=settings.conversation.check_interval_seconds,
        first=7,
        name="reply-sweep",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    if settings.digest.enabled:
        at = settings.digest.at.replace(tzinfo=settings.team.tz)
        app.job_queue.run_daily(post_daily_digest, at, name="digest")
        # A digest missed while the bot was down goes out on start; the claim keeps it to one.
        app.job_queue.run_once(post_daily_digest, 3, name="digest-on-start")
