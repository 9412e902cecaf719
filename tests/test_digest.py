"""The daily digest, its schedule, /digest, /report, `kefu digest|report|demo`.

A February with hand-computed answers is built through the chat commands at controlled
times; every figure of the digest and every cell of the pay sheet is checked against it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot import cli, clock
from bot.models import Outbox
from bot.services import digest as digests
from bot.services import monthly_report
from bot.services.digest import Digest
from bot.services.scoreboard import AgentLine
from bot.services.shop_figures import OldTicket, SurveyCounts, TicketCounts
from handlers import chart_process, charts, digest_render
from scoring.refunds import RefundFigures
from scoring.targets import TargetResult
from tests.fakebot import FakeTelegram, SentMessage
from tests.harness import (
    AGENT,
    AGENT2,
    CUSTOMER,
    CUSTOMER_EN,
    MANAGER,
    OTHER_GROUP,
    TEAM_CHAT,
    Kefu,
    Person,
    settings_for,
)
from tests.steps import LINK, approx, ok, travel
from tests.webtools import eventually

PNG = b"\x89PNG\r\n\x1a\n"
TARGETS = {
    "refund_rate_max": 0.01,  # 0.75 % → met
    "dispute_refund_rate_max": 0.002,  # 0.25 % → missed
    "quality_refund_rate_max": 0.005,  # 0.25 % → met
    "satisfaction_min": 8,  # 7.67 → missed
    "open_over_5d_max": 1,  # 1 → met
}


async def start(db_url: str, telegram: FakeTelegram | None = None, **sections: Any) -> Kefu:
    sections["targets"] = {**TARGETS, **sections.get("targets", {})}
    settings = settings_for(db_url, **sections)
    return await Kefu(settings, telegram=telegram).start()


@pytest.fixture
async def team(db_url: str) -> Any:
    running = await start(db_url)
    try:
        yield running
    finally:
        await running.stop()


async def log(kefu: Kefu, who: Person, when: str, text: str, customer: Person | None) -> None:
    travel(when)
    [reply] = await ok(kefu, who, f"/ticket {text}")
    if customer is not None:
        match = LINK.search(reply.text or "")
        assert match, reply.text
        await kefu.say(customer, f"/start {match.group(1)}")


async def rate(kefu: Kefu, when: str, customer: Person, label: str) -> None:
    travel(when)
    survey = kefu.telegram.last_to(customer.user_id)
    assert survey is not None and survey.buttons, "the customer got no survey"
    await kefu.press_label(customer, survey, label)


async def february(kefu: Kefu) -> None:
    """The month the expected figures below were computed from by hand (times are local)."""
    travel("2026-01-29 09:00")
    for person in (MANAGER, AGENT, AGENT2):
        await kefu.say(person, "/help")  # the bot learns names and @usernames
    await ok(kefu, MANAGER, "/skill @alex_agent 10")
    await ok(kefu, MANAGER, "/skill @bo_agent 8")
    # #1, January: its refund (day 01-29) is just outside the window 01-30 … 02-28.
    await log(kefu, AGENT, "2026-01-29 10:00", "Old case cat:product", None)
    travel("2026-01-29 12:00")
    await ok(kefu, AGENT, "/resolve 1 root")
    travel("2026-01-29 13:00")
    await ok(kefu, AGENT, "/refund 1 30")
    # #2: resolved in 24 h (speed 10), root cause fixed (quality 10), very satisfied (10).
    await log(kefu, AGENT, "2026-02-02 10:00", "Kettle leaks cat:product", CUSTOMER)
    travel("2026-02-03 10:00")
    await ok(kefu, AGENT, "/resolve 2 root")
    await rate(kefu, "2026-02-03 11:00", CUSTOMER, "非常满意")
    travel("2026-02-05 10:00")
    await ok(kefu, AGENT, "/refund 2 50")
    # #3: received 4 days before it was logged, resolved after 98 h (speed 8), quality 8.
    await log(
        kefu,
        AGENT,
        "2026-02-10 10:00",
        "Parcel late cat:logistics received:2026-02-06T10:00",
        CUSTOMER_EN,
    )
    travel("2026-02-10 12:00")
    await ok(kefu, AGENT, "/resolve 3 noroot")
    await rate(kefu, "2026-02-10 13:00", CUSTOMER_EN, "Satisfied")
    travel("2026-02-12 10:00")
    await ok(kefu, AGENT, "/refund 3 20 dispute")
    travel("2026-02-15 10:00")
    await ok(kefu, MANAGER, "/skill @bo_agent 5")
    # #4: never resolved; open 8 d 15 h when March begins, so it counts 5 for Alex's speed.
    await log(kefu, AGENT, "2026-02-20 09:00", "Parcel lost cat:logistics", None)
    # #5: open 3 d 14 h when March begins: over 3 days, not over 5.
    await log(kefu, AGENT2, "2026-02-25 10:00", "Lid scratched cat:product", None)
    # #6: received 02-21, resolved 02-28 15:00 (7 d 5 h: speed 5), quality 10, dissatisfied.
    await log(
        kefu,
        AGENT2,
        "2026-02-27 10:00",
        "Rude reply cat:service received:2026-02-21T10:00",
        CUSTOMER,
    )
    # #7: logged yesterday (02-28), still open.
    await log(kefu, AGENT2, "2026-02-28 11:00", "Invoice please cat:other", None)
    travel("2026-02-28 15:00")
    await ok(kefu, AGENT2, "/resolve 6 root")
    await rate(kefu, "2026-02-28 16:00", CUSTOMER, "不满意")
    travel("2026-02-28 17:00")
    await ok(kefu, AGENT2, "/refund 6 80")
    # Recorded on 03-01, the digest day itself: outside the window.
    travel("2026-03-01 08:00")
    await ok(kefu, AGENT2, "/refund 5 10")
    for day, count in [
        ("2026-01-29", 1000),
        ("2026-01-30", 100),
        ("2026-02-10", 200),
        ("2026-02-28", 100),
        ("2026-03-01", 500),
    ]:
        await ok(kefu, AGENT, f"/orders {day} {count}")
    travel("2026-03-01 09:30")


def _series() -> list[dict[str, Any]]:
    new = {"02-02": 1, "02-10": 1, "02-20": 1, "02-25": 1, "02-27": 1, "02-28": 1}
    resolved = {"02-03": 1, "02-10": 1, "02-28": 1}
    orders = {"01-30": 100, "02-10": 200, "02-28": 100}
    refunds = {"02-05": 1, "02-12": 1, "02-28": 1}
    points = []
    day = datetime(2026, 1, 30).date()
    while day.isoformat() < "2026-03-01":
        key = day.isoformat()[5:]
        count = orders.get(key, 0)
        points.append(
            {
                "day": day.isoformat(),
                "new": new.get(key, 0),
                "resolved": resolved.get(key, 0),
                "orders": count,
                "refunds": refunds.get(key, 0),
                "refund_rate": refunds.get(key, 0) / count if count else None,
            }
        )
        day += timedelta(days=1)
    return points


ALEX_SPEED = (10 + 8 + 5) / 3
ALEX_TOTAL = round(9 + ALEX_SPEED + 9 + 10, 6)
EXPECTED: dict[str, Any] = {
    "date": "2026-03-01",
    "partial_as_of": None,
    "refund_window": {"start": "2026-01-30", "end": "2026-02-28"},
    "tickets": {
        "new": 1,
        "resolved": 1,
        "open": 3,
        "open_over_3d": 2,
        "open_over_5d": 1,
        "oldest": [
            {"number": 4, "agent": "Alex", "age_hours": 207.0},
            {"number": 5, "agent": "Bo", "age_hours": 86.0},
            {"number": 7, "agent": "Bo", "age_hours": 13.0},
        ],
    },
    "surveys": {"sent": 1, "answered": 1, "average": 5.0, "month_average": 23 / 3},
    "refunds": {
        "orders": 400,
        "refunds": 3,
        "refund_rate": 0.0075,
        "dispute_refunds": 1,
        "dispute_refund_rate": 0.0025,
        "quality_refunds": 1,
        "quality_refund_rate": 0.0025,
        # Refund hours from receipt (no requested:): #2 72 h, #3 144 h, #6 7 d 7 h = 175 h.
        "median_refund_hours": 144.0,
        # #3's dispute refund (02-12) implies an intervention: 1 of 400 orders.
        "interventions": 1,
        "intervention_rate": 0.0025,
    },
    # #2, #3 and #6 were first resolved in February, none reopened since.
    "first_time_fix_rate": 1.0,
    "internal_complaints": 0,
    "dsr": None,
    "month": "2026-02",
    "currency": "CNY",
    "agents": [
        {
            "user_id": AGENT.user_id,
            "name": "Alex",
            "tickets": 2,
            "satisfaction": 9.0,
            "speed": ALEX_SPEED,
            "quality": 9.0,
            "skill": 10.0,
            "total": ALEX_TOTAL,
            "max_total": 40,
            "pay": "891.67",
            "first_time_fix_rate": 1.0,
            "internal_complaints": 0,
            "sales": "0.00",
            "pay_parts": {"base": "891.67", "commission": "0.00", "bonus": "0.00"},
            "median_reply_minutes": None,
        },
        {
            "user_id": AGENT2.user_id,
            "name": "Bo",
            "tickets": 1,
            "satisfaction": 5.0,
            "speed": 5.0,
            "quality": 10.0,
            "skill": 5.0,
            "total": 25.0,
            "max_total": 40,
            "pay": "625.00",
            "first_time_fix_rate": 1.0,
            "internal_complaints": 0,
            "sales": "0.00",
            "pay_parts": {"base": "625.00", "commission": "0.00", "bonus": "0.00"},
            "median_reply_minutes": None,
        },
    ],
    "targets": [
        {"name": "refund_rate_max", "target": 0.01, "actual": 0.0075, "met": True},
        {"name": "dispute_refund_rate_max", "target": 0.002, "actual": 0.0025, "met": False},
        {"name": "quality_refund_rate_max", "target": 0.005, "actual": 0.0025, "met": True},
        {"name": "satisfaction_min", "target": 8.0, "actual": 23 / 3, "met": False},
        {"name": "open_over_5d_max", "target": 1.0, "actual": 1.0, "met": True},
    ],
    "bonus_at_risk": True,
    "top_causes": [
        {"category": "logistics", "tickets": 2},
        {"category": "product", "tickets": 2},
        {"category": "other", "tickets": 1},
        {"category": "service", "tickets": 1},
    ],
    "series": _series(),
    # The follow-ups' thresholds the open counts used (the configured defaults here).
    "overdue": {"remind_after_days": 3.0, "escalate_after_days": 5.0},
    # No customer wrote to the bot in this story (tests/test_reply_clock.py has the figures).
    "conversation": {
        "customer_messages": 0,
        "replies": 0,
        "median_reply_minutes": None,
        "awaiting_reply": 0,
        "oldest_wait_minutes": None,
    },
}

CSV_ROWS = [
    list(monthly_report.CSV_HEADER),
    # agent user_id tickets satisfaction speed quality skill total max_total pay currency met
    # first_time_fix_rate internal_complaints sales pay_base commission bonus
    [
        "Alex", "2001", "2", "9.00", "7.67", "9.00", "10.00", "35.67", "40", "891.67", "CNY",
        "no", "1.00", "0", "0.00", "891.67", "0.00", "0.00",
    ],
    [
        "Bo", "2002", "1", "5.00", "5.00", "10.00", "5.00", "25.00", "40", "625.00", "CNY",
        "no", "1.00", "0", "0.00", "625.00", "0.00", "0.00",
    ],
]  # fmt: skip


def write_config(path: Path, db_url: str) -> Path:
    targets = "\n".join(f"{key} = {value}" for key, value in TARGETS.items())
    path.write_text(f'[database]\nurl = "{db_url}"\n[targets]\n{targets}\n')
    return path


async def run_cli(args: list[str]) -> int:
    # The command runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(cli.main, args)


def photos(kefu: Kefu) -> list[SentMessage]:
    return [m for m in kefu.sent_to(TEAM_CHAT) if m.method == "sendPhoto"]


def whole_digest(sent: list[SentMessage]) -> str:
    """The digest's text: the photo caption, or the message after the photo."""
    photo = next(i for i, m in enumerate(sent) if m.method == "sendPhoto")
    caption = sent[photo].text or ""
    if "Scoreboard" in caption or "考核排行" in caption:
        return caption
    return sent[photo + 1].text or ""


