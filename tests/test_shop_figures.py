"""The rest of the shop figures and the complete pay sheet, end to end: a March scripted in
chat, every new figure worked out by hand below, compared in the digest JSON, the monthly
report's CSV and the chat text.

What the month holds (local times, Asia/Shanghai):
- #1 Alex, product: logged 03-02 10:00, resolved 03-03 10:00, refund 40 requested 03-02 10:00
  and recorded 03-04 22:00 (60 h); reopened 04-01 08:00, after the month.
- #2 Alex, logistics: logged 03-05 10:00, resolved (no root cause) 03-07 10:00; refund 25 on
  03-08 10:00 without requested: (72 h from receipt); /intervened on 03-15; a sale of 333.33.
- #3 Bo, service: received 03-08 09:00, logged 03-10 09:00, resolved 03-10 12:00; dispute
  refund 15 on 03-10 21:00 (60 h from receipt), no /intervened; reopened 03-12, a complaint,
  resolved again 03-13 08:00 (119 h: speed 8).
- #4 Bo, product: logged 03-20 10:00, resolved 03-21 10:00; refund 10 requested 03-21 (00:00)
  recorded 03-21 12:00 (12 h); a sale of 166.65 (and one of 50 taken back).
- Imported sales: Alex 100.01 on 03-15; Bo 999 on 02-27 (February: not March's).
- Orders 100 on 03-02 and 100 on 03-20. DSR 03-01 4.80/4.90/4.70, 03-20 4.85/4.88/4.70, and
  04-01 4.00 × 3 (after the digest's day). On 04-01: /intervened 1 and a complaint on #1.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.cli.orders import import_sales_file
from bot.i18n import use_language
from bot.services import digest as digests
from bot.services import monthly_report
from handlers import digest_render
from tests.harness import AGENT, AGENT2, MANAGER, Kefu, settings_for
from tests.steps import approx, ok, travel

TARGETS = {
    "refund_rate_max": 0.05,  # 4 / 200 = 2 %: met
    "refund_hours_max": 48,  # median 60 h: missed — the bonus is forfeit for everyone
    "intervention_rate_max": 0.02,  # 2 / 200 = 1 %: met
    "dsr_min": 4.7,  # lowest of 4.85 / 4.88 / 4.70: met, just
    "internal_complaints_max": 1,  # one in March: met
    "first_time_fix_rate_min": 0.5,  # 2 of 4 never reopened: met
}
SCORING = {"commission_rate": "0.003", "team_bonus": "200"}


async def march(kefu: Kefu, tmp_path: Path) -> None:
    travel("2026-02-27 09:00")
    for person in (MANAGER, AGENT, AGENT2):
        await kefu.say(person, "/help")
    await ok(kefu, MANAGER, "/skill @alex_agent 5")
    await ok(kefu, MANAGER, "/skill @bo_agent 8")
    travel("2026-03-02 10:00")
    await ok(kefu, AGENT, "/ticket Kettle leaks cat:product")
    travel("2026-03-03 10:00")
    await ok(kefu, AGENT, "/resolve 1 root")
    travel("2026-03-04 22:00")
    await ok(kefu, AGENT, "/refund 1 40 requested:2026-03-02T10:00")
    travel("2026-03-05 10:00")
    await ok(kefu, AGENT, "/ticket Parcel late cat:logistics")
    travel("2026-03-07 10:00")
    await ok(kefu, AGENT, "/resolve 2 noroot")
    travel("2026-03-08 10:00")
    await ok(kefu, AGENT, "/refund 2 25")
    await ok(kefu, AGENT, "/sale 2 333.33")
    travel("2026-03-10 09:00")
    await ok(kefu, AGENT2, "/ticket Wrong size cat:service received:2026-03-08T09:00")
    travel("2026-03-10 12:00")
    await ok(kefu, AGENT2, "/resolve 3 root")
    travel("2026-03-10 21:00")
    await ok(kefu, AGENT2, "/refund 3 15 dispute")
    travel("2026-03-12 09:00")
    await ok(kefu, AGENT2, "/reopen 3")
    travel("2026-03-12 10:00")
    await ok(kefu, MANAGER, "/complaint 3 promised a call back, never called")
    travel("2026-03-13 08:00")
    await ok(kefu, AGENT2, "/resolve 3 root")
    travel("2026-03-15 10:00")
    await ok(kefu, AGENT, "/intervened 2")
    sales = tmp_path / "sales.csv"
    sales.write_text("date,agent,amount\n2026-03-15,@alex_agent,100.01\n2026-02-27,@bo_agent,999\n")
    assert await asyncio.to_thread(import_sales_file, kefu.settings, sales, out=io.StringIO()) == 0
    travel("2026-03-20 10:00")
    await ok(kefu, AGENT2, "/ticket Lid scratched cat:product")
    await ok(kefu, MANAGER, "/dsr 2026-03-01 4.80 4.90 4.70")
    await ok(kefu, MANAGER, "/dsr 2026-03-20 4.85 4.88 4.7")
    travel("2026-03-21 10:00")
    await ok(kefu, AGENT2, "/resolve 4 root")
    travel("2026-03-21 12:00")
    await ok(kefu, AGENT2, "/refund 4 10 requested:2026-03-21")
    travel("2026-03-25 10:00")
    await ok(kefu, AGENT2, "/sale 4 166.65")
    await ok(kefu, AGENT2, "/sale 4 50")
    await ok(kefu, AGENT2, "/sale 4 cancel")
    travel("2026-03-31 12:00")
    await ok(kefu, AGENT, "/orders 2026-03-02 100")
    await ok(kefu, AGENT, "/orders 2026-03-20 100")
    # After the month: the reopen still counts against March's first-time fix; the rest is
    # April's (or after the digest's day, for the DSR).
    travel("2026-04-01 08:00")
    await ok(kefu, AGENT, "/reopen 1")
    travel("2026-04-01 08:30")
    await ok(kefu, AGENT, "/intervened 1")
    await ok(kefu, MANAGER, "/complaint 1 rude on the phone")
    await ok(kefu, MANAGER, "/dsr 2026-04-01 4.00 4.00 4.00")
    travel("2026-04-01 09:30")


# Alex: #2 resolved in March (speed 10, quality 8) and #1 open past 5 days at the month's end
# (speed 5): speed 7.5, quality 8, skill 5 → 40 × (75 + 80 + 50) / 300 = 27.333333.
# Base 1000 × 27.333333 / 40 = 683.333325; commission 0.003 × (333.33 + 100.01) = 1.30002;
# pay 684.633345 → 684.63, the base part showing 683.33.
# Bo: #3 (speed 8, quality 10) and #4 (speed 10, quality 10), skill 8 → 40 × 270 / 300 = 36.
# Base 900; commission 0.003 × 166.65 = 0.49995; pay 900.49995 → 900.50 (commission 0.50).
ALEX_TOTAL = 27.333333
AGENTS: list[dict[str, Any]] = [
    {
        "user_id": AGENT2.user_id,
        "name": "Bo",
        "tickets": 2,
        "satisfaction": None,
        "speed": 9.0,
        "quality": 10.0,
        "skill": 8.0,
        "total": 36.0,
        "max_total": 40,
        "pay": "900.50",
        "first_time_fix_rate": 0.5,  # #3 came back, #4 did not
        "internal_complaints": 1,
        "sales": "166.65",
        "pay_parts": {"base": "900.00", "commission": "0.50", "bonus": "0.00"},
        "median_reply_minutes": None,  # no customer wrote to the bot in this story
    },
    {
        "user_id": AGENT.user_id,
        "name": "Alex",
        "tickets": 1,
        "satisfaction": None,
        "speed": 7.5,
        "quality": 8.0,
        "skill": 5.0,
        "total": ALEX_TOTAL,
        "max_total": 40,
        "pay": "684.63",
        "first_time_fix_rate": 0.5,  # #1 came back (in April), #2 did not
        "internal_complaints": 0,
        "sales": "433.34",
        "pay_parts": {"base": "683.33", "commission": "1.30", "bonus": "0.00"},
        "median_reply_minutes": None,
    },
]
EXPECTED: dict[str, Any] = {
    "refunds": {
        "orders": 200,
        "refunds": 4,
        "refund_rate": 0.02,
        "dispute_refunds": 1,
        "dispute_refund_rate": 0.005,
        "quality_refunds": 2,
        "quality_refund_rate": 0.01,
        # 60 (#1, from requested:), 72 (#2, from receipt), 60 (#3), 12 (#4): (60 + 60) / 2.
        "median_refund_hours": 60.0,
        # #2 (/intervened 03-15) and #3 (its dispute refund, 03-10); #1's is on 04-01.
        "interventions": 2,
        "intervention_rate": 0.01,
    },
    "first_time_fix_rate": 0.5,
    "internal_complaints": 1,
    "dsr": {
        "date": "2026-03-20",
        "description": 4.85,
        "service": 4.88,
        "logistics": 4.7,
        "change": {"description": 0.05, "service": -0.02, "logistics": 0.0},
    },
    "agents": AGENTS,
    "targets": [
        {"name": "refund_rate_max", "target": 0.05, "actual": 0.02, "met": True},
        {"name": "refund_hours_max", "target": 48.0, "actual": 60.0, "met": False},
        {"name": "intervention_rate_max", "target": 0.02, "actual": 0.01, "met": True},
        {"name": "dsr_min", "target": 4.7, "actual": 4.7, "met": True},
        {"name": "internal_complaints_max", "target": 1.0, "actual": 1.0, "met": True},
        {"name": "first_time_fix_rate_min", "target": 0.5, "actual": 0.5, "met": True},
    ],
    "bonus_at_risk": True,
}


def config(tmp_path: Path, db_url: str, name: str, **targets: float) -> Path:
    path = tmp_path / name
    lines = [f"{key} = {value}" for key, value in {**TARGETS, **targets}.items()]
    scoring = [f'{key} = "{value}"' for key, value in SCORING.items()]
    path.write_text(
        f'[database]\nurl = "{db_url}"\n[scoring]\n'
        + "\n".join(scoring)
        + "\n[targets]\n"
        + "\n".join(lines)
        + "\n"
    )
    return path


async def printed_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert await asyncio.to_thread(cli.main, args) == 0
    return json.loads(capsys.readouterr().out)


async def test_every_new_figure_in_the_json_the_csv_and_the_chat(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kefu = await Kefu(settings_for(db_url, targets=TARGETS, scoring=SCORING)).start()
    try:
        await march(kefu, tmp_path)
        strict = config(tmp_path, db_url, "strict.toml")
        found = await printed_json(
            ["-c", str(strict), "digest", "--date", "2026-04-01", "--json"], capsys
        )
        for index, agent in enumerate(AGENTS):
            assert found["agents"][index] == approx(agent)
        assert {key: found[key] for key in EXPECTED} == approx(EXPECTED)
        # Every earlier key is still there.
        assert {"tickets", "surveys", "top_causes", "series", "month"} <= set(found)

        # Relax the one missed target: nothing is missed, and everyone gets the bonus.
        relaxed = config(tmp_path, db_url, "relaxed.toml", refund_hours_max=72)
        paid = await printed_json(
            ["-c", str(relaxed), "digest", "--date", "2026-04-01", "--json"], capsys
        )
        assert paid["bonus_at_risk"] is False
        assert [(a["pay"], a["pay_parts"]) for a in paid["agents"]] == [
            ("1100.50", {"base": "900.00", "commission": "0.50", "bonus": "200.00"}),
            ("884.63", {"base": "683.33", "commission": "1.30", "bonus": "200.00"}),
        ]

        # The monthly report and its CSV, in chat.
        table, document = await kefu.say(MANAGER, "/report 2026-03")
        rows = list(csv.reader(io.StringIO((document.file_bytes or b"").decode("utf-8-sig"))))
        header = rows[0]
        assert header[: len(monthly_report.CSV_HEADER)] == list(monthly_report.CSV_HEADER)
        picked = ["agent", "total", "pay", "team_targets_met", "first_time_fix_rate"]
        picked += ["internal_complaints", "sales", "pay_base", "commission", "bonus"]
        assert [[row[header.index(name)] for name in picked] for row in rows[1:]] == [
            ["Bo", "36.00", "900.50", "no", "0.50", "1", "166.65", "900.00", "0.50", "0.00"],
            ["Alex", "27.33", "684.63", "no", "0.50", "0", "433.34", "683.33", "1.30", "0.00"],
        ]
        report = table.text or ""
        assert "Refund time, median hours: 60 ❌ (≤ 48)" in report
        assert "DSR, lowest of the three: 4.7 ✅ (≥ 4.7)" in report
        assert "First-time fix (month): 50.00% ✅ (≥ 50.00%)" in report
        assert "❌ <b>Team bonus forfeited</b>" in report

        # The digest in chat.
        built = await digests.build_digest(kefu.runtime.db, kefu.settings, date(2026, 4, 1))
        text = digest_render.digest_text(built)
        for line in (
            "Refund time, median: 60 h ❌ (≤ 48)",
            "Platform interventions: 2 · 1.00% ✅ (≤ 2.00%)",
            "First-time fix: 50.00% ✅ (≥ 50.00%)",
            "Internal complaints: 1 ✅ (≤ 1)",
            "DSR (2026-03-20): description 4.85 (+0.05) · service 4.88 (-0.02) · "
            "logistics 4.70 (+0.00) ✅ (≥ 4.7)",
            "1. Bo — 36/40 · 900.50 CNY",
            "    first-time fix 50.00% · complaints 1 · pay: base 900.00 + commission 0.50 "
            "+ bonus 0.00",
            "2. Alex — 27.33/40 · 684.63 CNY",
            "    first-time fix 50.00% · complaints 0 · pay: base 683.33 + commission 1.30 "
            "+ bonus 0.00",
        ):
            assert line in text.split("\n"), line
        with use_language("zh_TW"):
            chinese = digest_render.digest_text(built)
        assert "退款時長中位數：60 小時 ❌ (≤ 48)" in chinese
        assert "一次修好率：50.00% ✅ (≥ 50.00%)" in chinese
    finally:
        await kefu.stop()
