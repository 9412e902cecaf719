"""The Bot API over the wire: python-telegram-bot's request seam, on aiohttp and orjson.

PTB's default `HTTPXRequest` spends about 3 ms of CPU on every call (httpx and httpcore's
layers, and a failing `import sniffio` each time when sniffio is absent: encode/httpcore
discussion #1102); a `/ticket` makes at least one call, and the poller more. aiohttp's
client does the same work in well under a millisecond. PTB lets a bot plug in its own
`BaseRequest` (its test suite does so too): this one only moves bytes. It answers
(status, body) and turns transport failures into PTB's `TimedOut` / `NetworkError`; PTB
turns error statuses into its exceptions, and retries stay above it (the rate limiter,
the outbox), never here.

Parameters go as one JSON body (the Bot API accepts it, and orjson writes it in
microseconds); a call that uploads files goes as multipart/form-data, as PTB sends it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import orjson
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

_JSON = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """PTB's `BaseRequest` on one aiohttp session with a connection pool; timeouts as
    `HTTPXRequest` takes them (seconds; None waits for ever)."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0),
                headers={"User-Agent": self.USER_AGENT},
                # Proxies come from the environment once per host (`_proxy`): aiohttp's own
                # `trust_env` reads the environment and ~/.netrc again on every request.
                trust_env=False,
                raise_for_status=False,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _proxy(self, url: str) -> str | None:
        """The proxy for `url`'s host from HTTPS_PROXY / ALL_PROXY / NO_PROXY (as PTB's
        default client honours them), looked up once per host."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            found = getproxies()
            proxy = found.get(parts.scheme) or found.get("all")
            self._proxies[key] = None if proxy and proxy_bypass(key[1]) else proxy
        return self._proxies[key]

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        try:
            parsed: JSONDict = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            log.error("Telegram answered with invalid JSON: %r", payload[:200])
            raise TelegramError("Invalid server response") from exc
        return parsed

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = bool(request_data and request_data.contains_files)
        body: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if files:
                body = _multipart(request_data)
            else:
                body, headers = orjson.dumps(request_data.parameters), _JSON
        pool = _given(pool_timeout, self._pool_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)
        read = _given(read_timeout, self._read_timeout)
        timeout = aiohttp.ClientTimeout(
            # aiohttp has no write timeout of its own: the whole call is bounded by the sum
            # of the four budgets, and the answer (once the request is written) by `read`.
            total=_sum(pool, connect, write, read),
            connect=_sum(pool, connect),  # waiting for a free connection, then making one
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout, proxy=self._proxy(url)
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut(f"Timed out: {type(exc).__name__}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """Text fields as PTB encodes them for forms (JSON for non-strings), then the files."""
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename or name, content_type=mime_type)
    return form


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _sum(*budgets: float | None) -> float | None:
    return None if any(b is None for b in budgets) else sum(b for b in budgets if b is not None)
