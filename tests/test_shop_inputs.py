"""Recording the rest of the shop figures in chat and from CSV, through the real Application:
refund request times, interventions, repeat sales, DSR, internal complaints."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot import clock
from bot.cli.orders import import_sales_file
from bot.models import Complaint, DsrEntry, Intervention, Refund, Sale
from tests.harness import AGENT, AGENT2, MANAGER, Kefu, settings_for
from tests.steps import log_ticket, rows, text_of, today


async def test_refund_request_time_is_kept_and_checked(kefu: Kefu) -> None:
    await log_ticket(kefu)
    day = today(kefu).isoformat()
    reply = await text_of(kefu, AGENT, "/refund 1 12 requested:2026-01-05T08:30")
    assert reply == (
        f"Refund on #1: 12.00 CNY; counted on {day}.\n"
        "Requested by the customer at 2026-01-05 08:30."
    )
    [refund] = await rows(kefu, Refund)
    # 08:30 in Asia/Shanghai is 00:30 UTC.
    assert refund.requested_at == datetime(2026, 1, 5, 0, 30, tzinfo=UTC)
    both = await text_of(kefu, AGENT, "/refund 1 12 requested：2026-01-04 纠纷")
    assert "dispute" in both and "2026-01-04 00:00" in both
    [refund] = await rows(kefu, Refund)
    assert refund.dispute and refund.requested_at == datetime(2026, 1, 3, 16, 0, tzinfo=UTC)
    # A correction without requested: counts from receipt again.
    await text_of(kefu, AGENT, "/refund 1 12")
    [refund] = await rows(kefu, Refund)
    assert refund.requested_at is None

    future = (today(kefu) + timedelta(days=2)).isoformat()
    for command, answer in (
        (f"/refund 1 5 requested:{future}", "The refund request time cannot be in the future."),
        (
            "/refund 1 5 requested:soon",
            "“soon” is not a date; write requested:YYYY-MM-DD or requested:YYYY-MM-DDTHH:MM.",
        ),
        ("/refund 1 5 dispute dispute", "After the amount, only “dispute”"),
        ("/refund 1 5 later", "After the amount, only “dispute”"),
        ("/refund 1 -5", "An amount cannot be negative."),
    ):
        assert (await text_of(kefu, AGENT, command)).startswith(answer), command
    [refund] = await rows(kefu, Refund)
    assert refund.amount == Decimal("12.00")


async def test_intervention_is_recorded_once_and_cancelled(kefu: Kefu) -> None:
    await log_ticket(kefu)
    day = today(kefu).isoformat()
    assert await text_of(kefu, AGENT, "/intervened 1") == (
        f"Platform intervention on #1; counted on {day}."
    )
    clock.advance(timedelta(days=1))
    assert await text_of(kefu, AGENT2, "/intervened #1") == (
        f"#1 was already recorded as intervened on {day}."
    )
    [row] = await rows(kefu, Intervention)
    assert (row.day.isoformat(), row.recorded_by) == (day, AGENT.user_id)
    assert await text_of(kefu, AGENT, "/intervened 1 cancel") == (
        f"Intervention on #1 ({day}) removed."
    )
    assert await rows(kefu, Intervention) == []
    assert await text_of(kefu, AGENT, "/intervened 1 cancel") == (
        "No intervention is recorded on #1."
    )
    # A dispute refund still counts the ticket: the reply says so.
    await text_of(kefu, AGENT, "/intervened 1")
    await text_of(kefu, AGENT, "/refund 1 9 dispute")
    removed = await text_of(kefu, AGENT, "/intervened 1 取消")
    assert removed.endswith(f"Its dispute refund still counts it as intervened on {today(kefu)}.")
    assert await text_of(kefu, AGENT, "/intervened 1 now") == (
        "Write /intervened N, or /intervened N cancel."
    )
    assert await text_of(kefu, AGENT, "/intervened 9") == "There is no ticket #9."


async def test_sales_are_credited_to_the_tickets_agent(kefu: Kefu) -> None:
    await log_ticket(kefu)
    day = today(kefu).isoformat()
    first = await text_of(kefu, AGENT2, "/sale 1 199.90")
    assert first == (
        f"Sale on #1: 199.90 CNY, credited to Alex on {day}; sales on it now: 199.90 CNY."
    )
    second = await text_of(kefu, AGENT, "/sale 1 0.10")
    assert second.endswith("sales on it now: 200.00 CNY.")
    sales = await rows(kefu, Sale)
    assert {(s.agent_id, s.amount) for s in sales} == {
        (AGENT.user_id, Decimal("199.90")),
        (AGENT.user_id, Decimal("0.10")),
    }
    # cancel takes back the latest one.
    assert await text_of(kefu, AGENT, "/sale 1 cancel") == (
        "Sale of 0.10 CNY on #1 removed; sales on it now: 199.90 CNY."
    )
    assert [s.amount for s in await rows(kefu, Sale)] == [Decimal("199.90")]
    assert await text_of(kefu, AGENT, "/sale 1 1.999") == (
        "“1.999” has more than two decimals; amounts are in cents at most."
    )
    assert await text_of(kefu, AGENT, "/sale 1") == (
        "Write /sale N amount (a repeat purchase), or /sale N cancel."
    )


async def test_dsr_is_for_managers_and_checked(kefu: Kefu) -> None:
    assert await text_of(kefu, MANAGER, "/dsr 2026-01-10 4.85 4.8 4.78") == (
        "DSR on 2026-01-10: description 4.85 · service 4.80 · logistics 4.78."
    )
    assert await text_of(kefu, MANAGER, "/dsr 2026-01-10 4.86 4.80 4.78") == (
        "DSR on 2026-01-10: description 4.86 · service 4.80 · logistics 4.78.\n"
        "It replaces 4.85 · 4.80 · 4.78."
    )
    [entry] = await rows(kefu, DsrEntry)
    assert entry.description == Decimal("4.86")
    assert (await text_of(kefu, MANAGER, "/dsr 2026-01-10 5.1 4 4")).startswith(
        "“5.1” is not a DSR score"
    )
    assert (await text_of(kefu, MANAGER, "/dsr 2026-01-10 4.875 4 4")).startswith(
        "“4.875” is not a DSR score"
    )
    future = (today(kefu) + timedelta(days=1)).isoformat()
    assert (await text_of(kefu, MANAGER, f"/dsr {future} 4 4 4")).endswith(
        "is in the future; record the scores the platform shows today or earlier."
    )
    assert (await text_of(kefu, MANAGER, "/dsr 4.8 4.8 4.8")).startswith("Write /dsr YYYY-MM-DD")
    refused = await text_of(kefu, AGENT, "/dsr 2026-01-11 4 4 4")
    assert refused == "Sorry, only managers can use this command."
    assert len(await rows(kefu, DsrEntry)) == 1


async def test_complaint_counts_against_the_agent_holding_the_ticket(kefu: Kefu) -> None:
    await log_ticket(kefu)
    assert await text_of(kefu, MANAGER, "/complaint 1 promised a call back and never called") == (
        "Internal complaint on #1 recorded against Alex."
    )
    [row] = await rows(kefu, Complaint)
    assert (row.agent_id, row.text, row.recorded_by) == (
        AGENT.user_id,
        "promised a call back and never called",
        MANAGER.user_id,
    )
    assert (await text_of(kefu, MANAGER, "/complaint 1")).startswith("Write the complaint")
    assert await text_of(kefu, AGENT, "/complaint 1 x") == (
        "Sorry, only managers can use this command."
    )


async def test_import_sales_all_rows_or_none(kefu: Kefu, tmp_path: Path) -> None:
    # The bot knows an agent's @username once it has heard from them.
    await text_of(kefu, AGENT, "/help", chat=AGENT.user_id)
    await text_of(kefu, AGENT2, "/help", chat=AGENT2.user_id)
    settings = kefu.settings
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,agent,amount,order\n"
        f"2026-01-02,{AGENT.user_id},100.00,A1\n"
        "2026-01-02,@nobody_here,5,\n"
        "2026-13-01,@alex_agent,5,\n"
        "2026-01-03,@alex_agent,-5,\n"
        "2026-01-03,,5,\n"
        "2026-01-03,@alex_agent\n"
    )
    out, err = io.StringIO(), io.StringIO()
    assert await asyncio.to_thread(import_sales_file, settings, bad, out=out, err=err) == 1
    # Unknown agents (line 3) are looked up only once every row reads well.
    assert err.getvalue().splitlines() == [
        "Nothing was imported: 4 problem(s).",
        "line 4: “2026-13-01” is not a date; write it as YYYY-MM-DD, e.g. 2026-03-01.",
        "line 5: An amount cannot be negative.",
        "line 6: “” is not an agent; write a user id or an @username.",
        "line 7: Expected 4 columns (date,agent,amount,order), found 2.",
    ]
    assert await rows(kefu, Sale) == []

    unknown = tmp_path / "unknown.csv"
    unknown.write_text("date,agent,amount\n2026-01-02,@nobody_here,5\n2026-01-02,@ALEX_agent,1\n")
    err = io.StringIO()
    assert (
        await asyncio.to_thread(import_sales_file, settings, unknown, out=io.StringIO(), err=err)
        == 1
    )
    assert err.getvalue().splitlines() == [
        "Nothing was imported: 1 problem(s).",
        "line 2: @nobody_here is not on the team; a manager can add them with /agent add.",
    ]
    assert await rows(kefu, Sale) == []

    good = tmp_path / "good.csv"
    good.write_text(
        "\ufeffdate,agent,amount,order\n"
        f"2026-01-02,{AGENT.user_id},100.00,A1\n"
        "2026-01-05,@Bo_Agent,0.5,\n"
    )
    out = io.StringIO()
    assert (
        await asyncio.to_thread(import_sales_file, settings, good, out=out, err=io.StringIO()) == 0
    )
    assert out.getvalue().strip() == (
        "Imported 2 sales (2026-01-02 … 2026-01-05), 100.50 CNY in all, for 2 agent(s)."
    )
    sales = sorted(await rows(kefu, Sale), key=lambda s: s.day)
    assert [(s.agent_id, s.amount, s.order_ref, s.ticket_id) for s in sales] == [
        (AGENT.user_id, Decimal("100.00"), "A1", None),
        (AGENT2.user_id, Decimal("0.50"), None, None),
    ]


async def test_new_inputs_answer_in_chinese(db_url: str) -> None:
    kefu = await Kefu(settings_for(db_url, team={"language": "zh_TW"})).start()
    try:
        await log_ticket(kefu)
        assert "介入" in await text_of(kefu, AGENT, "/intervened 1")
        assert await text_of(kefu, MANAGER, "/dsr 2026-01-10 4.85 4.8 4.78") == (
            "2026-01-10 的 DSR：描述相符 4.85 · 服務態度 4.80 · 物流服務 4.78。"
        )
        assert "Alex" in await text_of(kefu, MANAGER, "/complaint 1 太慢")
    finally:
        await kefu.stop()
