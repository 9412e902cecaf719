"""Scale-out on PostgreSQL: two `kefu run` replicas in webhook mode behind one Bot API.

Each replica is its own process with its own scheduler, as in production; the only thing
they share is the database. Updates arrive over HTTP alternately at both, and everything
the team sees (ticket replies, the follow-up escalation, the daily digest) arrives once.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from alembic.script import ScriptDirectory

from bot import clock
from bot.app import ALLOWED_UPDATES
from bot.migrate import MIGRATION_LOCK_KEY, alembic_config
from tests.fakebot import FakeBotApiServer, UpdateFactory
from tests.harness import AGENT, AGENT2, MANAGER, TEAM_CHAT, TOKEN
from tests.processes import clean_env, kefu_command, wait_for
from tests.scratch_pg import ScratchDatabase, scratch_database
from tests.webtools import HOOK_PATH, SECRET, SECRET_HEADER, eventually, free_port, metric

pytestmark = pytest.mark.e2e

WEBHOOK_URL = f"https://kefu.example.com{HOOK_PATH}"
LOGGED = re.compile(r"Ticket #(\d+) logged")
TIMEOUT = 30.0
TEAM_TZ = ZoneInfo("Asia/Shanghai")  # the default [team] timezone


@pytest.fixture
def fresh_pg() -> Iterator[ScratchDatabase]:
    """An empty database of this test's own (no schema: the replicas migrate it)."""
    with scratch_database("kefu_replicas") as database:
        yield database


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[str]
    log_path: Path
    log_file: IO[str]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=10)

    def post(self, update: dict[str, Any], headers: dict[str, str] | None) -> httpx.Response:
        return httpx.post(self.base_url + HOOK_PATH, json=update, headers=headers, timeout=10)

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"replica {self.name} exited:\n{self.log_path.read_text()}")
        try:
            return self.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def metric(self, name: str, **labels: str) -> float:
        return metric(self.get("/metrics").text, name, **labels)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            self.log_file.close()
        return self.log_path.read_text()


def start_replica(name: str, tmp_path: Path, server: FakeBotApiServer, db_url: str) -> Replica:
    port = free_port()
    team = (
        f"managers = [{MANAGER.user_id}]\n"
        f"agents = [{AGENT.user_id}, {AGENT2.user_id}]\n"
        f"chat_id = {TEAM_CHAT}\n"
    )
    config = tmp_path / f"{name}.toml"
    config.write_text(
        "[telegram]\n"
        f'api_base_url = "{server.base_url}"\n'
        'mode = "webhook"\n'
        f'webhook_url = "{WEBHOOK_URL}"\n'
        f'listen = "127.0.0.1:{port}"\n'
        f'secret_token = "{SECRET}"\n'
        f'[database]\nurl = "{db_url}"\n'
        f"[team]\n{team}"
        # A sweep every 1.2 s; the digest is due from midnight, so it goes out at start.
        "[followup]\ncheck_interval_minutes = 0.02\n"
        '[digest]\ntime = "00:00"\n'
        "[ops]\nlog_json = true\n"
    )
    log_path = tmp_path / f"{name}.log"
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [*kefu_command(), "--config", str(config), "run"],
        env=clean_env(KEFU_TELEGRAM__TOKEN=TOKEN),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return Replica(name, port, process, log_path, log_file)


@pytest.fixture
def server() -> Iterator[FakeBotApiServer]:
    with FakeBotApiServer() as running:
        yield running


