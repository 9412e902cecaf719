"""`kefu import-orders FILE.csv`: every row is checked, and one bad row imports nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot import clock
from bot.cli import main
from bot.db import Database
from bot.models import DailyOrders
from scoring import local_day

SHANGHAI = "Asia/Shanghai"


def config_file(tmp_path: Path, db_url: str, language: str = "en") -> Path:
    path = tmp_path / "kefu.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n\n[team]\ntimezone = "{SHANGHAI}"\n'
        f'language = "{language}"\n',
        encoding="utf-8",
    )
    return path


def csv_file(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def stored(db_url: str) -> dict[str, int]:
    async def read() -> dict[str, int]:
        db = Database(db_url)
        try:
            async with db.transaction() as session:
                rows = await session.exec(select(DailyOrders))
                return {row.day.isoformat(): row.orders for row in rows}
        finally:
            await db.dispose()

    return asyncio.run(read())


def tomorrow() -> str:
    return (local_day(clock.now(), ZoneInfo(SHANGHAI)) + timedelta(days=1)).isoformat()


def test_a_good_file_is_imported_in_one_go(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, db_url)
    first = csv_file(tmp_path, "date,orders\n2026-02-02,999\n", "first.csv")
    assert main(["--config", str(config), "import-orders", str(first)]) == 0
    capsys.readouterr()
    # A spreadsheet export: byte-order mark, header in capitals, blank lines, CRLF.
    text = "\ufeffDate, Orders\r\n2026-02-01,100\r\n\r\n2026-02-02,150\r\n2026-02-03, 100\r\n\r\n"
    exit_code = main(["--config", str(config), "import-orders", str(csv_file(tmp_path, text))])
    out, err = capsys.readouterr()
    assert exit_code == 0, err
    assert out.strip() == (
        "Imported 3 days (2026-02-01 … 2026-02-03), 350 orders in all; "
        "1 of those days replaced an earlier count."
    )
    assert err == ""
    assert stored(db_url) == {"2026-02-01": 100, "2026-02-02": 150, "2026-02-03": 100}


def test_one_bad_row_imports_nothing_and_every_problem_is_named(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, db_url)
    assert (
        main(
            [
                "--config",
                str(config),
                "import-orders",
                str(csv_file(tmp_path, "date,orders\n2026-01-01,7\n", "seed.csv")),
            ]
        )
        == 0
    )
    capsys.readouterr()
    text = (
        "date,orders\n"
        "2026-02-01,100\n"  # line 2: fine
        "2026-02-30,100\n"  # line 3: no such day
        "01/02/2026,100\n"  # line 4: wrong format
        "2026-02-02,-5\n"  # line 5: negative
        "2026-02-03,1.5\n"  # line 6: not whole
        "2026-02-01,120\n"  # line 7: duplicate of line 2
        f"{tomorrow()},10\n"  # line 8: future
        "2026-02-04\n"  # line 9: one column
        "2026-01-01,8\n"  # line 10: fine (would replace the seed)
    )
    exit_code = main(["--config", str(config), "import-orders", str(csv_file(tmp_path, text))])
    out, err = capsys.readouterr()
    assert exit_code == 1
    assert out == ""
    assert err.splitlines() == [
        "Nothing was imported: 7 problem(s).",
        "line 3: “2026-02-30” is not a date; write it as YYYY-MM-DD, e.g. 2026-03-01.",
        "line 4: “01/02/2026” is not a date; write it as YYYY-MM-DD, e.g. 2026-03-01.",
        "line 5: “-5” is not an order count; write a whole number, 0 or more.",
        "line 6: “1.5” is not an order count; write a whole number, 0 or more.",
        "line 7: 2026-02-01 is already on line 2.",
        f"line 8: {tomorrow()} is in the future; orders can be counted only for days that have begun.",
        "line 9: Expected 2 columns (date,orders), found 1.",
    ]
    assert stored(db_url) == {"2026-01-01": 7}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("day,count\n2026-02-01,1\n", "line 1: The first line must be the header date,orders."),
        ("", "line 1: The first line must be the header date,orders."),
        ("date,orders\n\n", "line 1: The file has no rows after the header."),
    ],
)
def test_a_file_without_its_header_or_rows_is_refused(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    config = config_file(tmp_path, db_url)
    assert main(["--config", str(config), "import-orders", str(csv_file(tmp_path, text))]) == 1
    assert expected in capsys.readouterr().err
    assert stored(db_url) == {}


def test_unreadable_files_are_reported(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, db_url)
    missing = tmp_path / "missing.csv"
    assert main(["--config", str(config), "import-orders", str(missing)]) == 1
    assert f"Cannot read {missing}: No such file or directory" in capsys.readouterr().err
    binary = tmp_path / "orders.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00")
    assert main(["--config", str(config), "import-orders", str(binary)]) == 1
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_messages_follow_the_team_language(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, db_url, language="zh_CN")
    bad = csv_file(tmp_path, "date,orders\n2026-02-01,x\n")
    assert main(["--config", str(config), "import-orders", str(bad)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "没有导入任何数据：发现 1 个问题。",
        "第 2 行：“x”不是订单数；请写一个大于或等于 0 的整数。",
    ]


def test_the_kefu_command(db_url: str, tmp_path: Path) -> None:
    config = config_file(tmp_path, db_url)
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
    text = "date,orders\n" + "".join(f"{d.isoformat()},{i}\n" for i, d in enumerate(days))
    kefu = Path(sys.executable).parent / "kefu"
    done = subprocess.run(
        [str(kefu), "--config", str(config), "import-orders", str(csv_file(tmp_path, text))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "Imported 365 days (2025-01-01 … 2025-12-31), 66430 orders in all; "
        "0 of those days replaced an earlier count."
    )
    assert sum(stored(db_url).values()) == sum(range(365))
