"""Managers' reports in chat: /digest (the daily digest, on demand) and /report (monthly pay).

Also the `digest` notice: how the scheduled digest, queued as a snapshot by
`services.digest.claim_due`, becomes the chart (with the digest as caption when it fits)
and, when it does not fit, the text after it.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import Application

from bot import clock
from bot.i18n import N_, _, use_language
from bot.models import Role
from bot.outbox.notices import Notice, Outgoing
from bot.process.runtime import Runtime
from bot.services import digest as digests
from bot.services import export, monthly_report
from bot.services.digest import Digest
from bot.services.errors import InvalidInput
from handlers import chart_process, digest_render, parse
from handlers.common import (
    Caller,
    Context,
    Where,
    command,
    command_handler,
    reply,
    runtime,
    working,
)
from handlers.markup import esc
from scoring.months import month_of


def _one_argument(args: list[str] | None, example: str) -> str | None:
    if not args:
        return None
    if len(args) > 1:
        raise InvalidInput(N_("Give at most one argument, e.g. %(example)s"), example=example)
    return args[0]


async def _send_digest(update: Update, rt: Runtime, found: Digest) -> None:
    """The chart with the digest as its caption, or the chart and then the text."""
    message = update.effective_message
    assert message is not None
    png = await chart_process.render(found)
    caption, complete = digest_render.digest_caption(found)
    await message.reply_photo(png, caption=caption, do_quote=False)
    if not complete:
        await reply(update, digest_render.digest_text(found))


@command(
    "digest",
    N_("post the daily digest: /digest [YYYY-MM-DD]"),
    role=Role.MANAGER,
    where=Where.PRIVATE_OR_TEAM,
)
async def digest(update: Update, context: Context, caller: Caller) -> None:
    """Post the daily digest here: /digest [YYYY-MM-DD] (default: today's, about yesterday;
    tomorrow's is today so far)."""
    rt = runtime(context)
    day = digests.digest_day(_one_argument(context.args, "/digest 2026-03-01"), rt.settings)
    # Figures and chart take seconds: the chat shows "sending a photo…" from the start.
    async with working(update, ChatAction.UPLOAD_PHOTO):
        found = await digests.build_digest(rt.db, rt.settings, day)
        await _send_digest(update, rt, found)


@command(
    "report",
    N_("monthly scores and pay with a CSV: /report [YYYY-MM]"),
    role=Role.MANAGER,
    where=Where.PRIVATE_OR_TEAM,
)
async def report(update: Update, context: Context, caller: Caller) -> None:
    """The monthly scoreboard and pay with a CSV: /report [YYYY-MM] (default: yesterday's month)."""
    rt = runtime(context)
    text = _one_argument(context.args, "/report 2026-03")
    month = parse.month(text) if text else monthly_report.default_report_month(rt.settings)
    async with working(update, ChatAction.TYPING):
        found = await monthly_report.build_report(rt.db, rt.settings, month)
        await reply(update, digest_render.report_text(found))
    message = update.effective_message
    assert message is not None
    await message.reply_document(found.csv_bytes(), filename=found.csv_filename, do_quote=False)


@command(
    "export",
    N_("every ticket of a month as a CSV: /export [YYYY-MM]"),
    role=Role.MANAGER,
    where=Where.PRIVATE_OR_TEAM,
)
async def export_command(update: Update, context: Context, caller: Caller) -> None:
    """One CSV row per ticket touched in a month: /export [YYYY-MM] (default: this month)."""
    rt = runtime(context)
    tz = rt.settings.team.tz
    text = _one_argument(context.args, "/export 2026-03")
    month = parse.month(text) if text else month_of(clock.now(), tz)
    found = await export.tickets_of_month(rt.db, month=month, tz=tz)
    message = update.effective_message
    assert message is not None
    caption = _("%(count)s tickets touched in %(month)s; times in %(zone)s.") % {
        "count": len(found.rows),
        "month": month.strftime("%Y-%m"),
        "zone": rt.settings.team.timezone,
    }
    await message.reply_document(
        found.csv_bytes(), filename=found.filename, caption=caption, do_quote=False
    )


async def _render_queued(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    """One part of a queued digest: the chart, or the text when it did not fit the caption."""
    found = Digest.from_json(payload["digest"])
    with use_language(rt.settings.team.language):
        caption, complete = digest_render.digest_caption(found)
        if payload["part"] == "chart":
            png = await chart_process.render(found)
            return Outgoing(text=caption, photo=png)
        return None if complete else Outgoing(text=digest_render.digest_text(found))


async def _render_failure(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    with use_language(rt.settings.team.language):
        text = _(
            "⚠️ The daily digest of %(day)s cannot be built: %(reason)s\n"
            "It will not be retried by itself. Fix the cause (check the settings with "
            "<code>kefu check-config</code>), then ask for it with /digest %(day)s."
        )
        return Outgoing(text=text % {"day": payload["day"], "reason": esc(payload["reason"])})


NOTICES = (
    Notice(kind=digests.NOTICE_KIND, render=_render_queued),
    Notice(kind=digests.FAILED_KIND, render=_render_failure),
)


def register(app: Application) -> None:
    app.add_handler(command_handler(digest))
    app.add_handler(command_handler(report))
    app.add_handler(command_handler(export_command))
