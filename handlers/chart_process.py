"""Draw the digest chart in a child process that stays while charts are asked for.

matplotlib costs the process that imports it about 55 MB it never gives back, and importing
it costs seconds of CPU. So the bot never imports it: a `ChartWorker` starts one child on
the first chart, keeps it for the next ones (a warm chart costs a fraction of a second), and
lets it go after `idle_seconds` without work, which returns its memory. A child that dies
is replaced on the next chart; one chart is drawn at a time.

The pipe carries frames: a 4-byte big-endian length, then the bytes. The parent sends a
digest's JSON; the child answers one status byte (`K` a PNG follows, `E` an error text
follows) and a frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import struct
import sys
import weakref
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.services.digest import Digest

log = logging.getLogger(__name__)

IDLE_SECONDS = 300.0
_LENGTH = struct.Struct(">I")
_OK, _ERROR = b"K", b"E"


class ChartError(RuntimeError):
    """The chart could not be drawn."""


class ChartWorker:
    """One chart-drawing child process, started on first use and let go when idle."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._process: asyncio.subprocess.Process | None = None
        self._lock: asyncio.Lock | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None
        # How many children this worker has started: a test's evidence of reuse.
        self.started = 0

    @property
    def pid(self) -> int | None:
        """The child's process id while one is running."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def start(self) -> None:
        """Start the child now (it imports matplotlib and warms up) instead of on first use."""
        async with self._turn():
            await self._running()
            self._idle_later()

    async def render(self, digest: Digest) -> bytes:
        """The digest's chart as PNG bytes."""
        return await self.render_json(digest.to_json())

    async def render_json(self, snapshot: dict[str, Any]) -> bytes:
        request = json.dumps(snapshot).encode()
        async with self._turn():
            reused = self.pid is not None
            try:
                return await self._ask(request)
            except (ConnectionError, asyncio.IncompleteReadError, BrokenPipeError) as exc:
                await self._stop()
                if not reused:
                    raise ChartError(f"the chart process died: {exc}") from exc
                # A kept child may have been killed meanwhile (e.g. by the OOM killer):
                # one fresh child gets the same request.
                log.warning("the chart process was gone (%s); starting a new one", exc)
                return await self._ask(request)
            finally:
                self._idle_later()

    async def close(self) -> None:
        """Let the child go now (at shutdown)."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        await self._stop()

    # ---------------------------------------------------------------- inside

    def _turn(self) -> asyncio.Lock:
        # Made on first use, so the lock belongs to the loop that draws.
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is not None and self._process.returncode is None:
            return self._process
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "handlers.chart_process",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self.started += 1
        return self._process

    async def _ask(self, request: bytes) -> bytes:
        process = await self._running()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(_LENGTH.pack(len(request)) + request)
        await process.stdin.drain()
        status = await process.stdout.readexactly(1)
        (length,) = _LENGTH.unpack(await process.stdout.readexactly(_LENGTH.size))
        body = await process.stdout.readexactly(length)
        if status != _OK:
            raise ChartError(f"the chart process failed: {body.decode(errors='replace')}")
        return body

    def _idle_later(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self.idle_seconds, self._on_idle)

    def _on_idle(self) -> None:
        self._idle = None
        # A task of its own: call_later callbacks cannot await.
        self._closing = asyncio.get_running_loop().create_task(self._stop_if_idle())

    async def _stop_if_idle(self) -> None:
        async with self._turn():
            if self._idle is None:  # no chart was drawn while this waited for its turn
                await self._stop()

    async def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        try:
            # Closing its input tells the child to exit; reading its output to the end lets
            # the pipes close with it. (`communicate()` without input leaves stdin open, so
            # the child would wait for a request until the time-out killed it.)
            assert process.stdin is not None
            process.stdin.close()
            await asyncio.wait_for(process.communicate(), timeout=5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


# ------------------------------------------------------------------------- the bot's worker

# One worker per event loop: everything the bot draws (on demand and queued digests) shares
# it, and a loop's asyncio objects never leak into another's (tests run many loops).
_workers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ChartWorker] = (
    weakref.WeakKeyDictionary()
)


def worker() -> ChartWorker:
    """The running loop's chart worker."""
    loop = asyncio.get_running_loop()
    found = _workers.get(loop)
    if found is None:
        found = _workers[loop] = ChartWorker()
    return found


async def render(digest: Digest) -> bytes:
    """The digest's chart as PNG bytes, drawn by the running loop's worker."""
    return await worker().render(digest)


async def close() -> None:
    """Let the running loop's worker go (at shutdown)."""
    found = _workers.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()


# ------------------------------------------------------------------------- the child


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None  # the parent closed the pipe: time to go
    (length,) = _LENGTH.unpack(head)
    return stream.read(length)


def _write_frame(stream: IO[bytes], status: bytes, body: bytes) -> None:
    stream.write(status + _LENGTH.pack(len(body)) + body)
    stream.flush()


def _main() -> None:
    # The parent decides when this process ends (it closes the pipe): a Ctrl-C meant for
    # the bot's process group must not kill a chart half drawn.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from bot.services.digest import Digest
    from handlers import charts

    charts.warm_up()
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    try:
        while (request := _read_frame(source)) is not None:
            try:
                png = charts.render(Digest.from_json(json.loads(request)))
            except Exception as exc:  # the parent says what failed; the child draws on
                _write_frame(sink, _ERROR, f"{type(exc).__name__}: {exc}".encode())
            else:
                _write_frame(sink, _OK, png)
    except BrokenPipeError:
        # The parent is gone (killed mid-chart): nobody is waiting for this chart.
        os._exit(0)


if __name__ == "__main__":
    _main()
