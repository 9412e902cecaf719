"""Calendar months in the team's time zone: where one begins and ends, and how one is written.

The scoreboard, the digest and the monthly report all count by team-local month; these are
the one definition of its bounds. Pure: "now" is passed in, never read.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from scoring.refunds import day_start_utc, local_day

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_start(day: date) -> date:
    """The first day of the month `day` is in."""
    return day.replace(day=1)


def next_month(month: date) -> date:
    """The first day of the month after `month`."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds_utc(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start of `month`, start of the next month) in the team's zone, as UTC instants."""
    if month.day != 1:
        raise ValueError(f"month must be the first day of a month, got {month.isoformat()}")
    return day_start_utc(month, tz), day_start_utc(next_month(month), tz)


def month_period_utc(month: date, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The month so far, as the scoreboard counts it: [its start, min(its end, now)).

    Empty (end <= start) while the month has not started.
    """
    start, end = month_bounds_utc(month, tz)
    return start, min(end, now)


def month_of(moment: datetime, tz: ZoneInfo) -> date:
    """The first day of the team-local month `moment` falls in."""
    return month_start(local_day(moment, tz))


def month_from_text(text: str) -> date | None:
    """`YYYY-MM` → the first day of that month; None when `text` is not written so."""
    match = _MONTH.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        return None
    return date(int(match.group(1)), int(match.group(2)), 1)
