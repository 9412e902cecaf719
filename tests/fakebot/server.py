"""`FakeBotApiServer`: a FakeTelegram served over real HTTP on 127.0.0.1 (ephemeral port)."""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .request import URL_RE
from .telegram import JSON, ConnectionDropped, FakeTelegram, UploadedFile, decode_form

_DISPOSITION_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_QUOTED_PAIR_RE = re.compile(r"\\(.)")


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], JSON]:
    """Split a multipart/form-data body into text fields and `UploadedFile`s."""
    boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip().strip('"')
    fields: dict[str, str] = {}
    files: JSON = {}
    for part in body.split(b"--" + boundary.encode())[1:-1]:
        head, _, content = part[2:-2].partition(b"\r\n\r\n")  # strip the CRLFs around parts
        headers = {}
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        # httpx percent-escapes quotes in names and filenames; aiohttp writes them as
        # quoted pairs (\"), as HTTP's quoted strings allow.
        attrs = {
            k: _QUOTED_PAIR_RE.sub(r"\1", v.replace("%22", '"'))
            for k, v in _DISPOSITION_RE.findall(headers.get("content-disposition", ""))
        }
        if "filename" in attrs:
            files[attrs["name"]] = UploadedFile(
                attrs["filename"], content, headers.get("content-type")
            )
        else:
            fields[attrs["name"]] = content.decode()
    return fields, files


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _serve(self) -> None:
        fake = self.server.telegram
        url = urlsplit(self.path)
        match = URL_RE.search(url.path)
        if match is None:
            self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = match.groups()
        params = self._params(url.query)

        delay = fake.take_delay(method, params)
        if delay is not None:
            # The client's read timeout decides whether this times out; we just answer late.
            if self.server.stopping.wait(delay.seconds):
                return
            if not delay.executed and self._client_gone():
                return
        if method.lower() == "getupdates":
            self._long_poll(params.get("offset"), float(params.get("timeout") or 0))
        try:
            status, body = fake.handle(token, method, params)
        except ConnectionDropped:
            self.close_connection = True  # answer nothing: the client sees a dropped connection
            return
        self._reply(status, body)

    def _client_gone(self) -> bool:
        """Whether the client closed the connection (e.g. after its read timeout)."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)

    def _long_poll(self, offset: int | None, timeout: float) -> None:
        # Wait in slices so that stop() does not have to wait for the long poll to end.
        deadline = time.monotonic() + timeout
        while not self.server.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.server.telegram.wait_for_updates(offset, min(remaining, 0.1)):
                return

    def _params(self, query: str) -> JSON:
        fields = dict(parse_qsl(query))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        files: JSON = {}
        if content_type.startswith("application/json"):
            return {**decode_form(fields), **(json.loads(body) if body else {})}
        if content_type.startswith("multipart/form-data"):
            form, files = parse_multipart(body, content_type)
            fields.update(form)
        elif body:  # application/x-www-form-urlencoded, what PTB sends without files
            fields.update(parse_qsl(body.decode(), keep_blank_values=True))
        return {**decode_form(fields), **files}

    def _reply(self, status: int, body: JSON) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have given up (timeout)
            self.wfile.write(payload)


class _KeepAliveHandler(_Handler):
    # HTTP/1.1: a connection serves request after request, as Telegram's servers do.
    protocol_version = "HTTP/1.1"
    # An answer leaves in two writes (head, then body). With Nagle's algorithm on, the body
    # waits for the client to acknowledge the head, and a client on a kept connection
    # delays that acknowledgement by 40 ms: every call would take 40 ms more than it
    # does with Telegram's servers.
    disable_nagle_algorithm = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # long polls must not keep the process alive
    # The bot answers up to `concurrent_updates` messages at once, as Telegram's servers
    # accept; socketserver's backlog of 5 would reset the connections beyond it.
    request_queue_size = 1024

    def __init__(self, telegram: FakeTelegram, keep_alive: bool = False) -> None:
        handler = _KeepAliveHandler if keep_alive else _Handler
        super().__init__(("127.0.0.1", 0), handler)  # loopback only, ever
        self.telegram = telegram
        self.stopping = threading.Event()


class FakeBotApiServer:
    """Serves a FakeTelegram at `base_url` ("http://127.0.0.1:PORT/bot") from a thread.

    `keep_alive`: answer in HTTP/1.1 and keep connections open, as Telegram does (what a
    benchmark of the client's cost needs); by default each answer closes its connection.
    """

    def __init__(self, telegram: FakeTelegram | None = None, *, keep_alive: bool = False) -> None:
        self.telegram = telegram or FakeTelegram()
        self.keep_alive = keep_alive
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotApiServer is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """Pass to `ApplicationBuilder.base_url()` / `Bot(base_url=...)`."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeBotApiServer:
        self._server = _Server(self.telegram, self.keep_alive)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeBotApiServer",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stopping.set()  # long polls and delays notice within 0.1 s
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeBotApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
