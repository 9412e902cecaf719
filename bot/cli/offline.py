"""Kefu's reports without Telegram: what `kefu digest`, `kefu report` and `kefu demo` print.

Each function opens the configured database, asks the same services the bot uses, and
prints plain text (the chat's HTML with the tags removed) or JSON. Failures a person can fix
are printed as one line and give a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from bot import eventloop
from bot.config import Settings
from bot.db import Database, DatabaseUnavailable
from bot.i18n import _, use_language
from bot.services import digest as digests
from bot.services import export, monthly_report
from bot.services.errors import KefuError
from handlers import parse

T = TypeVar("T")

# The command line has no message size limit: print every agent.
NO_LIMIT = 10**9


def _run(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        db = Database(settings.database.url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return eventloop.run(main())


def _guarded(settings: Settings, action: Callable[[], int]) -> int:
    """Run `action` in the team's language, turning expected failures into one line."""
    with use_language(settings.team.language):
        try:
            return action()
        except KefuError as refusal:
            text = _(refusal.message)
            print(f"kefu: {text % refusal.params if refusal.params else text}", file=sys.stderr)
            return 2
        except DatabaseUnavailable as exc:
            print(f"kefu: the database is not reachable: {exc}", file=sys.stderr)
            return 1
        except DBAPIError as exc:
            print(
                f"kefu: database error ({exc.orig}); is the schema up to date? "
                "Run `kefu db upgrade`.",
                file=sys.stderr,
            )
            return 1


def print_digest(settings: Settings, *, day: str | None, as_json: bool) -> int:
    """Print the digest of `day` (default: today in the team's zone) as text or JSON."""

    def action() -> int:
        target = digests.digest_day(day, settings)
        found = _run(settings, lambda db: digests.build_digest(db, settings, target))
        if as_json:
            print(json.dumps(found.to_json(), ensure_ascii=False, indent=2))
        else:
            from handlers import digest_render

            print(digest_render.plain(digest_render.digest_text(found, limit=NO_LIMIT)))
        return 0

    return _guarded(settings, action)


def write_export(settings: Settings, *, month: str, csv_path: str) -> int:
    """Write the per-ticket CSV of `month` to `csv_path` and say how many tickets it holds."""

    def action() -> int:
        target = parse.month(month)
        found = _run(
            settings, lambda db: export.tickets_of_month(db, month=target, tz=settings.team.tz)
        )
        Path(csv_path).write_bytes(found.csv_bytes())
        print(
            _("%(count)s tickets touched in %(month)s written to %(file)s.")
            % {"count": len(found.rows), "month": target.strftime("%Y-%m"), "file": csv_path}
        )
        return 0

    return _guarded(settings, action)


def print_report(settings: Settings, *, month: str | None, csv_path: str | None) -> int:
    """Print the monthly scoreboard and pay; with `csv_path`, also write the CSV there."""

    def action() -> int:
        target = parse.month(month) if month else monthly_report.default_report_month(settings)
        found = _run(settings, lambda db: monthly_report.build_report(db, settings, target))
        from handlers import digest_render

        print(digest_render.plain(digest_render.report_text(found, limit=NO_LIMIT)))
        if csv_path:
            Path(csv_path).write_bytes(found.csv_bytes())
            print(f"\nCSV: {csv_path}")
        return 0

    return _guarded(settings, action)
