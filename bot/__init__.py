"""Kefu: after-sales tickets, surveys, follow-ups and KPI scoring on Telegram."""

import os

# python-telegram-bot 22 reports durations (RetryAfter.retry_after) as timedelta once opted in;
# the int form is deprecated and warns on every flood limit.
os.environ.setdefault("PTB_TIMEDELTA", "true")
