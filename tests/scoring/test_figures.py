"""The rest of the shop figures, with numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from scoring.figures import (
    Dsr,
    DsrChange,
    check_dsr_score,
    dsr_change,
    first_time_fix_rate,
    intervention_day,
    intervention_rate,
    interventions_in_window,
    median_hours,
    refund_hours,
    refund_requested_at,
)

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class TestFirstTimeFix:
    def test_share_never_reopened(self) -> None:
        # 8 resolved, 2 of them came back: 6 / 8.
        assert first_time_fix_rate(8, 2) == 0.75

    def test_all_and_none(self) -> None:
        assert first_time_fix_rate(3, 0) == 1.0
        assert first_time_fix_rate(3, 3) == 0.0

    def test_nothing_resolved_is_no_figure(self) -> None:
        assert first_time_fix_rate(0, 0) is None

    def test_more_reopened_than_resolved_is_a_bug(self) -> None:
        with pytest.raises(ValueError, match="exceeds"):
            first_time_fix_rate(1, 2)
        with pytest.raises(ValueError, match="non-negative"):
            first_time_fix_rate(-1, 0)


class TestRefundTime:
    def test_hours_from_request_to_success(self) -> None:
        assert refund_hours(T0, T0 + timedelta(hours=30, minutes=15)) == 30.25

    def test_other_zones_are_the_same_instant(self) -> None:
        beijing = timezone(timedelta(hours=8))
        requested = datetime(2026, 3, 10, 17, 0, tzinfo=beijing)  # 09:00 UTC
        assert refund_hours(requested, T0 + timedelta(hours=2)) == 2.0

    def test_request_after_success_is_an_instant_refund(self) -> None:
        assert refund_hours(T0 + timedelta(hours=1), T0) == 0.0

    def test_naive_times_are_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            refund_hours(T0.replace(tzinfo=None), T0)

    def test_request_falls_back_to_receipt(self) -> None:
        received = T0 - timedelta(days=2)
        assert refund_requested_at(None, received) == received
        assert refund_requested_at(T0, received) == T0

    def test_median_odd_even_and_empty(self) -> None:
        assert median_hours([5.0, 1.0, 30.25]) == 5.0
        # Even count: mean of the middle two, (5 + 10) / 2.
        assert median_hours([1.0, 5.0, 10.0, 40.0]) == 7.5
        # To the hundredth: (1 + 2/3) / 2 = 0.8333…
        assert median_hours([1.0, 2 / 3]) == 0.83
        assert median_hours([]) is None


class TestIntervention:
    WINDOW = (date(2026, 3, 1), date(2026, 3, 30))

    def test_explicit_day_wins_over_the_dispute_day(self) -> None:
        assert intervention_day(date(2026, 3, 2), date(2026, 3, 9)) == date(2026, 3, 2)

    def test_a_dispute_refund_implies_it(self) -> None:
        assert intervention_day(None, date(2026, 3, 9)) == date(2026, 3, 9)
        assert intervention_day(None, None) is None

    def test_counted_once_per_ticket_on_its_day(self) -> None:
        tickets = [
            (date(2026, 3, 2), None),  # /intervened in the window
            (None, date(2026, 3, 30)),  # dispute refund on the window's last day
            (date(2026, 2, 28), date(2026, 3, 5)),  # intervened before the window: not counted
            (date(2026, 3, 3), date(2026, 3, 4)),  # both: one ticket, one count
            (None, None),
            (None, date(2026, 3, 31)),  # after the window
        ]
        assert interventions_in_window(tickets, self.WINDOW) == 3

    def test_rate_over_orders(self) -> None:
        assert intervention_rate(3, 200) == 0.015
        assert intervention_rate(3, 0) is None


class TestDsr:
    def test_scores_are_two_decimal_numbers_from_0_to_5(self) -> None:
        assert check_dsr_score("service", Decimal("4.8")) == Decimal("4.80")
        for bad, why in (
            (Decimal("5.01"), "between 0 and 5"),
            (Decimal("-0.1"), "between 0 and 5"),
            (Decimal("4.875"), "two decimals"),
            (Decimal("NaN"), "decimal number"),
            (4.8, "decimal number"),
        ):
            with pytest.raises(ValueError, match=why):
                check_dsr_score("service", bad)

    def test_lowest_is_what_the_target_reads(self) -> None:
        assert Dsr(Decimal("4.9"), Decimal("4.75"), Decimal("4.81")).lowest == Decimal("4.75")

    def test_change_since_the_previous_entry(self) -> None:
        previous = Dsr(Decimal("4.80"), Decimal("4.80"), Decimal("4.70"))
        latest = Dsr(Decimal("4.85"), Decimal("4.78"), Decimal("4.70"))
        assert dsr_change(latest, previous) == DsrChange(
            Decimal("0.05"), Decimal("-0.02"), Decimal("0.00")
        )
        assert dsr_change(latest, None) is None
