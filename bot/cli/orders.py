"""`kefu import-orders FILE.csv` and `kefu import-sales FILE.csv`: read the file, hand it to
its service, report every bad row or what was imported."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO, TypeVar

from bot import eventloop
from bot.config import Settings
from bot.db import Database, DatabaseUnavailable
from bot.i18n import _, use_language
from bot.services import orders, sales
from bot.services.csv_import import ImportRejected

Summary = TypeVar("Summary")


def import_orders_file(
    settings: Settings, path: Path, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Import every row or none; exit status 0 when imported, 1 when nothing was."""

    def told(summary: orders.ImportSummary) -> str:
        return _(
            "Imported %(days)s days (%(first)s … %(last)s), %(orders)s orders in all; "
            "%(replaced)s of those days replaced an earlier count."
        ) % {
            "days": summary.days,
            "first": summary.first.isoformat(),
            "last": summary.last.isoformat(),
            "orders": summary.orders,
            "replaced": summary.replaced,
        }

    return _import_file(settings, path, orders.import_csv, told, out=out, err=err)


def import_sales_file(
    settings: Settings, path: Path, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Import every sales row or none; exit status 0 when imported, 1 when nothing was."""

    def told(summary: sales.SalesImport) -> str:
        return _(
            "Imported %(rows)s sales (%(first)s … %(last)s), %(total)s %(currency)s in all, "
            "for %(agents)s agent(s)."
        ) % {
            "rows": summary.rows,
            "first": summary.first.isoformat(),
            "last": summary.last.isoformat(),
            "total": f"{summary.total:.2f}",
            "currency": settings.scoring.currency,
            "agents": summary.agents,
        }

    return _import_file(settings, path, sales.import_csv, told, out=out, err=err)


def _import_file(
    settings: Settings,
    path: Path,
    run: Callable[..., Awaitable[Summary]],
    told: Callable[[Summary], str],
    *,
    out: TextIO | None,
    err: TextIO | None,
) -> int:
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
            summary = eventloop.run(_run(settings, run, text))
        except ImportRejected as rejected:
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
        print(told(summary), file=out)
        return 0


async def _run(settings: Settings, run: Callable[..., Awaitable[Summary]], text: str) -> Summary:
    db = Database(settings.database.url)
    try:
        return await run(db, text, tz=settings.team.tz)
    finally:
        await db.dispose()
