"""`kefu run` as its own process, against a Bot API server on 127.0.0.1: a ticket's whole life."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakebot import FakeBotApiServer, SentMessage, UpdateFactory
from tests.harness import AGENT, CUSTOMER, MANAGER, TEAM_CHAT, TOKEN
from tests.processes import clean_env, kefu_command, wait_for

pytestmark = pytest.mark.e2e


def write_config(path: Path, *, base_url: str, db_url: str, managers: bool = True) -> Path:
    team = f"managers = [{MANAGER.user_id}]\nagents = [{AGENT.user_id}]\nchat_id = {TEAM_CHAT}\n"
    path.write_text(
        f'[telegram]\napi_base_url = "{base_url}"\npoll_timeout = 1\n'
        f'[database]\nurl = "{db_url}"\n'
        f"[team]\n{team if managers else ''}"
    )
    return path


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer() as running:
        yield running


def new_to(server: FakeBotApiServer, chat_id: int, after: int) -> list[SentMessage]:
    return server.telegram.sent_to(chat_id)[after:]


def test_a_ticket_from_logging_to_resolution(
    server: FakeBotApiServer, db_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.toml", base_url=server.base_url, db_url=db_url)
    process = subprocess.Popen(
        [*kefu_command(), "--config", str(config), "run"],
        env=clean_env(KEFU_TELEGRAM__TOKEN=TOKEN),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        updates = UpdateFactory(server.telegram)
        updates.group_chat(TEAM_CHAT, "After-sales team")
        wait_for(lambda: server.telegram.calls("getUpdates"), "the bot to start polling")

        server.telegram.push_update(
            updates.message(
                AGENT.json, TEAM_CHAT, "/ticket Parcel arrived broken order:A1 cat:logistics"
            )
        )
        logged = wait_for(lambda: new_to(server, TEAM_CHAT, 0), "the ticket reply")
        text = logged[0].text or ""  # type: ignore[index]
        assert "Ticket #1 logged (logistics)" in text
        token = re.search(r"start=([A-Za-z0-9_-]+)", text)
        assert token

        server.telegram.push_update(
            updates.message(CUSTOMER.json, CUSTOMER.user_id, f"/start {token.group(1)}")
        )
        linked = wait_for(
            lambda: new_to(server, CUSTOMER.user_id, 0), "the customer's confirmation"
        )
        assert "#1" in (linked[0].text or "")  # type: ignore[index]

        seen = len(server.telegram.sent_to(TEAM_CHAT))
        server.telegram.push_update(updates.message(AGENT.json, TEAM_CHAT, "/resolve 1 root"))
        resolved = wait_for(lambda: new_to(server, TEAM_CHAT, seen), "the resolution")
        assert "#1 resolved (quality 10)" in (resolved[0].text or "")  # type: ignore[index]
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert TOKEN not in output
    assert TOKEN.split(":")[1] not in output


def test_run_without_token_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [*kefu_command(), "run"],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no bot token" in result.stderr and "KEFU_TELEGRAM__TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_names_the_key_and_hides_the_value(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[telegram]\ntoken = "not a token"\n[team]\ntimezone = "Mars/Olympus"\n')
    for command in ("run", "check-config"):
        result = subprocess.run(
            [*kefu_command(), "--config", str(config), command],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, command
        assert "[telegram] token" in result.stderr
        assert "[team] timezone" in result.stderr and "Mars/Olympus" in result.stderr
        assert "not a token" not in result.stderr
        assert "Traceback" not in result.stderr


def test_setup_code_is_printed_when_no_manager_exists(
    server: FakeBotApiServer, tmp_path: Path
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}"
    config = write_config(
        tmp_path / "config.toml", base_url=server.base_url, db_url=db_url, managers=False
    )
    process = subprocess.Popen(
        [*kefu_command(), "--config", str(config), "run"],
        env=clean_env(KEFU_TELEGRAM__TOKEN=TOKEN),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        code = None
        for line in process.stdout:
            if match := re.search(r"/setup ([0-9A-F-]+)", line):
                code = match.group(1)
                break
        assert code
        updates = UpdateFactory(server.telegram)
        group = -1009999
        updates.group_chat(group, "New team")
        server.telegram.push_update(updates.message(MANAGER.json, group, "/setup WRONG-CODE"))
        wrong = wait_for(lambda: new_to(server, group, 0), "the refusal")
        assert "not right" in (wrong[0].text or "")  # type: ignore[index]
        server.telegram.push_update(updates.message(MANAGER.json, group, f"/setup {code}"))
        done = wait_for(lambda: new_to(server, group, 1), "the set-up confirmation")
        assert "Set-up complete" in (done[0].text or "")  # type: ignore[index]
        server.telegram.push_update(updates.message(MANAGER.json, group, f"/setup {code}"))
        again = wait_for(lambda: new_to(server, group, 2), "the second answer")
        assert "already complete" in (again[0].text or "")  # type: ignore[index]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_unreachable_bot_api_is_retried_then_stops_cleanly(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}"
    # Port 9 (discard) on loopback has nothing listening: every connection is refused.
    config = write_config(
        tmp_path / "config.toml", base_url="http://127.0.0.1:9/bot", db_url=db_url
    )
    process = subprocess.Popen(
        [*kefu_command(), "--config", str(config), "run"],
        env=clean_env(KEFU_TELEGRAM__TOKEN=TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    retries = 0
    for line in process.stderr:
        if "cannot reach the Telegram Bot API at http://127.0.0.1:9/bot" in line:
            retries += 1
            if retries == 2:
                break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    assert retries == 2
    assert process.returncode == 0
    assert "Traceback" not in rest and TOKEN not in rest
