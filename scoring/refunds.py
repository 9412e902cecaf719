"""Refund figures over the Pinduoduo window: the last 30 days, today excluded (近30天, 不含当天)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

REFUND_WINDOW_DAYS = 30


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar day of an aware moment in the team's time zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"moment must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(tz).date()


def refund_window(day: date) -> tuple[date, date]:
    """First and last day (inclusive) of the window for a digest on `day`."""
    if isinstance(day, datetime):
        # datetime is a date subclass; accepting it would silently drop the time of day and zone.
        raise ValueError(f"day must be a date, not a datetime: {day.isoformat()}")
    return day - timedelta(days=REFUND_WINDOW_DAYS), day - timedelta(days=1)


def day_start_utc(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a team-local day begins."""
    # fold=0 maps a midnight that falls in a DST gap to the transition instant itself, and a
    # repeated midnight to its first occurrence: both are when the local day begins.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def window_bounds_utc(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Half-open UTC instants [start of day−30, start of day) in the team's zone, for SQL."""
    first, _last = refund_window(day)
    return day_start_utc(first, tz), day_start_utc(day, tz)


@dataclass(frozen=True)
class RefundFigures:
    """Counts and rates (fractions, None without orders) for one window."""

    orders: int
    refunds: int
    refund_rate: float | None
    dispute_refunds: int
    dispute_refund_rate: float | None
    quality_refunds: int
    quality_refund_rate: float | None


def per_order(count: int, orders: int) -> float | None:
    """A count over the window's orders, as a fraction; None (shown "—") without orders."""
    return None if orders == 0 else count / orders


def refund_figures(
    *, orders: int, refunds: int, dispute_refunds: int, quality_refunds: int
) -> RefundFigures:
    """Refund, dispute (纠纷退款率) and quality (品质退款率) rates over the window's orders.

    Refunds may exceed orders (a refund can be for an order placed before the window), so a
    rate above 1 is reported as is rather than rejected.
    """
    counts = {
        "orders": orders,
        "refunds": refunds,
        "dispute_refunds": dispute_refunds,
        "quality_refunds": quality_refunds,
    }
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if dispute_refunds > refunds:
        raise ValueError(f"dispute_refunds ({dispute_refunds}) exceeds refunds ({refunds})")
    if quality_refunds > refunds:
        raise ValueError(f"quality_refunds ({quality_refunds}) exceeds refunds ({refunds})")
    return RefundFigures(
        orders=orders,
        refunds=refunds,
        refund_rate=per_order(refunds, orders),
        dispute_refunds=dispute_refunds,
        dispute_refund_rate=per_order(dispute_refunds, orders),
        quality_refunds=quality_refunds,
        quality_refund_rate=per_order(quality_refunds, orders),
    )
