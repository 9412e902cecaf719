"""Prometheus metrics of one running bot: what it handled, sent, failed at and ran on a clock.

Every `Metrics` has a registry of its own rather than prometheus_client's global one, so
several Applications in one process (the tests) keep separate counts. Sends and Bot API
errors are counted at the one seam every Bot API call passes through, the rate limiter, so
direct replies and outbox deliveries are counted alike; job runs at the JobQueue's
documented hook, so jobs added later are counted without touching them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import generate_latest
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, Job, JobQueue

from bot.process.pacing import SendWindow

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Bot API methods that put a message in a chat.
SEND_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage", "forwardMessage"}
)
API_ERROR_KINDS = ("RetryAfter", "Forbidden", "BadRequest", "TimedOut", "NetworkError", "other")

_ApiResult = bool | dict[str, Any] | list[dict[str, Any]]


def api_error_kind(error: TelegramError) -> str:
    """The label of a Bot API error; subclasses before NetworkError, their base."""
    for kind in (RetryAfter, Forbidden, BadRequest, TimedOut, NetworkError):
        if isinstance(error, kind):
            return kind.__name__
    return "other"


class Metrics:
    """The counters and gauges `/metrics` exposes for one Application."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "kefu_updates_handled",
            "Telegram updates handed to the handlers (redeliveries included).",
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "kefu_handler_errors",
            "Exceptions that reached the error handler, from updates or from jobs.",
            ["source"],
            registry=self.registry,
        )
        self.api_errors = Counter(
            "kefu_bot_api_errors",
            "Failed Bot API calls (each attempt), by kind of error.",
            ["kind"],
            registry=self.registry,
        )
        self.messages_sent = Counter(
            "kefu_messages_sent",
            "Messages the bot put in a chat (replies and queued messages), by Bot API method.",
            ["method"],
            registry=self.registry,
        )
        self.job_runs = Counter(
            "kefu_job_runs",
            "Runs of scheduled jobs in this process, by job name.",
            ["job"],
            registry=self.registry,
        )
        self.tickets_open = Gauge(
            "kefu_tickets_open",
            "Tickets not yet resolved (read from the database at scrape time).",
            registry=self.registry,
        )
        # Series that exist from the start read 0 rather than "no data" on a dashboard.
        for kind in API_ERROR_KINDS:
            self.api_errors.labels(kind=kind)
        for source in ("update", "job"):
            self.handler_errors.labels(source=source)
        self.messages_sent.labels(method="sendMessage")

    def api_error(self, error: TelegramError) -> None:
        self.api_errors.labels(kind=api_error_kind(error)).inc()

    def exposition(self, *, tickets_open: int | None) -> bytes:
        """The Prometheus text format; `tickets_open` None keeps the last value read."""
        if tickets_open is not None:
            self.tickets_open.set(tickets_open)
        return generate_latest(self.registry)


class CountingRateLimiter(AIORateLimiter):
    """AIORateLimiter that counts each attempt's outcome: a message sent or an error by kind.

    Its overall limit is `messages_per_second` in a sliding window (bot/process/pacing.py) rather
    than PTB's leaky bucket, which lets twice the limit into a burst's first second; the
    per-group limit (20 a minute) is PTB's own.
    """

    def __init__(self, metrics: Metrics, *, messages_per_second: int, **kwargs: Any) -> None:
        super().__init__(overall_max_rate=messages_per_second, **kwargs)
        # The attribute PTB's own constructor sets and `_run_request` enters for every
        # request that names a chat (PTB 22).
        self._base_limiter = SendWindow(messages_per_second)  # type: ignore[assignment]
        self.metrics = metrics

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, _ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> _ApiResult:
        metrics = self.metrics

        async def counted(*call_args: Any, **call_kwargs: Any) -> _ApiResult:
            try:
                result = await callback(*call_args, **call_kwargs)
            except TelegramError as error:
                metrics.api_error(error)
                raise
            if endpoint in SEND_METHODS:
                metrics.messages_sent.labels(method=endpoint).inc()
            return result

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)


class CountingJobQueue(JobQueue):
    """JobQueue that counts every run by job name before running it."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self.metrics = metrics

    async def start(self) -> None:
        # Every job scheduled at start reads 0 runs until it first runs, rather than "no
        # data": a scrape (or a test) right after start-up need not wait for the first run.
        for job in self.jobs():
            self.metrics.job_runs.labels(job=job.name or "unnamed")
        await super().start()

    @staticmethod
    async def job_callback(job_queue: JobQueue, job: Job) -> None:
        if isinstance(job_queue, CountingJobQueue):
            job_queue.metrics.job_runs.labels(job=job.name or "unnamed").inc()
        await JobQueue.job_callback(job_queue, job)
