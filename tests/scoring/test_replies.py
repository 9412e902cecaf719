"""The reply clock's rules with the domain page's definitions, on waits computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scoring.replies import (
    Event,
    Nudge,
    Wait,
    closed_between,
    first_response_minutes,
    median_minutes,
    nudges_due,
    waits,
)

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_wait_opens_at_the_first_message_and_closes_at_the_next_reply() -> None:
    found = waits(
        [
            (at(0), Event.CUSTOMER, None),
            (at(5), Event.CUSTOMER, None),  # does not restart the wait
            (at(12), Event.REPLY, 7),
            (at(13), Event.REPLY, 8),  # nobody waiting: closes nothing
            (at(20), Event.CUSTOMER, None),
            (at(50), Event.REPLY, 8),
            (at(60), Event.CUSTOMER, None),  # still open
        ]
    )
    assert found == [Wait(at(0), at(12), 7), Wait(at(20), at(50), 8), Wait(at(60))]
    assert [wait.minutes() for wait in found[:2]] == [12, 30]
    assert found[2].minutes(at(75)) == 15
    assert first_response_minutes(found) == 12


def test_first_response_needs_the_first_wait_closed() -> None:
    assert first_response_minutes([Wait(at(0))]) is None
    assert first_response_minutes([]) is None


def test_median_of_waits_closed_in_the_period_none_when_there_are_none() -> None:
    closed = [Wait(at(0), at(12), 1), Wait(at(20), at(50), 1), Wait(at(60), at(100), 2)]
    assert median_minutes(closed) == 30
    assert median_minutes(closed[:2]) == 21
    assert median_minutes([]) is None
    # Closed before the period, open, or ended without a reply: not counted.
    period = closed_between(
        [*closed, Wait(at(-30), at(-1), 1), Wait(at(70)), Wait(at(80), at(90), None)],
        at(0),
        at(24 * 60),
    )
    assert period == closed


def test_reminder_after_the_limit_escalation_after_twice_it() -> None:
    hour = timedelta(minutes=60)
    assert nudges_due(timedelta(minutes=60), hour) == ()
    assert nudges_due(timedelta(minutes=61), hour) == (Nudge.REMIND,)
    assert nudges_due(timedelta(minutes=121), hour) == (Nudge.REMIND, Nudge.ESCALATE)
