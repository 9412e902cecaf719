"""The reply clock (回复时效): when a customer's wait opens and closes, and its figures.

Domain page, "Conversation and the reply clock": a wait opens at a customer message when no
wait is open on that ticket, and closes at the next reply; further customer messages while it
is open do not restart it. Its length is the reply time; the ticket's first-response time is
the length of its first wait. Medians are over waits that closed in the period; no waits
gives None, never zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from statistics import median


@dataclass(frozen=True)
class Wait:
    opened_at: datetime
    closed_at: datetime | None = None
    replier_id: int | None = None

    def minutes(self, now: datetime | None = None) -> float | None:
        """Its length in minutes; an open wait counts up to `now` (None without one)."""
        end = self.closed_at or now
        return None if end is None else (end - self.opened_at).total_seconds() / 60


class Event(StrEnum):
    CUSTOMER = "customer"
    REPLY = "reply"


def opens_wait(wait_open: bool) -> bool:
    """A customer message opens a wait only when none is open."""
    return not wait_open


def closes_wait(wait_open: bool) -> bool:
    """A reply closes the open wait (a reply with nobody waiting closes nothing)."""
    return wait_open


def waits(events: Iterable[tuple[datetime, Event, int | None]]) -> list[Wait]:
    """The waits a ticket's conversation makes, from its (time, event, replier) in order."""
    found: list[Wait] = []
    current: Wait | None = None
    for at, event, replier in events:
        if event is Event.CUSTOMER and opens_wait(current is not None):
            current = Wait(at)
        elif event is Event.REPLY and closes_wait(current is not None):
            assert current is not None
            found.append(Wait(current.opened_at, at, replier))
            current = None
    if current is not None:
        found.append(current)
    return found


def first_response_minutes(ticket_waits: Sequence[Wait]) -> float | None:
    """The length of the ticket's first wait, once it has closed."""
    first = min(ticket_waits, key=lambda wait: wait.opened_at, default=None)
    return None if first is None or first.closed_at is None else first.minutes()


def median_minutes(closed: Iterable[Wait]) -> float | None:
    """The median reply time of closed waits, in minutes; None when there are none."""
    lengths = [minutes for wait in closed if (minutes := wait.minutes()) is not None]
    return round(median(lengths), 1) if lengths else None


def closed_between(all_waits: Iterable[Wait], start: datetime, end: datetime) -> list[Wait]:
    """Waits that closed in [start, end) and were answered by someone."""
    return [
        wait
        for wait in all_waits
        if wait.closed_at is not None
        and wait.replier_id is not None
        and start <= wait.closed_at < end
    ]


class Nudge(StrEnum):
    """What an unanswered wait has earned: a word to the agent, then to the team chat."""

    REMIND = "remind"
    ESCALATE = "escalate"


def nudges_due(waited: timedelta, within: timedelta) -> tuple[Nudge, ...]:
    """Longer than `within` reminds the agent; longer than twice that, the team chat too."""
    due: list[Nudge] = []
    if waited > within:
        due.append(Nudge.REMIND)
    if waited > 2 * within:
        due.append(Nudge.ESCALATE)
    return tuple(due)