def test_two_replicas_share_the_work_and_send_everything_once(
    server: FakeBotApiServer, fresh_pg: ScratchDatabase, tmp_path: Path
) -> None:
    # Started together on an empty database: both migrate it at once on start.
    replicas = [start_replica(n, tmp_path, server, fresh_pg.url) for n in ("a", "b")]
    a, b = replicas
    outputs: list[str] = []
    try:
        for replica in replicas:
            wait_for(replica.healthy, f"replica {replica.name} to be healthy")
            assert replica.get("/healthz").json() == {"database": "ok", "scheduler": "ok"}

        # Every replica points Telegram at the same webhook, with the secret.
        hooks = server.telegram.calls("setWebhook")
        assert len(hooks) == 2
        for call in hooks:
            assert call.params["url"] == WEBHOOK_URL
            assert call.params["secret_token"] == SECRET
            assert call.params["allowed_updates"] == list(ALLOWED_UPDATES)

        updates = UpdateFactory(server.telegram)
        updates.group_chat(TEAM_CHAT, "After-sales team")

        def ticket(text: str) -> dict[str, Any]:
            return updates.message(AGENT.json, TEAM_CHAT, f"/ticket {text}")

        # Alternately at both replicas.
        for n in range(1, 7):
            assert (
                (a if n % 2 else b).post(ticket(f"Case {n} order:O{n}"), SECRET_HEADER).is_success
            )
        received = (clock.now() - timedelta(days=7)).astimezone(TEAM_TZ)
        week_old = ticket(f"Lost parcel received:{received:%Y-%m-%dT%H:%M}")
        assert a.post(week_old, SECRET_HEADER).is_success
        # Telegram redelivering one update to the other replica: handled once.
        twice = ticket("Sent twice")
        assert a.post(twice, SECRET_HEADER).is_success
        assert b.post(twice, SECRET_HEADER).is_success
        # No secret, or the wrong one: refused, and nothing happens.
        assert a.post(ticket("Intruder one"), None).status_code == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}
        assert b.post(ticket("Intruder two"), wrong).status_code == 403

        def logged_replies() -> list[int]:
            texts = [m.text or "" for m in server.telegram.sent_to(TEAM_CHAT)]
            return [int(match.group(1)) for t in texts if (match := LOGGED.search(t))]

        wait_for(lambda: len(logged_replies()) >= 8, "eight ticket replies")

        # The follow-up sweeps run on both replicas; wait until each has swept twice after
        # the escalation went out, so a duplicate would have had its chance.
        escalation = wait_for(lambda: _escalations(server), "the escalation")
        swept = {r.name: r.metric("kefu_job_runs_total", job="followup-sweep") for r in replicas}
        for replica in replicas:
            wait_for(
                lambda r=replica: (
                    r.metric("kefu_job_runs_total", job="followup-sweep") >= swept[r.name] + 2
                ),
                f"two more sweeps on {replica.name}",
            )
        digest_photos = wait_for(
            lambda: [m for m in server.telegram.sent_to(TEAM_CHAT) if m.method == "sendPhoto"],
            "the daily digest",
        )

        # Every ticket stored once and answered once; the intruders' tickets do not exist.
        rows = fresh_pg.query("SELECT id, description FROM ticket ORDER BY id")
        descriptions = [row["description"] for row in rows]
        assert sorted(descriptions) == sorted(
            [*(f"Case {n}" for n in range(1, 7)), "Lost parcel", "Sent twice"]
        )
        assert sorted(logged_replies()) == [row["id"] for row in rows]
        # One escalation, one digest (its chart, and at most its text part) in total.
        assert len(escalation) == 1 and len(_escalations(server)) == 1
        assert len(digest_photos) == 1
        queued = fresh_pg.query("SELECT dedupe_key, status FROM outbox ORDER BY id")
        kinds = Counter(row["dedupe_key"].split(":")[0] for row in queued)
        assert kinds["followup"] == 1 and kinds["digest"] in (1, 2)
        assert all(row["status"] == "sent" for row in queued)

        # The counters moved: nine updates got in (the redelivered one on both replicas).
        handled = [r.metric("kefu_updates_handled_total") for r in replicas]
        assert sum(handled) == 9 and all(count >= 4 for count in handled)
        sent = sum(r.metric("kefu_messages_sent_total", method="sendMessage") for r in replicas)
        assert sent >= 9  # eight replies and the escalation, wherever each was sent from
        assert all(r.metric("kefu_tickets_open") == 8 for r in replicas)
    finally:
        outputs = [replica.stop() for replica in replicas]
    for replica, output in zip(replicas, outputs, strict=True):
        assert replica.process.returncode == 0, output
        _check_json_log(output)


def _escalations(server: FakeBotApiServer) -> list[str]:
    return [
        m.text or ""
        for m in server.telegram.sent_to(TEAM_CHAT)
        if "🚨" in (m.text or "") and "Lost parcel" in (m.text or "")
    ]


def _check_json_log(output: str) -> None:
    """Every line is a JSON object; ticket lines carry ids; the secrets appear nowhere."""
    assert TOKEN not in output and TOKEN.split(":")[1] not in output and SECRET not in output
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]
    logged = [e for e in entries if re.fullmatch(r"ticket #\d+ logged", e["message"])]
    assert logged and all("update_id" in e and "ticket" in e for e in logged)
    assert all(e["chat_id"] == TEAM_CHAT and e["user_id"] == AGENT.user_id for e in logged)


def test_concurrent_db_upgrades_on_a_fresh_database_all_succeed(
    fresh_pg: ScratchDatabase, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{fresh_pg.url}"\n')
    upgrades = 3

    async def scenario() -> list[tuple[int | None, str]]:
        # Holding the migration lock lines the upgrades up behind it, so that on release they
        # really run at the same moment rather than one after another by the luck of start-up.
        holder = await asyncpg.connect(fresh_pg.dsn)
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        processes = [
            await asyncio.create_subprocess_exec(
                *kefu_command(),
                "--config",
                str(config),
                "db",
                "upgrade",
                env=clean_env(),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(upgrades)
        ]

        async def all_waiting() -> bool:
            waiting = await holder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND objid = $1",
                MIGRATION_LOCK_KEY,
            )
            return bool(waiting == upgrades)

        try:
            await eventually(all_waiting, "every upgrade to wait for the migration lock", within=60)
        finally:
            await holder.close()
        outputs = [await process.communicate() for process in processes]
        return [
            (process.returncode, out.decode())
            for process, (out, _) in zip(processes, outputs, strict=True)
        ]

    for returncode, output in asyncio.run(scenario()):
        assert returncode == 0, output
        assert "database is up to date" in output
    [version] = fresh_pg.query("SELECT version_num FROM alembic_version")
    # The newest migration, whichever it is: every upgrade ran the chain to its head.
    head = ScriptDirectory.from_config(alembic_config(fresh_pg.url)).get_current_head()
    assert version["version_num"] == head
    tables = {row["tablename"] for row in fresh_pg.query("SELECT tablename FROM pg_tables")}
    assert {"ticket", "outbox", "processed_update"} <= tables
