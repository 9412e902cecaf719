"""A private PostgreSQL server for tests that stop and start the database under the bot.

The shared server on 127.0.0.1:5432 runs everybody's tests, so outage tests get an instance of
their own: `initdb` into a temporary directory on a free port, run as the `postgres` OS user
(PostgreSQL refuses to run as root), torn down at the end even when the test fails.

    with PrivatePostgres() as pg:
        url = pg.url("kefu")   # postgresql+asyncpg://postgres@127.0.0.1:PORT/kefu
        pg.stop(); pg.start()
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

BIN = Path(os.environ.get("KEFU_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    """One throw-away PostgreSQL cluster; `start`/`stop`/`restart` it at will."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        self.data = self.root / "data"
        self._log = self.root / "server.log"

    @staticmethod
    def available() -> bool:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return False
        return (BIN / "initdb").exists() and shutil.which("runuser") is not None

    def _as_postgres(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        wrapped = [*command] if os.geteuid() != 0 else ["runuser", "-u", OS_USER, "--", *command]
        return subprocess.run(wrapped, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            entry = pwd.getpwnam(OS_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._as_postgres(
            str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", OS_USER, "--no-sync"
        )
        return self

    def _ctl(self, action: str, *extra: str, check: bool = True) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        result = self._as_postgres(
            str(BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self._log),
            "-o",
            options,
            "-w",
            *extra,
            action,
            check=False,
        )
        if check and result.returncode != 0:
            log = self._log.read_text() if self._log.exists() else ""
            raise RuntimeError(f"pg_ctl {action} failed: {result.stderr}\n{log[-2000:]}")

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends sessions cleanly; `immediate` is a crash (no shutdown checkpoint)."""
        self._ctl("stop", "-m", mode)

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def create_database(self, name: str) -> None:
        self._as_postgres(
            str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", OS_USER, name
        )

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{OS_USER}@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        if self.data.exists():
            with contextlib.suppress(Exception):
                self._ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        try:
            self.init().start()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private PostgreSQL, destroyed after the test whatever happened."""
    if not PrivatePostgres.available():
        pytest.fail("the private PostgreSQL fixture needs initdb and the postgres OS user")
    with PrivatePostgres() as server:
        yield server
