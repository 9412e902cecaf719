"""Quiet hours: when a message that falls due at night may go out. Pure time arithmetic.

The window is wall-clock time in the team's zone ("22:00-08:00" wraps midnight), so the
answer follows the local clock across daylight-saving changes rather than adding hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

QuietWindow = tuple[time, time]


def release_time(moment: datetime, window: QuietWindow | None, tz: ZoneInfo) -> datetime:
    """`moment` (aware) if it is outside the quiet window, else the instant the window ends (UTC)."""
    if window is None:
        return moment
    start, end = window
    local = moment.astimezone(tz)
    clock_time = local.time()
    day = local.date()
    if start < end:
        if not start <= clock_time < end:
            return moment
    elif clock_time >= start:
        day += timedelta(days=1)  # started this evening, ends tomorrow morning
    elif clock_time >= end:
        return moment
    return _first_instant_showing(datetime.combine(day, end), tz, after=moment)


def _first_instant_showing(wall: datetime, tz: ZoneInfo, *, after: datetime) -> datetime:
    """The first instant later than `after` at which the clocks in `tz` read `wall` or later.

    A wall time skipped by a spring-forward jump is reached at the jump itself; one shown
    twice at a fall-back is reached the first time, unless that is already past.
    """
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if second >= first:  # an ordinary or a repeated wall time
        return first if first > after else second
    # Skipped: the jump lies between the two readings; find it to the second.
    low, high = int(second.timestamp()), int(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
