"""The `kefu` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bot import logs, migrate
from bot.config import ConfigError, Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    """Start the bot (long polling by default)."""
    settings = _settings(args)
    from bot.app import ALLOWED_UPDATES, build_application

    logs.configure(
        level=settings.ops.log_level,
        json_lines=settings.ops.log_json,
        secrets=[settings.token or ""],
    )
    app = build_application(settings)
    migrate.upgrade_sync(settings.database.url)
    app.run_polling(allowed_updates=ALLOWED_UPDATES, timeout=int(settings.telegram.poll_timeout))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply the database migrations and exit."""
    settings = _settings(args)
    migrate.upgrade_sync(settings.database.url)
    print(f"database is up to date ({_safe_url(settings.database.url)})")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the configuration and say what is wrong, key by key."""
    settings = _settings(args)
    if not settings.token:
        raise ConfigError("[telegram] token (or KEFU_TELEGRAM__TOKEN): missing")
    print("configuration is valid")
    print(f"  database: {_safe_url(settings.database.url)}")
    print(f"  team time zone: {settings.team.timezone}, language: {settings.team.language}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


Command = Callable[[argparse.Namespace], int]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="kefu", description="Kefu: after-sales tickets, surveys and KPIs on Telegram."
    )
    root.add_argument(
        "--config", "-c", help="config file (default: $KEFU_CONFIG, else ./config.toml)"
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help=cmd_run.__doc__).set_defaults(func=cmd_run)
    db = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help=cmd_db_upgrade.__doc__).set_defaults(func=cmd_db_upgrade)
    commands.add_parser("check-config", help=cmd_check_config.__doc__).set_defaults(
        func=cmd_check_config
    )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except ConfigError as exc:
        print(f"kefu: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
