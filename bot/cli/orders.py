"""`kefu import-orders FILE.csv`: read the file, hand it to the orders service, report."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.db import Database, DatabaseUnavailable
from bot.i18n import _, use_language
from bot.services import orders


def import_orders_file(
    settings: Settings, path: Path, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Import every row or none; exit status 0 when imported, 1 when nothing was."""
    out = out or sys.stdout
    err = err or sys.stderr
    with use_language(settings.team.language):
        try:
            # utf-8-sig: spreadsheet programs often save CSV with a byte-order mark.
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            print(_("%(file)s is not UTF-8 text.") % {"file": path}, file=err)
            return 1
        except OSError as exc:
            print(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror},
                file=err,
            )
            return 1
        try:
            summary = asyncio.run(_import(settings, text))
        except orders.ImportRejected as rejected:
            print(_(rejected.message) % rejected.params, file=err)
            for problem in rejected.problems:
                reason = (
                    _(problem.message) % problem.params if problem.params else _(problem.message)
                )
                print(
                    _("line %(line)s: %(reason)s") % {"line": problem.line, "reason": reason},
                    file=err,
                )
            return 1
        except DatabaseUnavailable as exc:
            print(_("The database is not reachable: %(error)s") % {"error": exc}, file=err)
            return 1
        print(
            _(
                "Imported %(days)s days (%(first)s … %(last)s), %(orders)s orders in all; "
                "%(replaced)s of those days replaced an earlier count."
            )
            % {
                "days": summary.days,
                "first": summary.first.isoformat(),
                "last": summary.last.isoformat(),
                "orders": summary.orders,
                "replaced": summary.replaced,
            },
            file=out,
        )
        return 0


async def _import(settings: Settings, text: str) -> orders.ImportSummary:
    db = Database(settings.database.url)
    try:
        return await orders.import_csv(db, text, tz=settings.team.tz)
    finally:
        await db.dispose()
