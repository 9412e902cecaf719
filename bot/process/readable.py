"""Updates python-telegram-bot cannot read: logged, skipped, and never a reason to stop.

An update from a Bot API version the library was not built for (a poll whose options lack a
field it requires, say) fails `Update.de_json`. The webhook (bot/process/web.py) answers it
200 all the same, or Telegram would send it again and again. Polling is worse off: the
library parses getUpdates' answer as a whole, so one such update fails the batch and the
poller asks for the same batch again, forever. `ReadableUpdates` wraps the poll's request
and hands such an update on with its id alone, so the offset moves past it and the updates
around it are handled.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram import Bot, Update
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)


def parse(data: dict[str, Any], bot: Bot | None) -> Update | None:
    """The update `data` holds (it has an int update_id), or None, logged, when the library
    cannot read it."""
    try:
        return Update.de_json(data, bot)
    except Exception as exc:
        log.warning(
            "update %s could not be read and is skipped (%s: %s); it carries %s",
            data["update_id"],
            type(exc).__name__,
            exc,
            ", ".join(sorted(key for key in data if key != "update_id")) or "nothing else",
        )
        return None


class ReadableUpdates(BaseRequest):
    """The getUpdates request, with each update the library cannot read replaced by one
    that carries only its id."""

    def __init__(self, inner: BaseRequest) -> None:
        self._inner = inner

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(  # type: ignore[override]
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        **timeouts: ODVInput[float],  # read_, write_, connect_, pool_timeout, passed on as given
    ) -> tuple[int, bytes]:
        status, payload = await self._inner.do_request(url, method, request_data, **timeouts)
        if status == 200 and url.endswith("/getUpdates"):
            payload = _readable(payload)
        return status, payload


def _readable(payload: bytes) -> bytes:
    try:
        body = json.loads(payload)
    except ValueError:
        return payload  # the library reports a broken answer itself
    updates = body.get("result") if isinstance(body, dict) else None
    if not isinstance(updates, list):
        return payload
    changed = False
    for index, data in enumerate(updates):
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            continue
        # de_json copies as it goes, so the check leaves `data` as it was.
        if parse(data, None) is None:
            updates[index] = {"update_id": data["update_id"]}
            changed = True
    return json.dumps(body).encode() if changed else payload
