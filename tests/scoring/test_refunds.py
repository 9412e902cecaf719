from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scoring.refunds import (
    RefundFigures,
    local_day,
    refund_figures,
    refund_window,
    window_bounds_utc,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


class TestLocalDay:
    def test_evening_utc_is_next_day_in_shanghai(self) -> None:
        assert local_day(datetime(2026, 2, 28, 16, tzinfo=UTC), SHANGHAI) == date(2026, 3, 1)
        assert local_day(datetime(2026, 2, 28, 15, 59, tzinfo=UTC), SHANGHAI) == date(2026, 2, 28)

    def test_naive_moment_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            local_day(datetime(2026, 3, 1, 12), SHANGHAI)


class TestRefundWindow:
    def test_domain_example(self) -> None:
        assert refund_window(date(2026, 3, 1)) == (date(2026, 1, 30), date(2026, 2, 28))

    def test_leap_year(self) -> None:
        assert refund_window(date(2024, 3, 1)) == (date(2024, 1, 31), date(2024, 2, 29))

    def test_across_new_year(self) -> None:
        assert refund_window(date(2026, 1, 15)) == (date(2025, 12, 16), date(2026, 1, 14))

    def test_datetime_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="not a datetime"):
            refund_window(datetime(2026, 3, 1, tzinfo=UTC))


class TestWindowBoundsUtc:
    def test_shanghai(self) -> None:
        assert window_bounds_utc(date(2026, 3, 1), SHANGHAI) == (
            datetime(2026, 1, 29, 16, tzinfo=UTC),
            datetime(2026, 2, 28, 16, tzinfo=UTC),
        )

    def test_bounds_are_utc(self) -> None:
        start, end = window_bounds_utc(date(2026, 3, 1), SHANGHAI)
        assert start.tzinfo is UTC
        assert end.tzinfo is UTC

    def test_berlin_spring_forward(self) -> None:
        # Clocks go forward on Sunday 2026-03-29: the window starts in CET (+01), ends in CEST.
        start, end = window_bounds_utc(date(2026, 4, 10), BERLIN)
        assert start == datetime(2026, 3, 10, 23, tzinfo=UTC)
        assert end == datetime(2026, 4, 9, 22, tzinfo=UTC)
        assert end - start == timedelta(days=30, hours=-1)

    def test_berlin_fall_back(self) -> None:
        # Clocks go back on Sunday 2026-10-25: the window starts in CEST, ends in CET.
        start, end = window_bounds_utc(date(2026, 11, 10), BERLIN)
        assert start == datetime(2026, 10, 10, 22, tzinfo=UTC)
        assert end == datetime(2026, 11, 9, 23, tzinfo=UTC)
        assert end - start == timedelta(days=30, hours=1)

    def test_window_starting_on_the_dst_day_itself(self) -> None:
        # Day − 30 is 2026-03-29, the short day: midnight is still CET, before the jump.
        start, _ = window_bounds_utc(date(2026, 4, 28), BERLIN)
        assert start == datetime(2026, 3, 28, 23, tzinfo=UTC)

    def test_midnight_in_a_dst_gap(self) -> None:
        # Santiago skips from Saturday 24:00 to Sunday 01:00 on 2026-09-06 (-04 → -03): the
        # Sunday begins at the jump, 04:00 UTC, not at "00:00 -03" (03:00 UTC, still Saturday).
        santiago = ZoneInfo("America/Santiago")
        _, end = window_bounds_utc(date(2026, 9, 6), santiago)
        assert end == datetime(2026, 9, 6, 4, tzinfo=UTC)
        assert local_day(end - timedelta(minutes=30), santiago) == date(2026, 9, 5)

    def test_repeated_midnight_starts_at_its_first_occurrence(self) -> None:
        # Havana falls back from 01:00 CDT to 00:00 CST on 2026-11-01, so midnight happens twice.
        havana = ZoneInfo("America/Havana")
        _, end = window_bounds_utc(date(2026, 11, 1), havana)
        start, _ = window_bounds_utc(date(2026, 12, 1), havana)
        assert end == start == datetime(2026, 11, 1, 4, tzinfo=UTC)

    def test_refund_on_the_last_local_evening_is_inside(self) -> None:
        start, end = window_bounds_utc(date(2026, 4, 10), BERLIN)
        # 23:30 CEST on 9 April, the last day of the window
        late = datetime(2026, 4, 9, 21, 30, tzinfo=UTC)
        # 00:30 CEST on 10 April, "today", excluded
        today = datetime(2026, 4, 9, 22, 30, tzinfo=UTC)
        assert start <= late < end
        assert not start <= today < end
        assert local_day(late, BERLIN) == date(2026, 4, 9)
        assert local_day(today, BERLIN) == date(2026, 4, 10)


class TestRefundFigures:
    def test_rates_are_fractions_of_orders(self) -> None:
        figures = refund_figures(orders=200, refunds=10, dispute_refunds=2, quality_refunds=4)
        assert figures == RefundFigures(
            orders=200,
            refunds=10,
            refund_rate=0.05,
            dispute_refunds=2,
            dispute_refund_rate=0.01,
            quality_refunds=4,
            quality_refund_rate=0.02,
        )

    def test_no_orders_gives_no_rate(self) -> None:
        figures = refund_figures(orders=0, refunds=3, dispute_refunds=1, quality_refunds=2)
        assert figures == RefundFigures(
            orders=0,
            refunds=3,
            refund_rate=None,
            dispute_refunds=1,
            dispute_refund_rate=None,
            quality_refunds=2,
            quality_refund_rate=None,
        )

    def test_more_refunds_than_orders_is_reported_as_is(self) -> None:
        figures = refund_figures(orders=2, refunds=3, dispute_refunds=0, quality_refunds=0)
        assert figures.refund_rate == 1.5

    @pytest.mark.parametrize("field", ["orders", "refunds", "dispute_refunds", "quality_refunds"])
    def test_negative_count_is_rejected(self, field: str) -> None:
        counts = {"orders": 10, "refunds": 2, "dispute_refunds": 1, "quality_refunds": 1}
        counts[field] = -1
        with pytest.raises(ValueError, match=field):
            refund_figures(**counts)

    def test_more_disputes_than_refunds_is_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"dispute_refunds \(3\) exceeds refunds \(2\)"):
            refund_figures(orders=10, refunds=2, dispute_refunds=3, quality_refunds=0)

    def test_more_quality_refunds_than_refunds_is_rejected(self) -> None:
        with pytest.raises(ValueError, match=r"quality_refunds \(3\) exceeds refunds \(2\)"):
            refund_figures(orders=10, refunds=2, dispute_refunds=0, quality_refunds=3)
