"""The `kefu` command.

A person typing `kefu --help` or `kefu digest` waits for every module imported, so this
module imports only argparse (and the language list) at the top; each sub-command imports
what it needs when it runs (python-telegram-bot only for `run`, Alembic only where
migrations are applied). bench/cli.py times them.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from bot.i18n import SUPPORTED

if TYPE_CHECKING:
    from bot.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    from bot.config import load_settings

    return load_settings(getattr(args, "config", None))


def cmd_run(args: argparse.Namespace) -> int:
    """Start the bot (long polling by default, or [telegram] mode = "webhook")."""
    settings = _settings(args)
    from telegram.error import InvalidToken

    from bot.app import build_application
    from bot.process import logs, serve

    secret = settings.telegram.secret_token
    logs.configure(
        level=settings.ops.log_level,
        json_lines=settings.ops.log_json,
        secrets=[settings.token or "", secret.get_secret_value() if secret else ""],
    )
    try:
        app = build_application(settings)
        if (failed := _upgrade_in_child(args)) != 0:
            return failed
        return serve.run_process(app, settings)
    except InvalidToken:
        # PTB's own message quotes the token in full: never let it reach a log.
        print(
            "kefu: Telegram rejected the bot token; check [telegram] token "
            "(or KEFU_TELEGRAM__TOKEN) against what @BotFather shows",
            file=sys.stderr,
        )
        return 2


def _upgrade_in_child(args: argparse.Namespace) -> int:
    """`kefu db upgrade` as a process of its own, with the same settings: Alembic (several
    MB of modules) then never enters the long-running bot's memory. Its exit code; it has
    said what went wrong itself."""
    import subprocess

    config = ["--config", args.config] if args.config else []
    argv = [sys.executable, "-m", "bot.cli", *config, "db", "upgrade"]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, check=False).returncode


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply the database migrations and exit."""
    settings = _settings(args)
    from bot import migrate

    migrate.upgrade_sync(settings.database.url)
    print(f"database is up to date ({_safe_url(settings.database.url)})")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the configuration and say what is wrong, key by key."""
    from bot.config import ConfigError

    settings = _settings(args)
    if not settings.token:
        raise ConfigError("[telegram] token (or KEFU_TELEGRAM__TOKEN): missing")
    print("configuration is valid")
    print(f"  database: {_safe_url(settings.database.url)}")
    print(f"  team time zone: {settings.team.timezone}, language: {settings.team.language}")
    return 0


def cmd_import_orders(args: argparse.Namespace) -> int:
    """Import daily order counts from a CSV with the header date,orders (all rows or none)."""
    from pathlib import Path

    from bot.cli.orders import import_orders_file

    return import_orders_file(_settings(args), Path(args.file))


def cmd_import_sales(args: argparse.Namespace) -> int:
    """Import repeat sales for commission from a CSV date,agent,amount[,order] (all or none)."""
    from pathlib import Path

    from bot.cli.orders import import_sales_file

    return import_sales_file(_settings(args), Path(args.file))


def cmd_digest(args: argparse.Namespace) -> int:
    """Print the daily digest from the database, as text or --json (no Telegram needed)."""
    from bot.cli.offline import print_digest

    return print_digest(_settings(args), day=args.date, as_json=args.json)


def cmd_report(args: argparse.Namespace) -> int:
    """Print a month's scoreboard and pay; --csv FILE also writes the pay sheet."""
    from bot.cli.offline import print_report

    return print_report(_settings(args), month=args.month, csv_path=args.csv)


def cmd_export(args: argparse.Namespace) -> int:
    """Write one CSV row per ticket touched in a month, with every field and timing."""
    from bot.cli.offline import write_export

    return write_export(_settings(args), month=args.month, csv_path=args.csv)


def cmd_demo(args: argparse.Namespace) -> int:
    """Fill a temporary database with a sample month, print its digest and draw its chart."""
    from bot.cli.demo import run_demo

    return run_demo(out=args.out, seed=args.seed, language=args.language)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


