"""The per-ticket export: `/export` and `kefu export`, one row per ticket touched in a month."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from bot import cli
from bot.services.export import CSV_HEADER
from tests.harness import AGENT, AGENT2, CUSTOMER_EN, MANAGER, Kefu
from tests.steps import LINK, ok, travel


async def scripted(kefu: Kefu) -> None:
    travel("2026-01-20 09:00")
    for person in (MANAGER, AGENT, AGENT2):
        await kefu.say(person, "/help")
    # #1: January only — not in February's export.
    await ok(kefu, AGENT, "/ticket Old case cat:other")
    travel("2026-01-20 09:00")
    # #2: logged in January, refunded and reopened in February.
    await ok(kefu, AGENT, "/ticket Kettle leaks cat:product order:K9 received:2026-01-19T09:00")
    travel("2026-01-21 09:00")
    await ok(kefu, AGENT, "/resolve 2 root")
    travel("2026-02-03 10:30")
    await ok(kefu, AGENT, "/refund 2 45.5 dispute requested:2026-02-01T10:30")
    await ok(kefu, AGENT, "/reopen 2")
    await ok(kefu, AGENT, "/sale 2 120")
    # #3: February, linked customer, resolved and rated, an internal complaint.
    travel("2026-02-10 08:00")
    [reply] = await ok(kefu, AGENT2, "/ticket Wrong size cat:service")
    match = LINK.search(reply.text or "")
    assert match
    await kefu.say(CUSTOMER_EN, f"/start {match.group(1)}")
    # The customer waits 25 minutes for the first answer.
    travel("2026-02-10 09:00")
    await kefu.say(CUSTOMER_EN, "Do you have it one size up?")
    travel("2026-02-10 09:25")
    await ok(kefu, AGENT2, "/reply 3 Yes, it is on its way.")
    travel("2026-02-11 20:00")
    await ok(kefu, AGENT2, "/resolve 3 noroot")
    survey = kefu.telegram.last_to(CUSTOMER_EN.user_id)
    assert survey is not None
    await kefu.press_label(CUSTOMER_EN, survey, "Satisfied")
    await ok(kefu, MANAGER, "/complaint 3 slow to answer")
    await ok(kefu, AGENT2, "/intervened 3")
    travel("2026-03-02 09:00")


EXPECTED_ROWS = [
    list(CSV_HEADER),
    # number status category agent agent_id customer linked order description
    # received logged first_response_minutes resolved first_resolved resolution_hours reopens quality rating survey
    # refund dispute refund_day requested refund_hours intervened_on sales complaints
    # (#2's survey is void: its customer never linked.)
    [
        "2", "open", "product", "Alex", str(AGENT.user_id), "", "no", "K9", "Kettle leaks",
        "2026-01-19 09:00", "2026-01-20 09:00", "", "", "2026-01-21 09:00", "", "1", "5",
        "", "void", "45.50", "yes", "2026-02-03", "2026-02-01 10:30", "48.00", "2026-02-03",
        "120.00", "0",
    ],
    [
        "3", "closed", "service", "Bo", str(AGENT2.user_id), "Dana", "yes", "", "Wrong size",
        "2026-02-10 08:00", "2026-02-10 08:00", "25.0", "2026-02-11 20:00",
        "2026-02-11 20:00", "36.00", "0", "8", "8", "answered", "", "", "", "", "",
        "2026-02-11", "", "1",
    ],
]  # fmt: skip


def read(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def test_export_in_chat_and_from_the_command_line(
    kefu: Kefu, db_url: str, tmp_path: Path
) -> None:
    await scripted(kefu)
    [document] = await kefu.say(MANAGER, "/export 2026-02")
    assert document.method == "sendDocument"
    assert document.filename == "kefu-tickets-2026-02.csv"
    assert document.text == "2 tickets touched in 2026-02; times in Asia/Shanghai."
    assert read(document.file_bytes or b"") == EXPECTED_ROWS

    config = tmp_path / "kefu.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    out = tmp_path / "feb.csv"
    args = ["-c", str(config), "export", "--month", "2026-02", "--csv", str(out)]
    assert await asyncio.to_thread(cli.main, args) == 0
    assert out.read_bytes() == document.file_bytes

    # January holds #1 and #2 (logged and resolved then); no month argument: this month.
    [january] = await kefu.say(MANAGER, "/export 2026-01")
    assert [row[0] for row in read(january.file_bytes or b"")[1:]] == ["1", "2"]
    [march] = await kefu.say(MANAGER, "/export")
    assert march.filename == "kefu-tickets-2026-03.csv"
    assert read(march.file_bytes or b"") == [list(CSV_HEADER)]
    refused = await kefu.say(AGENT, "/export")
    assert refused[0].text == "Sorry, only managers can use this command."
