"""Resident memory of a `kefu run` process that has handled 100,000 tickets.

    python bench/memory.py            # 100,000 `/ticket` updates
    python bench/memory.py --short    # 5,000: a quick check for CI

`kefu run` runs as its own process against a fake Bot API served over HTTP
(FakeBotApiServer), long polling as in production, on a fresh SQLite file. Updates come
from 50 agents in their private chats and the team chat. VmRSS and VmHWM (the peak) are
read from /proc/PID/status after start-up, at every tenth of the run, and at the end.

Only one thing differs from production: Telegram's flood limits (30 replies a second) are
taken out of the child's rate limiter (tests/throttle.py), as the fake has none and 100,000
replies would otherwise take an hour of waiting. Goal (issue 16): at most 100 MB, the peak
included, and flat: the end within 5 MB of the tenth of the run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_MB = 100.0
GOAL_GROWTH_MB = 5.0
AGENTS = range(9001, 9051)
TEAM_CHAT = -1001000000001
MANAGER = 1001


def child(config: str) -> int:
    """`kefu run`, with the flood-limit pacing taken out of its rate limiter."""
    import bot.app
    from bot import cli
    from tests.throttle import unthrottle

    build = bot.app.build_application

    def unpaced(*args: object, **kwargs: object) -> object:
        app = build(*args, **kwargs)  # type: ignore[arg-type]
        unthrottle(app)
        return app

    bot.app.build_application = unpaced  # type: ignore[assignment]
    return cli.main(["--config", config, "run"])


def status(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of `pid` in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (
        int(fields["VmRSS"].split()[0]) / 1024,
        int(fields["VmHWM"].split()[0]) / 1024,
    )


def run(count: int, folder: Path) -> int:
    from tests.fakebot import FakeBotApiServer, UpdateFactory

    with FakeBotApiServer() as server:
        telegram = server.telegram
        agents = ", ".join(str(a) for a in AGENTS)
        config = folder / "config.toml"
        config.write_text(
            f'[telegram]\napi_base_url = "{server.base_url}"\npoll_timeout = 1\n'
            f'token = "123456:BENCH-token-abcdefghijklmnopqrstuvwxyz"\n'
            f'[database]\nurl = "sqlite+aiosqlite:///{folder / "kefu.db"}"\n'
            f"[team]\nmanagers = [{MANAGER}]\nagents = [{agents}]\nchat_id = {TEAM_CHAT}\n"
            '[ops]\nlog_level = "WARNING"\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
        env["PYTHONPATH"] = str(ROOT)
        log = (folder / "kefu.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", str(config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            updates = UpdateFactory(telegram)
            updates.group_chat(TEAM_CHAT, "After-sales team")
            deadline = time.monotonic() + 60
            while not telegram.calls("getUpdates"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"kefu run did not start: {(folder / 'kefu.log').read_text()}")
                time.sleep(0.1)
            started = status(process.pid)
            samples: list[tuple[int, float]] = []
            start = time.perf_counter()
            batch = 1_000
            for first in range(0, count, batch):
                for n in range(first, min(first + batch, count)):
                    agent = AGENTS[n % len(AGENTS)]
                    user = UpdateFactory.user(agent, f"Agent {agent}", f"agent{agent}")
                    chat = agent if n % 3 else TEAM_CHAT
                    telegram.push_update(
                        updates.message(user, chat, f"/ticket Parcel {n} broken order:M{n}")
                    )
                # Keep the backlog small, as a real chat would: wait for the replies.
                wait_for_replies(telegram, min(first + batch, count), process)
                if (first // batch) % max(1, count // batch // 10) == 0:
                    samples.append((first + batch, status(process.pid)[0]))
            seconds = time.perf_counter() - start
            rss, peak = status(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=60)
            log.close()
        print(f"kefu run, {count:,} /ticket updates over HTTP in {seconds:.0f} s")
        print(f"  ({count / seconds:.0f} updates/s, the flood-limit pacing taken out)")
        print(f"RSS after start-up:     {started[0]:.1f} MB")
        for handled, sample in samples:
            print(f"RSS after {handled:>7,}:      {sample:.1f} MB")
        print(f"RSS at the end:         {rss:.1f} MB (peak {peak:.1f} MB)")
        verdict = "met" if peak <= GOAL_MB else "NOT met"
        print(f"goal: at most {GOAL_MB:.0f} MB, the peak included: {verdict}")
        # Flat: what the rest of the run adds once its first tenth has warmed the caches.
        tenth = next((mb for handled, mb in samples if handled >= count // 10), samples[-1][1])
        growth = rss - tenth
        flat = "met" if growth <= GOAL_GROWTH_MB else "NOT met"
        print(
            f"goal: flat (grew {growth:.1f} MB after the first tenth; <= {GOAL_GROWTH_MB:g}): {flat}"
        )
        return 0


def wait_for_replies(telegram: object, expected: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 600
    while len(telegram.sent) < expected:  # type: ignore[attr-defined]
        if process.poll() is not None:
            raise SystemExit("kefu run died")
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(telegram.sent)} of {expected} replies")  # type: ignore[attr-defined]
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="5,000 tickets instead of 100,000")
    parser.add_argument("--tickets", type=int, help="how many tickets")
    parser.add_argument("--child", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    count = args.tickets or (5_000 if args.short else 100_000)
    with tempfile.TemporaryDirectory(prefix="kefu-memory-") as folder:
        return run(count, Path(folder))


if __name__ == "__main__":
    sys.exit(main())
