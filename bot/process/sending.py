"""Every Bot API call rides out Telegram's bad moments in place, above the transport.

A direct reply (the `/ticket` acknowledgement that carries the customer link, a refusal, a
listing) has nobody behind it to try again: lost, the agent logs the ticket a second time
and the customer never gets a survey. So each call is retried where it is made, by the rate
limiter every call passes through, whatever transport carries it:

- a flood limit (429 RetryAfter): after the time Telegram names; every other call waits too
  (AIORateLimiter), since the limit is the bot's, not the chat's;
- Telegram failing (5xx) or the connection refused or dropped before an answer: after a
  back-off of 0.5, 1, 2, 4, 8 s. Telegram did not take the message, so trying again
  cannot double it;
- a time-out: the answer is late, and the message may have been delivered. Sends wait for it
  for PATIENCE seconds (not the transport's usual few) so a slow Telegram is waited out
  rather than raced; only a call that gets no answer even then is tried again, accepting a
  rare double over a lost acknowledgement;
- a refusal (403 Forbidden, 400 BadRequest, 401): never retried, nothing will change.

`[telegram] send_retries` bounds each kind (flood limits, failures). The outbox
(bot/outbox/dispatcher.py) keeps its own record of attempts and back-off across hours and
restarts, so its sends say `rate_limit_args=QUEUED` and are retried in place only for flood
limits. A reply still failing after its retries is queued in the outbox by its handler
(`handlers.common.reply`), which goes on for hours and logs when it gives up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram._utils.defaultvalue import DefaultValue
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.process.telemetry import SEND_METHODS, CountingRateLimiter, Metrics

log = logging.getLogger(__name__)

# How long a send waits for Telegram's answer before counting it as timed out: well past a
# slow moment, so that a time-out (which may hide a delivered message) is rare.
PATIENCE = 30.0
# The first wait after a failure; it doubles with each further one.
FIRST_BACKOFF = 0.5

_ApiResult = bool | dict[str, Any] | list[dict[str, Any]]


@dataclass(frozen=True)
class InPlace:
    """`rate_limit_args` of a call: whether failures (not flood limits) are retried here."""

    failures: bool = True


# For senders that retry on their own, with a record that survives restarts (the outbox).
QUEUED = InPlace(failures=False)


def transient(error: Exception) -> bool:
    """A failure that trying again can cure: a flood limit, Telegram erring, the network, a
    late answer; not a refusal. (BadRequest and TimedOut are NetworkError subclasses.)"""
    return isinstance(error, RetryAfter) or (
        isinstance(error, NetworkError) and not isinstance(error, BadRequest)
    )


class RetryingRateLimiter(CountingRateLimiter):
    """The rate limiter every Bot API call passes: counts, paces, and retries in place."""

    def __init__(self, metrics: Metrics, *, messages_per_second: int, max_retries: int) -> None:
        super().__init__(metrics, messages_per_second=messages_per_second, max_retries=max_retries)
        self.retries = max_retries

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, _ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: InPlace | int | None,
    ) -> _ApiResult:
        policy = rate_limit_args if isinstance(rate_limit_args, InPlace) else InPlace()
        if endpoint in SEND_METHODS and isinstance(kwargs.get("read_timeout"), DefaultValue):
            kwargs = {**kwargs, "read_timeout": PATIENCE}
        failures, timed_out = 0, False
        while True:
            try:
                # Flood limits are retried inside, by AIORateLimiter (up to `retries`).
                return await super().process_request(callback, args, kwargs, endpoint, data, None)
            except BadRequest as error:
                if timed_out and "not modified" in error.message.lower():
                    return True  # the edit that timed out had been made after all
                raise
            except NetworkError as error:
                if not policy.failures or not transient(error) or failures >= self.retries:
                    raise
                timed_out = timed_out or isinstance(error, TimedOut)
                wait = FIRST_BACKOFF * 2**failures
                failures += 1
                log.warning(
                    "%s to chat %s failed (%s%s); trying again in %.1f s",
                    endpoint,
                    data.get("chat_id", "-"),
                    type(error).__name__,
                    "" if isinstance(error, TimedOut) else f": {error.message}",
                    wait,
                )
                await asyncio.sleep(wait)
