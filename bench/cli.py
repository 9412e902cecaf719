"""How long the `kefu` command makes a person wait: `--help`, `check-config`, `digest --json`.

    python bench/cli.py            # 7 runs of each
    python bench/cli.py --short    # 3 runs: what CI runs

Each command runs as a child process, as typed, on a fresh SQLite database with the schema
applied and nothing in it; the best and median wall time of the runs are reported, with
the child's CPU time (from `wait4`: steadier than wall time on a busy machine). Nearly all
of it is importing Python modules, so the figures say what each command imports.
`bench/digest.py` times `kefu digest --json` on a million tickets.

Goals (issue 16): `kefu --help` <= 0.3 s; `kefu digest --json` <= 1 s on an empty database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"--help": 0.3, "digest --json": 1.0}


def kefu_command() -> list[str]:
    script = Path(sys.executable).parent / "kefu"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `argv`, which must succeed."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        assert process.stderr is not None
        raise SystemExit(f"{' '.join(argv)} failed: {process.stderr.read().decode()}")
    return seconds, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="3 runs of each instead of 7")
    args = parser.parse_args()
    runs = 3 if args.short else 7
    kefu = kefu_command()
    with tempfile.TemporaryDirectory(prefix="kefu-cli-") as folder:
        config = Path(folder) / "config.toml"
        config.write_text(
            '[telegram]\ntoken = "123456:BENCH-token-abcdefghijklmnopqrstuvwxyz"\n'
            f'[database]\nurl = "sqlite+aiosqlite:///{Path(folder) / "kefu.db"}"\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
        env["KEFU_CONFIG"] = str(config)
        timed([*kefu, "db", "upgrade"], env)
        print(f"kefu commands, {runs} runs each, empty SQLite database")
        print(f"{'command':<22}{'best s':>8}{'median s':>10}{'CPU s':>8}")
        verdicts = []
        for name in ("--help", "check-config", "digest --json"):
            results = [timed([*kefu, *name.split()], env) for _ in range(runs)]
            walls = [wall for wall, _ in results]
            cpu = min(c for _, c in results)
            best = min(walls)
            print(f"kefu {name:<17}{best:>8.2f}{statistics.median(walls):>10.2f}{cpu:>8.2f}")
            if name in GOALS:
                met = best <= GOALS[name]
                verdicts.append(
                    f"goal: kefu {name} <= {GOALS[name]} s: {'met' if met else 'NOT met'}"
                )
        print("\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
