"""`FakeRequest`: a PTB request backend that answers from a `FakeTelegram` in process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from .telegram import JSON, ConnectionDropped, FakeTelegram, UploadedFile

URL_RE = re.compile(r"/bot([^/]+)/(\w+)$")
_NOT_FOUND = json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()


class FakeRequest(BaseRequest):
    """Plugs a FakeTelegram into a PTB `Bot`/`Application` (like PTB's own test suite does).

    It only produces (status, body): PTB's `BaseRequest.post` turns error statuses into its
    real exceptions (RetryAfter, Forbidden, BadRequest, NetworkError, ...).
    """

    def __init__(
        self,
        telegram: FakeTelegram,
        *,
        read_timeout: float | None = 5.0,
    ) -> None:
        self.telegram = telegram
        self._read_timeout = read_timeout
        self.initialized = False

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self.initialized = True

    async def shutdown(self) -> None:
        self.initialized = False

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | DefaultValue[None] | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer one request from FakeTelegram, honouring delay and drop faults."""
        match = URL_RE.search(url)
        if method != "POST" or match is None:  # file downloads are not supported
            return 404, _NOT_FOUND
        token, api_method = match.groups()
        params = request_params(request_data)
        timeout = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout

        delay = self.telegram.take_delay(api_method, params)
        if delay is not None:
            if timeout is not None and delay.seconds > timeout:
                await asyncio.sleep(timeout)
                if delay.executed:
                    self._handle(token, api_method, params)
                raise TimedOut(f"FakeTelegram: {api_method} took longer than {timeout}s")
            await asyncio.sleep(delay.seconds)

        if api_method.lower() == "getupdates":
            await self._long_poll(params.get("offset"), float(params.get("timeout") or 0))
        status, body = self._handle(token, api_method, params)
        return status, json.dumps(body).encode()

    def _handle(self, token: str, method: str, params: JSON) -> tuple[int, JSON]:
        try:
            return self.telegram.handle(token, method, params)
        except ConnectionDropped as exc:
            raise NetworkError(f"FakeTelegram dropped the connection ({method})") from exc

    async def _long_poll(self, offset: int | None, poll_timeout: float) -> None:
        """Wait up to `poll_timeout` for updates, like getUpdates' long polling."""
        loop, arrived = asyncio.get_running_loop(), asyncio.Event()

        def wake() -> None:  # called from whatever thread pushed the update
            loop.call_soon_threadsafe(arrived.set)

        self.telegram.add_listener(wake)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_timeout):
                    while not self.telegram.updates_ready(offset):
                        await arrived.wait()
                        arrived.clear()
        finally:
            self.telegram.remove_listener(wake)


def request_params(request_data: RequestData | None) -> JSON:
    """The call's parameters as native values, uploaded files as `UploadedFile`."""
    if request_data is None:
        return {}
    params: dict[str, Any] = dict(request_data.parameters)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        params[name] = UploadedFile(filename or name, data, mime_type)
    return params