# ---------------------------------------------------------------- every figure


async def test_every_figure_of_the_json_and_the_pay_sheet(
    team: Kefu, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await february(team)
    config = write_config(tmp_path / "kefu.toml", db_url)

    assert await run_cli(["-c", str(config), "digest", "--date", "2026-03-01", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == approx(EXPECTED)
    built = await digests.build_digest(team.runtime.db, team.settings, datetime(2026, 3, 1).date())
    assert built.to_json() == printed
    assert Digest.from_json(printed) == built

    # Without --date: today's digest, printed as plain text for a terminal.
    assert await run_cli(["-c", str(config), "digest"]) == 0
    text = capsys.readouterr().out
    assert "Daily digest · 2026-03-01" in text and "<b>" not in text
    assert "1. Alex — 35.67/40 · 891.67 CNY" in text

    csv_path = tmp_path / "pay.csv"
    code = await run_cli(
        ["-c", str(config), "report", "--month", "2026-02", "--csv", str(csv_path)]
    )
    assert code == 0
    assert "Team bonus forfeited" in capsys.readouterr().out
    offline_csv = csv_path.read_bytes()

    reply = await team.say(MANAGER, "/report 2026-02", chat=TEAM_CHAT)
    table, document = reply
    assert table.method == "sendMessage" and document.method == "sendDocument"
    body = table.text or ""
    assert "Monthly report · 2026-02" in body and "Team figures as of 2026-03-01." in body
    assert "1. Alex — 35.67/40 · 891.67 CNY" in body
    assert "2. Bo — 25/40 · 625.00 CNY" in body
    assert "Dispute refund rate: 0.25% ❌ (≤ 0.20%)" in body
    assert "Satisfaction (month): 7.67 ❌ (≥ 8)" in body
    assert "Open over 5 days: 1 ✅ (≤ 1)" in body
    assert "Team bonus forfeited" in body
    assert document.filename == "kefu-report-2026-02.csv"
    assert document.file_bytes == offline_csv
    assert document.file_bytes is not None and document.file_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(document.file_bytes.decode("utf-8-sig"))))
    assert rows == CSV_ROWS


# ---------------------------------------------------------------- posted once a day


async def test_the_scheduled_digest_is_posted_once_with_its_chart(team: Kefu, db_url: str) -> None:
    await february(team)
    # Before 09:00 on 03-01 the latest due digest is 02-28's (missed: nobody posted it).
    travel("2026-03-01 08:59")
    await team.run_job("digest-on-start")
    await team.run_job("digest")
    await team.deliver()
    [early] = photos(team)
    assert (early.text or "").startswith("📊 <b>Daily digest · 2026-02-28</b>")

    travel("2026-03-01 09:00")
    await team.run_job("digest")
    await team.run_job("digest")
    await team.deliver()
    assert len(photos(team)) == 2
    sent = team.sent_to(TEAM_CHAT)
    posted = sent[sent.index(photos(team)[1]) :]
    text = whole_digest(posted)
    assert text.startswith("📊 <b>Daily digest · 2026-03-01</b>")
    for line in (
        "New 1 · resolved 1",
        "Surveys: 1 sent · 1 answered · average 5",
        "Satisfaction this month: 7.67 ❌ (≥ 8)",
        "Open 3 · over 3 days 2 · over 5 days 1 ✅ (≤ 1)",
        "#4 · Alex · 8d 15h",
        "<b>Refunds, last 30 days</b> (2026-01-30 – 2026-02-28)",
        "Orders: 400",
        "Refunds: 3 · 0.75% ✅ (≤ 1.00%)",
        "Dispute refunds: 1 · 0.25% ❌ (≤ 0.20%)",
        "Quality refunds: 1 · 0.25% ✅ (≤ 0.50%)",
        "❌ <b>Team bonus at risk</b>: a target is missed.",
        "logistics 2 · product 2 · other 1 · service 1",
        "<b>Scoreboard · 2026-02</b>",
        "1. Alex — 35.67/40 · 891.67 CNY",
        "    2 tickets · satisfaction 9 · speed 7.67 · quality 9 · skill 10",
        "2. Bo — 25/40 · 625.00 CNY",
    ):
        assert line in text.split("\n"), line
    chart = photos(team)[1].file_bytes
    assert chart is not None and chart.startswith(PNG) and len(chart) > 20_000

    # A restart (a new process on the same database, here in Chinese) posts nothing more.
    again = await start(db_url, telegram=team.telegram, team={"language": "zh_CN"})
    # One Telegram feeds both: update ids go on from where the first bot's left off.
    again.updates = team.updates
    try:
        await again.run_job("digest-on-start")
        await again.run_job("digest")
        await again.deliver()
        assert len(photos(again)) == 2
        # On demand it is answered every time, not deduplicated, in the team's language.
        answer = await again.say(MANAGER, "/digest 2026-03-01", chat=TEAM_CHAT)
        assert answer[0].method == "sendPhoto" and (answer[0].file_bytes or b"")[:8] == PNG
        chinese = whole_digest(answer)
        assert chinese.startswith("📊 <b>每日汇总 · 2026-03-01</b>")
        assert "未结 3 · 超 3 天 2 · 超 5 天 1 ✅ (≤ 1)" in chinese
        assert "纠纷退款：1 · 0.25% ❌ (≤ 0.20%)" in chinese
        assert "❌ <b>团队奖金有风险</b>：有指标未达标。" in chinese
        assert "物流 2 · 商品 2 · 其他 1 · 服务 1" in chinese
        assert "1. Alex — 35.67/40 分 · 891.67 CNY" in chinese
        english = whole_digest(await team.say(MANAGER, "/digest 2026-03-01", chat=TEAM_CHAT))
        assert english == text
    finally:
        await again.stop()

    outbox = await digest_rows(team)
    assert sorted(outbox) == [
        "digest:2026-02-28",
        "digest:2026-02-28:text",
        "digest:2026-03-01",
        "digest:2026-03-01:text",
    ]


async def digest_rows(kefu: Kefu) -> list[str]:
    async with kefu.runtime.db.transaction() as session:
        rows = await session.exec(
            select(Outbox.dedupe_key).where(col(Outbox.dedupe_key).startswith("digest:"))
        )
        return list(rows)


async def test_two_replicas_on_one_database_post_it_once(db_url: str) -> None:
    first = await start(db_url)
    second = await start(db_url, telegram=first.telegram)
    try:
        travel("2026-03-01 08:00")
        await first.say(AGENT, "/ticket Parcel late cat:logistics", chat=TEAM_CHAT)
        travel("2026-03-02 09:05")
        await asyncio.gather(first.run_job("digest"), second.run_job("digest"))
        await asyncio.gather(first.deliver(), second.deliver())
        [photo] = photos(first)
        assert (photo.text or "").startswith("📊 <b>Daily digest · 2026-03-02</b>")
        assert "New 1 · resolved 0" in whole_digest(first.sent_to(TEAM_CHAT))
        assert sorted(await digest_rows(first)) == ["digest:2026-03-02", "digest:2026-03-02:text"]
    finally:
        await second.stop()
        await first.stop()


async def test_a_failed_send_is_retried_and_still_posted_once(team: Kefu) -> None:
    travel("2026-03-01 10:00")
    await ok(team, AGENT, "/ticket Parcel late cat:logistics")
    travel("2026-03-02 09:05")
    team.telegram.fail("sendPhoto", status=502, times=1)
    await team.run_job("digest")
    await team.deliver()
    assert photos(team) == []
    await team.run_job("digest")  # already claimed: the retry is the outbox's job
    clock.advance(timedelta(minutes=1))
    await team.deliver()
    await team.deliver()
    [photo] = photos(team)
    assert (photo.text or "").startswith("📊 <b>Daily digest · 2026-03-02</b>")
    assert len([m for m in team.telegram.calls("sendPhoto") if m.status == 200]) == 1


async def test_a_digest_that_cannot_be_built_is_reported_once_and_not_retried(
    team: Kefu, caplog: pytest.LogCaptureFixture
) -> None:
    # Pay tiers the rules refuse, as in a config written before check-config applied them.
    team.runtime.settings.scoring.pay_scheme = "tiered"
    team.runtime.settings.scoring.tiers = [(0.0, Decimal("1000")), (30.0, Decimal("900"))]
    travel("2026-03-01 10:00")
    await ok(team, AGENT, "/ticket Parcel late cat:logistics")
    await ok(team, AGENT, "/resolve 1 root")
    travel("2026-03-02 09:05")
    with caplog.at_level(logging.INFO, logger="bot.jobs"):
        await team.run_job("digest")
        await team.run_job("digest-on-start")  # e.g. after a restart: nothing said twice
        await team.deliver()
    told = [text for text in team.texts_to(TEAM_CHAT) if "cannot be built" in text]
    assert told == [
        "⚠️ The daily digest of 2026-03-02 cannot be built: "
        "tier at 30 pays 900, less than 1000 at 0\n"
        "It will not be retried by itself. Fix the cause (check the settings with "
        "<code>kefu check-config</code>), then ask for it with /digest 2026-03-02."
    ]
    assert team.app.job_queue is not None
    assert not team.app.job_queue.get_jobs_by_name("digest-retry")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "2026-03-02 cannot be built" in errors[0].getMessage()
    assert await digest_rows(team) == []


async def test_a_database_outage_is_retried(team: Kefu, monkeypatch: pytest.MonkeyPatch) -> None:
    travel("2026-03-02 09:05")

    async def unreachable(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(digests.team, "team_chat_id", unreachable)
    await team.run_job("digest")
    assert team.app.job_queue is not None
    assert len(team.app.job_queue.get_jobs_by_name("digest-retry")) == 1
    assert not any("cannot be built" in text for text in team.texts_to(TEAM_CHAT))


# ---------------------------------------------------------------- on demand, and refusals


async def test_on_demand_refusals_and_targets_all_met(db_url: str) -> None:
    kefu = await start(
        db_url, targets={"refund_rate_max": 0.5, "satisfaction_min": None, "open_over_5d_max": 5}
    )
    try:
        travel("2026-03-01 10:00")
        await ok(kefu, AGENT, "/ticket Parcel late cat:logistics")
        travel("2026-03-02 10:00")
        await ok(kefu, AGENT, "/orders 2026-03-01 10")
        await ok(kefu, AGENT, "/refund 1 5")
        cases = {
            (AGENT, "/digest", TEAM_CHAT): "only managers",
            (MANAGER, "/digest", OTHER_GROUP): "only in the team chat or a private chat",
            (MANAGER, "/digest 2026-13-01", TEAM_CHAT): "is not a date",
            (MANAGER, "/digest 2026-03-04", TEAM_CHAT): "2026-03-03, which has not begun",
            (MANAGER, "/digest 2026-03-01 extra", TEAM_CHAT): "at most one argument",
            (MANAGER, "/report 2026-3", TEAM_CHAT): "is not a month",
            (MANAGER, "/report 2026-04", TEAM_CHAT): "has not started yet",
            (AGENT, "/report", TEAM_CHAT): "only managers",
        }
        for (who, text, chat), expected in cases.items():
            [answer] = await kefu.say(who, text, chat=chat)
            assert expected in (answer.text or ""), (text, answer.text)
        assert photos(kefu) == []

        # Private chat works too; today's digest covers yesterday (03-01).
        answer = await kefu.say(MANAGER, "/digest")
        text = whole_digest(answer)
        assert "Daily digest · 2026-03-02" in text and "New 1 · resolved 0" in text
        assert "Refunds: 0 · 0.00% ✅ (≤ 50.00%)" in text  # the refund counts on 03-02
        assert "✅ Every target with data is met." in text
        # /report with no month: yesterday's month (March, in progress).
        table, document = await kefu.say(MANAGER, "/report")
        assert "Monthly report · 2026-03" in (table.text or "")
        assert "✅ Every target with data is met." in (table.text or "")
        rows = list(csv.reader(io.StringIO((document.file_bytes or b"").decode("utf-8-sig"))))
        met = rows[0].index("team_targets_met")
        assert [row[met] for row in rows[1:]] == ["yes", "yes"]
    finally:
        await kefu.stop()


async def test_chat_and_command_line_take_the_same_days_and_mark_today_partial(
    team: Kefu, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    travel("2026-03-02 09:00")
    await ok(team, AGENT, "/ticket Parcel late cat:logistics")
    travel("2026-03-02 15:00")  # a manager at 3 pm wants today so far: tomorrow's digest
    config = write_config(tmp_path / "kefu.toml", db_url)
    partial = "⏳ Partial: 2026-03-02 is not over; figures as of 15:00."

    text = whole_digest(await team.say(MANAGER, "/digest 2026-03-03", chat=TEAM_CHAT))
    lines = text.split("\n")
    assert lines[:2] == [
        "📊 <b>Daily digest · 2026-03-03</b>",
        partial.replace("Partial", "<b>Partial</b>"),
    ]
    assert "New 1 · resolved 0" in lines
    assert await run_cli(["-c", str(config), "digest", "--date", "2026-03-03"]) == 0
    printed = capsys.readouterr().out.split("\n")
    assert printed[:2] == ["📊 Daily digest · 2026-03-03", partial], printed[:3]
    assert await run_cli(["-c", str(config), "digest", "--date", "2026-03-03", "--json"]) == 0
    as_of = json.loads(capsys.readouterr().out)["partial_as_of"]
    assert as_of.startswith("2026-03-02T15:00:") and as_of.endswith("+08:00"), as_of

    # Today's digest covers a whole day (yesterday): nothing partial about it.
    assert "Partial" not in whole_digest(await team.say(MANAGER, "/digest", chat=TEAM_CHAT))
    assert await run_cli(["-c", str(config), "digest", "--date", "2026-03-02"]) == 0
    assert "Partial" not in capsys.readouterr().out

    # The day after tomorrow: refused alike, in chat and on the command line.
    refusal = "The digest of 2026-03-04 covers 2026-03-03, which has not begun."
    [answer] = await team.say(MANAGER, "/digest 2026-03-04", chat=TEAM_CHAT)
    assert refusal in (answer.text or "")
    assert await run_cli(["-c", str(config), "digest", "--date", "2026-03-04"]) == 2
    assert refusal in capsys.readouterr().err


async def test_a_digest_shows_at_once_that_it_is_coming_and_its_chart_process_is_reused(
    team: Kefu,
) -> None:
    travel("2026-03-01 10:00")
    await ok(team, AGENT, "/ticket Parcel late cat:logistics")
    travel("2026-03-02 10:00")
    worker = chart_process.worker()
    before = len(team.telegram.calls())
    first = await team.say(MANAGER, "/digest", chat=TEAM_CHAT)
    assert first[0].method == "sendPhoto"
    # Before the figures are gathered and the chart drawn, the chat says a photo is coming.
    calls = [c for c in team.telegram.calls()[before:] if c.params.get("chat_id") == TEAM_CHAT]
    assert calls[0].method == "sendChatAction", [c.method for c in calls]
    assert calls[0].params["action"] == "upload_photo"
    child = worker.pid
    assert child is not None  # kept for the next chart
    second = await team.say(MANAGER, "/digest 2026-03-01", chat=TEAM_CHAT)
    assert second[0].method == "sendPhoto" and (second[0].file_bytes or b"")[:8] == PNG
    assert (worker.started, worker.pid) == (1, child)

    # A child that died is replaced on the next chart; an idle one is let go.
    os.kill(child, signal.SIGKILL)
    worker.idle_seconds = 0.2
    third = await team.say(MANAGER, "/digest", chat=TEAM_CHAT)
    assert third[0].method == "sendPhoto" and worker.started == 2
    idle = worker._process
    assert idle is not None
    await eventually(lambda: idle.returncode == 0, "the idle chart process to exit", within=10)
    assert worker.pid is None


async def test_a_chart_process_let_go_leaves_on_its_own() -> None:
    """Closing the worker (the bot's shutdown, the idle timer, `kefu demo`'s end) ends the
    child by closing its input: it exits cleanly, it is not killed after a time-out."""
    worker = chart_process.ChartWorker()
    await worker.start()
    child = worker._process
    assert child is not None
    await worker.close()
    assert child.returncode == 0


async def test_the_open_ticket_target_is_named_and_counted_by_the_configured_days(
    db_url: str,
) -> None:
    """[followup] escalate_after_days = 10: ticket #4, open 8 days 15 hours on March 1,
    is not over 10 days, and the report says "over 10 days", not the domain's default 5."""
    kefu = await start(db_url, followup={"remind_after_days": 3, "escalate_after_days": 10})
    try:
        await february(kefu)
        table, _document = await kefu.say(MANAGER, "/report 2026-02", chat=TEAM_CHAT)
        body = table.text or ""
        assert "Open over 10 days: 0 ✅ (≤ 1)" in body
        assert "Open over 5 days" not in body
    finally:
        await kefu.stop()


async def test_kefu_digest_and_report_explain_bad_input(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "kefu.toml", db_url)
    assert await run_cli(["-c", str(config), "digest", "--date", "yesterday"]) == 2
    assert "is not a date" in capsys.readouterr().err
    assert await run_cli(["-c", str(config), "report", "--month", "2999-01"]) == 2
    assert "has not started yet" in capsys.readouterr().err


# ---------------------------------------------------------------- rendering limits


def _agent(rank: int) -> AgentLine:
    return AgentLine(
        user_id=9000 + rank,
        name=f"Agent <{rank}>",
        tickets=rank,
        satisfaction=8.5,
        speed=None,
        quality=10.0,
        skill=8.0,
        total=30.0 - rank / 10,
        max_total=40,
        pay=Decimal("900.00"),
    )


def _digest(agents: int) -> Digest:
    return Digest(
        day=datetime(2026, 3, 1).date(),
        refund_window=(datetime(2026, 1, 30).date(), datetime(2026, 2, 28).date()),
        tickets=TicketCounts(1, 2, 3, 1, 0, (OldTicket(4, "<Eve>", timedelta(hours=80.5)),)),
        surveys=SurveyCounts(0, 0, None),
        month_satisfaction=None,
        refunds=RefundFigures(0, 0, None, 0, None, 0, None),
        month=datetime(2026, 2, 1).date(),
        agents=tuple(_agent(rank) for rank in range(1, agents + 1)),
        targets=(TargetResult("refund_rate_max", 0.03, None, None),),
        causes=(),
        series=(),
        currency="CNY",
    )


def test_a_big_team_is_cut_to_fit_and_names_are_escaped() -> None:
    big = _digest(100)
    text = digest_render.digest_text(big)
    assert len(text) <= digest_render.MESSAGE_LIMIT
    assert "1. Agent &lt;1&gt; — 29.9/40 · 900.00 CNY" in text
    assert re.search(r"… and \d+ more agents: see /report\.", text)
    assert "#4 · &lt;Eve&gt; · 3d 8h" in text
    assert "Refunds: 0 · —" in text and "— (≤ 3.00%)" in text  # no orders: no rate
    caption, complete = digest_render.digest_caption(big)
    assert not complete and caption == "📊 <b>Daily digest · 2026-03-01</b>"
    small_caption, small_complete = digest_render.digest_caption(_digest(0))
    assert small_complete and "No agents yet." in small_caption
    # Everything is printed on the command line, however long.
    assert "100. Agent <100>" in digest_render.plain(digest_render.digest_text(big, limit=10**9))


def test_the_chart_draws_without_data_and_without_cjk_glyphs() -> None:
    lonely = charts.render(_digest(0))
    crowded = charts.render(_digest(40))
    assert lonely.startswith(PNG) and crowded.startswith(PNG)
    assert charts._label(2, "王磊") == ("2. 王磊" if charts.has_cjk_font() else "2.")
    assert charts._label(1, "Li Na") == "1. Li Na"


# ---------------------------------------------------------------- the demo


async def test_kefu_demo_runs_and_is_reproducible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli(["demo", "--out", str(tmp_path / "a"), "--seed", "7"]) == 0
    first = capsys.readouterr().out
    assert "Daily digest · 2026-04-01" in first and "Scoreboard · 2026-03" in first
    # The rest of the shop figures and the complete pay sheet are in it too.
    for figure in ("Refund time, median:", "Platform interventions:", "First-time fix:"):
        assert figure in first, figure
    assert "Internal complaints:" in first and "DSR (2026-03-29): description" in first
    assert " + commission " in first and " + bonus " in first
    chart = tmp_path / "a" / "kefu-digest-2026-04-01.png"
    assert chart.read_bytes().startswith(PNG)
    assert f"chart:    {chart}" in first
    assert await run_cli(["demo", "--out", str(tmp_path / "b"), "--seed", "7"]) == 0
    second = capsys.readouterr().out
    assert first.replace("/a/", "/b/").replace("/a\n", "/b\n") == second


def test_a_chart_process_whose_bot_died_exits_quietly(tmp_path: Path) -> None:
    """The bot killed mid-chart (kill -9): its chart process finds nobody to answer and
    leaves without a traceback in the bot's log."""
    log = tmp_path / "child.log"
    with log.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "handlers.chart_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert child.stdin is not None and child.stdout is not None
        request = json.dumps(_digest(3).to_json()).encode()
        child.stdout.close()  # the reader is gone before the answer is written
        child.stdin.write(len(request).to_bytes(4, "big") + request)
        child.stdin.close()
        assert child.wait(timeout=120) == 0
    assert "Traceback" not in log.read_text(errors="replace")
