"""What a `/ticket` costs `kefu run` end to end, over real HTTP, long polling and webhook.

    python bench/http_cost.py                 # the full run on SQLite (about five minutes)
    python bench/http_cost.py --db postgres   # the same on a scratch PostgreSQL database
    python bench/http_cost.py --short         # a few seconds of each: what CI runs
    python bench/http_cost.py --only polling  # one transport

`kefu run` runs as its own process, exactly as deployed, against a fake Bot API server
(tests/fakebot FakeBotApiServer) served over HTTP from this process with keep-alive, as
Telegram's servers are. The server enforces Telegram's overall flood limit like Telegram
does (429 past `messages_per_second` in any one second; 20 a minute in a group); it does
not enforce the one-a-second-per-chat guideline, which twenty agents each logging many
tickets a second could not keep anyway. Tickets come from agents in their private chats.

For each transport, after start-up work is done (the bot's CPU has gone quiet):
- burst: N `/ticket` from 20 agents pushed at once, at the default limit (30 a second) and
  with `messages_per_second = 1000`: tickets a second, 429 answers, and the bot's CPU
  per ticket (utime + stime of the bot and its children, /proc, over the burst only);
- steady: 10 tickets a second from 100 agents; reply latency p50 / p99 (from the update
  being offered to Telegram's receipt of the reply);
- backlog (long polling): the bot stopped, 2,000 updates from 20 agents pile up, the bot is
  started again: time and CPU until every one is answered, nothing lost, no 429;
- peak RSS of the bot (VmHWM).

The machine's cores are shared, so wall-clock figures are noisy; CPU time is the steadier
measure. Goals (issue 16): CPU per ticket <= 3 ms; >= 27 tickets/s at the default limit
with no 429; >= 300 tickets/s at 1000; p99 <= 50 ms at 10/s; peak RSS <= 100 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakebot import FakeBotApiServer, FakeTelegram, UpdateFactory  # noqa: E402
from tests.fakebot.telegram import JSON  # noqa: E402
from tests.scratch_pg import scratch_database  # noqa: E402

TOKEN = "123456:BENCH-token-abcdefghijklmnopqrstuvwxyz"
SECRET = "bench-secret-token"
MANAGER = 1001
TEAM_CHAT = -1001000000001
FIRST_AGENT = 9001
AGENTS = 100
DEFAULT_RATE = 30
PAID_RATE = 1000
TICKS = os.sysconf("SC_CLK_TCK")
# The last of the jobs `kefu run` schedules at start runs this long after it is up
# (bot/jobs.py: the missed digest at 3 s, the sweeps at 5 s).
STARTUP_JOBS_SECONDS = 6.0

GOALS = {"cpu_ms": 3.0, "default_rate": 27.0, "paid_rate": 300.0, "p99_ms": 50.0, "rss_mb": 100}


@dataclass(frozen=True)
class Sizes:
    burst_default: int
    burst_paid: int
    steady_seconds: float
    backlog: int


FULL = Sizes(burst_default=600, burst_paid=3000, steady_seconds=30, backlog=2000)
SHORT = Sizes(burst_default=60, burst_paid=300, steady_seconds=3, backlog=100)


class TimedTelegram(FakeTelegram):
    """The fake Bot API, also noting when each ticket's answer reached it."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.answers: list[tuple[float, int]] = []  # (monotonic time, chat id)
        self.answered = threading.Condition()
        # When getUpdates first handed out each update: (monotonic time, chat id) by id.
        self.handed: dict[int, tuple[float, int]] = {}

    def handle(self, token: str, method: str, params: JSON) -> tuple[int, JSON]:
        status, body = super().handle(token, method, params)
        if status == 200 and method == "getUpdates":
            now = time.monotonic()
            for update in body["result"]:
                if "message" in update and update["update_id"] not in self.handed:
                    self.handed[update["update_id"]] = (now, update["message"]["chat"]["id"])
        if (
            status == 200
            and method == "sendMessage"
            and str(params.get("text", "")).startswith("Ticket #")
        ):
            with self.answered:
                self.answers.append((time.monotonic(), int(params["chat_id"])))
                self.answered.notify_all()
        return status, body

    def wait_answers(self, count: int, timeout: float) -> None:
        with self.answered:
            if not self.answered.wait_for(lambda: len(self.answers) >= count, timeout):
                raise SystemExit(f"only {len(self.answers)} of {count} answers in {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid`, its reaped children, and its live descendants."""
    total = 0.0
    for proc in [pid, *_descendants(pid)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime: fields 14-17 of proc(5), 11-14 after the name.
            total += sum(int(v) for v in fields[11:15]) / TICKS
    return total


def own_cpu_seconds() -> float:
    """This process's CPU: the fake Telegram's threads and the update feeder."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def kefu_command() -> list[str]:
    script = Path(sys.executable).parent / "kefu"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


@dataclass
class Bot:
    """One `kefu run` process."""

    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit(f"kefu run died:\n{self.log.read_text()[-3000:]}")

    def settle(self, timeout: float = 120) -> None:
        """Wait until start-up work is done: the jobs that run at start (the missed digest
        at 3 s, its chart in a child process, the sweeps at 5 s) have run, no child is
        left, and the bot's CPU has been quiet for a second."""
        deadline = time.monotonic() + timeout
        time.sleep(max(0.0, self.started + STARTUP_JOBS_SECONDS - time.monotonic()))
        last = cpu_seconds(self.process.pid)
        quiet = 0
        while quiet < 4 and time.monotonic() < deadline:
            time.sleep(0.25)
            self.alive()
            now = cpu_seconds(self.process.pid)
            busy = now - last > 0.011 or bool(_descendants(self.process.pid))
            quiet = 0 if busy else quiet + 1
            last = now


@dataclass
class Transport:
    name: str  # "polling" or "webhook"
    server: FakeBotApiServer
    telegram: TimedTelegram
    updates: UpdateFactory
    folder: Path
    db_url: str
    webhook_port: int = 0
    _pool: WebhookPool | None = None

    def start(self, rate: int, *, settle: bool = True) -> Bot:
        config = self.folder / f"{self.name}-{rate}.toml"
        agents = ", ".join(str(FIRST_AGENT + n) for n in range(AGENTS))
        telegram = (
            f'[telegram]\napi_base_url = "{self.server.base_url}"\n'
            f"messages_per_second = {rate}\npoll_timeout = 10\n"
        )
        if self.name == "webhook":
            telegram += (
                f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:{self.webhook_port}/tg"\n'
                f'listen = "127.0.0.1:{self.webhook_port}"\nsecret_token = "{SECRET}"\n'
            )
        config.write_text(
            telegram
            + f'[database]\nurl = "{self.db_url}"\n'
            + f"[team]\nmanagers = [{MANAGER}]\nagents = [{agents}]\nchat_id = {TEAM_CHAT}\n"
            + '[ops]\nlog_level = "WARNING"\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
        env["KEFU_TELEGRAM__TOKEN"] = TOKEN
        log = self.folder / f"{self.name}-{rate}.log"
        self.telegram.webhook = None
        process = subprocess.Popen(
            [*kefu_command(), "--config", str(config), "run"],
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        bot = Bot(process, log)
        deadline = time.monotonic() + 120
        while not self._ready():
            bot.alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"kefu run did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.01)
        bot.started = time.monotonic()  # the jobs' clock starts with the poller / webhook
        if settle:
            bot.settle()
        return bot

    def _ready(self) -> bool:
        if self.name == "webhook":
            return self.telegram.webhook is not None
        # PTB deletes any webhook just before it starts polling (a getUpdates may be a
        # stopped bot's long poll still ending on the server).
        return bool(self.telegram.calls("deleteWebhook"))

    def ticket(self, n: int, agent: int) -> JSON:
        user = UpdateFactory.user(agent, f"Agent {agent}", f"agent{agent}")
        update = self.updates.message(user, agent, f"/ticket Parcel {n} broken order:M{n}")
        return {"update_id": self.updates.next_update_id(), **update}

    def offer(self, update: JSON) -> None:
        """Telegram receives an update: queued for getUpdates, or posted to the webhook."""
        if self.name == "polling":
            self.telegram.push_update(update)
        else:
            self.pool().post(update)

    def pool(self) -> WebhookPool:
        if self._pool is None:
            self._pool = WebhookPool(self.webhook_port)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()


class WebhookPool:
    """Telegram's side of a webhook: up to 40 connections posting updates (its default)."""

    CONNECTIONS = 40

    def __init__(self, port: int) -> None:
        self.port = port
        self.todo: queue.Queue[bytes | None] = queue.Queue()
        self.failures = 0
        self.threads = [
            threading.Thread(target=self._worker, daemon=True) for _ in range(self.CONNECTIONS)
        ]
        for thread in self.threads:
            thread.start()

    def post(self, update: JSON) -> None:
        self.todo.put(json.dumps(update).encode())

    def _worker(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        while (body := self.todo.get()) is not None:
            for _attempt in range(5):  # as Telegram does, an update not taken is sent again
                try:
                    connection.request("POST", "/tg", body, headers)
                    response = connection.getresponse()
                    response.read()
                    if response.status == 200:
                        break
                except OSError:
                    connection.close()
                self.failures += 1
                time.sleep(0.1)

    def close(self) -> None:
        for _ in self.threads:
            self.todo.put(None)


@dataclass
class Figures:
    rows: list[tuple[str, str]] = field(default_factory=list)
    goals: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        self.rows.append((name, value))
        print(f"  {name:<52}{value}", flush=True)

    def goal(self, name: str, met: bool) -> None:
        self.goals.append((name, met))


PROFILE: Path | None = None  # --profile: where py-spy writes the bursts' stacks


@contextlib.contextmanager
def profiled(pid: int, name: str) -> Iterator[None]:
    """py-spy (when installed and asked for) samples the bot meanwhile: collapsed stacks."""
    if PROFILE is None:
        yield
        return
    out = PROFILE / f"{name}.txt"
    spy = subprocess.Popen(
        [
            *("py-spy", "record", "--pid", str(pid), "--rate", "250", "--format", "raw"),
            *("--subprocesses", "--output", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # py-spy attaches
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=30)
        print(f"  (profile: {out})")


def burst(t: Transport, bot: Bot, count: int, rate: int, figures: Figures) -> None:
    """`count` tickets from 20 agents offered at once; timed until all are answered."""
    t.telegram.clear()
    t.telegram.answers.clear()
    t.telegram.rate_limits(per_second_overall=rate, per_chat_per_second=None)
    updates = [t.ticket(n, FIRST_AGENT + n % 20) for n in range(count)]
    with profiled(bot.process.pid, f"{t.name}-{rate}"):
        cpu0, start = cpu_seconds(bot.process.pid), time.monotonic()
        server0 = own_cpu_seconds()
        for update in updates:
            t.offer(update)
        t.telegram.wait_answers(count, timeout=max(120.0, 5 * count / rate))
        seconds = time.monotonic() - start
        cpu = cpu_seconds(bot.process.pid) - cpu0
        server = own_cpu_seconds() - server0
    bot.alive()
    rejected = t.telegram.too_many_requests_count
    label = f"{t.name}, {count} tickets from 20 agents at {rate}/s"
    figures.add(f"{label}: tickets/s", f"{count / seconds:7.1f}   (429 answers: {rejected})")
    figures.add(
        f"{label}: bot CPU ms/ticket",
        f"{1000 * cpu / count:7.2f}   (the fake Telegram's: {1000 * server / count:.2f})",
    )
    if rate == DEFAULT_RATE:
        figures.goal(
            f"{t.name}: >= {GOALS['default_rate']:.0f}/s at the default limit, no 429",
            count / seconds >= GOALS["default_rate"] and rejected == 0,
        )
    else:
        figures.goal(
            f"{t.name}: >= {GOALS['paid_rate']:.0f}/s at 1000",
            count / seconds >= GOALS["paid_rate"],
        )
        figures.goal(
            f"{t.name}: <= {GOALS['cpu_ms']:.0f} ms CPU per ticket",
            1000 * cpu / count <= GOALS["cpu_ms"],
        )


def steady(t: Transport, bot: Bot, seconds: float, figures: Figures) -> None:
    """10 tickets a second from 100 agents in turn; latency from offer to answer.

    A team at work: every agent has written to the bot since it started (the first update
    of a person after a start records their name, a write of its own), so each logs one
    ticket first, untimed.
    """
    t.telegram.clear()
    t.telegram.answers.clear()
    for n in range(AGENTS):
        t.offer(t.ticket(-n, FIRST_AGENT + n))
    t.telegram.wait_answers(AGENTS, timeout=120)
    bot.settle()
    t.telegram.clear()
    t.telegram.answers.clear()
    count = int(seconds * 10)
    offers: dict[int, list[float]] = {}
    with profiled(bot.process.pid, f"{t.name}-steady"):
        cpu0 = cpu_seconds(bot.process.pid)
        start = time.monotonic()
        for n in range(count):
            agent = FIRST_AGENT + n % AGENTS
            update = t.ticket(n, agent)
            time.sleep(max(0.0, start + n / 10 - time.monotonic()))
            offers.setdefault(agent, []).append(time.monotonic())
            t.offer(update)
        t.telegram.wait_answers(count, timeout=60)
        cpu = cpu_seconds(bot.process.pid) - cpu0
    answers: dict[int, list[float]] = {}
    for at, chat in t.telegram.answers:
        answers.setdefault(chat, []).append(at)
    # One agent's tickets are answered in the order offered (per-person order).
    ms = sorted(
        1000 * (answered - offered)
        for agent, times in offers.items()
        for offered, answered in zip(times, answers[agent], strict=True)
    )
    p50, p99 = statistics.median(ms), ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    figures.add(
        f"{t.name}, 10 tickets/s from 100 agents: latency p50 / p99",
        f"{p50:7.1f} / {p99:.1f} ms  (max {ms[-1]:.1f})",
    )
    if t.name == "polling":  # the part from the long poll's answer to the reply's arrival
        handed: dict[int, list[float]] = {}
        for at, chat in sorted(t.telegram.handed.values()):
            if at >= start:
                handed.setdefault(chat, []).append(at)
        inside = sorted(
            1000 * (answered - got)
            for agent, times in handed.items()
            for got, answered in zip(times, answers[agent], strict=False)
        )
        figures.add(
            "polling, 10 tickets/s: of which in the bot, p50 / p99",
            f"{statistics.median(inside):7.1f} / {inside[int(0.99 * (len(inside) - 1))]:.1f} ms",
        )
    figures.add(f"{t.name}, 10 tickets/s: bot CPU ms/ticket", f"{1000 * cpu / count:7.2f}")
    figures.goal(f"{t.name}: p99 <= {GOALS['p99_ms']:.0f} ms at 10/s", p99 <= GOALS["p99_ms"])


def backlog(t: Transport, count: int, figures: Figures) -> float:
    """The bot stopped; `count` updates pile up; the bot starts again and drains them."""
    t.telegram.clear()
    t.telegram.answers.clear()
    for n in range(count):
        t.offer(t.ticket(n, FIRST_AGENT + n % 20))
    t.telegram.rate_limits(per_second_overall=DEFAULT_RATE, per_chat_per_second=None)
    start = time.monotonic()
    bot = t.start(DEFAULT_RATE, settle=False)
    try:
        polling, started = time.monotonic(), cpu_seconds(bot.process.pid)
        t.telegram.wait_answers(count, timeout=max(120.0, 5 * count / DEFAULT_RATE))
        done = t.telegram.answers[-1][0]
        cpu = cpu_seconds(bot.process.pid) - started
        chats = [chat for _, chat in t.telegram.answers]
        figures.add(
            f"polling, backlog of {count} from 20 agents at {DEFAULT_RATE}/s: time",
            f"{done - polling:7.1f} s from the first poll (ideal {count / DEFAULT_RATE:.1f}), "
            f"{done - start:.1f} s from the restart",
        )
        figures.add(
            "polling, backlog: bot CPU from the first poll, s / ms per ticket",
            f"{cpu:7.2f}   / {1000 * cpu / count:.2f}  (start-up before it: {started:.2f} s)",
        )
        lost = count - len(chats)
        rejected = t.telegram.too_many_requests_count
        figures.add("polling, backlog: answers missing / 429 answers", f"{lost:7d}   / {rejected}")
        figures.goal("polling: backlog drained, nothing lost, no 429", lost == 0 and rejected == 0)
        return peak_rss_mb(bot.process.pid)
    finally:
        bot.stop()


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'kefu.db'}"
    else:
        with scratch_database("kefu_bench_http") as scratch:
            yield scratch.url


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_transport(name: str, sizes: Sizes, db_url: str, folder: Path, figures: Figures) -> None:
    telegram = TimedTelegram()
    with FakeBotApiServer(telegram, keep_alive=True) as server:
        updates = UpdateFactory(telegram)
        t = Transport(name, server, telegram, updates, folder, db_url, webhook_port=free_port())
        peaks = []
        try:
            bot = t.start(DEFAULT_RATE)
            at_rest = peak_rss_mb(bot.process.pid)
            try:
                burst(t, bot, sizes.burst_default, DEFAULT_RATE, figures)
                bot.settle()
                steady(t, bot, sizes.steady_seconds, figures)
                peaks.append(peak_rss_mb(bot.process.pid))
            finally:
                bot.stop()
            if name == "polling":
                peaks.append(backlog(t, sizes.backlog, figures))
            bot = t.start(PAID_RATE)
            try:
                burst(t, bot, sizes.burst_paid, PAID_RATE, figures)
                peaks.append(peak_rss_mb(bot.process.pid))
            finally:
                bot.stop()
        finally:
            t.close()
        figures.add(
            f"{name}: peak RSS of the bot",
            f"{max(peaks):7.1f} MB  (after start-up {at_rest:.1f}; by run: "
            f"{' / '.join(f'{peak:.1f}' for peak in peaks)})",
        )
        figures.goal(f"{name}: peak RSS <= {GOALS['rss_mb']} MB", max(peaks) <= GOALS["rss_mb"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="a few seconds of each (CI)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--only", choices=("polling", "webhook"), help="one transport")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the bursts into DIR")
    args = parser.parse_args()
    if args.profile:
        global PROFILE
        PROFILE = Path(args.profile)
        PROFILE.mkdir(parents=True, exist_ok=True)
    sizes = SHORT if args.short else FULL
    figures = Figures()
    print(f"kefu run over HTTP on {args.db}{' (short)' if args.short else ''}", flush=True)
    for name in ("polling", "webhook"):
        if args.only not in (None, name):
            continue
        with (
            tempfile.TemporaryDirectory(prefix="kefu-http-") as folder,
            database(args.db, Path(folder)) as db_url,
        ):
            run_transport(name, sizes, db_url, Path(folder), figures)
    for name, met in figures.goals:
        print(f"goal: {name}: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
