"""Draw the digest chart in a short-lived child process.

matplotlib costs the process that imports it about 55 MB it never gives back; a bot that
posts one chart a day should not carry that all day, so it never imports matplotlib itself.
"""

from __future__ import annotations

import asyncio
import json
import sys

from bot.services.digest import Digest


async def render_isolated(digest: Digest) -> bytes:
    """The chart's PNG bytes, drawn by `python -m handlers.chart_process`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "handlers.chart_process",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    png, errors = await process.communicate(json.dumps(digest.to_json()).encode())
    if process.returncode != 0 or not png.startswith(b"\x89PNG"):
        tail = errors.decode(errors="replace")[-2000:]
        raise RuntimeError(f"the chart process failed with code {process.returncode}: {tail}")
    return png


def _main() -> None:
    from handlers import charts

    sys.stdout.buffer.write(charts.render(Digest.from_json(json.load(sys.stdin))))


if __name__ == "__main__":
    _main()