Command = Callable[[argparse.Namespace], int]


def _config_option() -> argparse.ArgumentParser:
    """`--config`, accepted before the sub-command and after it (as most tools do).

    SUPPRESS keeps a parser that was not given it from overwriting one that was: the
    last one given wins, and none given leaves `$KEFU_CONFIG` / ./config.toml to decide.
    """
    option = argparse.ArgumentParser(add_help=False)
    option.add_argument(
        "--config",
        "-c",
        default=argparse.SUPPRESS,
        help="config file (default: $KEFU_CONFIG, else ./config.toml)",
    )
    return option


def parser() -> argparse.ArgumentParser:
    config = [_config_option()]
    root = argparse.ArgumentParser(
        prog="kefu",
        description="Kefu: after-sales tickets, surveys and KPIs on Telegram.",
        parents=config,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help=cmd_run.__doc__, parents=config).set_defaults(func=cmd_run)
    db = commands.add_parser("db", help="database maintenance", parents=config).add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help=cmd_db_upgrade.__doc__, parents=config).set_defaults(
        func=cmd_db_upgrade
    )
    commands.add_parser("check-config", help=cmd_check_config.__doc__, parents=config).set_defaults(
        func=cmd_check_config
    )
    orders = commands.add_parser("import-orders", help=cmd_import_orders.__doc__, parents=config)
    orders.add_argument("file", metavar="FILE.csv")
    orders.set_defaults(func=cmd_import_orders)
    sales = commands.add_parser("import-sales", help=cmd_import_sales.__doc__, parents=config)
    sales.add_argument("file", metavar="FILE.csv")
    sales.set_defaults(func=cmd_import_sales)
    digest = commands.add_parser("digest", help=cmd_digest.__doc__, parents=config)
    digest.add_argument("--date", metavar="YYYY-MM-DD", help="digest day (default: today)")
    digest.add_argument("--json", action="store_true", help="JSON for scripts")
    digest.set_defaults(func=cmd_digest)
    report = commands.add_parser("report", help=cmd_report.__doc__, parents=config)
    report.add_argument("--month", metavar="YYYY-MM", help="default: yesterday's month")
    report.add_argument("--csv", metavar="FILE", help="also write the pay sheet as CSV")
    report.set_defaults(func=cmd_report)
    export = commands.add_parser("export", help=cmd_export.__doc__, parents=config)
    export.add_argument("--month", metavar="YYYY-MM", required=True)
    export.add_argument("--csv", metavar="FILE", required=True, help="where to write the CSV")
    export.set_defaults(func=cmd_export)
    demo = commands.add_parser("demo", help=cmd_demo.__doc__)
    demo.add_argument("--out", metavar="DIR", help="where to write (default: a new temp dir)")
    demo.add_argument("--seed", type=int, default=2026, help="same seed, same month")
    demo.add_argument("--language", choices=SUPPORTED, default="en")
    demo.set_defaults(func=cmd_demo)
    return root


def console() -> NoReturn:
    """The `kefu` command: `main`, then leave without Python's own teardown.

    Once a command is done, the interpreter's shutdown frees the objects of several hundred
    imported modules one by one: about 0.3 s of CPU, a third of `kefu digest --json`. By the
    time `main` returns nothing is left running (the database disposed, the bot stopped,
    the chart process closed), so output is flushed, logging shut down, and the process
    ends with `main`'s exit code.
    """
    code = main()
    import contextlib
    import logging
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (`kefu digest | head`) has nobody left to read the rest.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)  # --help and usage errors end here, nothing imported
    func: Command = args.func
    from bot.config import ConfigError

    try:
        return func(args)
    except ConfigError as exc:
        print(f"kefu: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        from bot.process import logs

        # Last resort, outside logging's token filter: scrub the traceback the same way.
        print(logs.RedactSecrets([]).scrub(traceback.format_exc()), file=sys.stderr)
        return 1
