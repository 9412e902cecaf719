"""The rest of the shop figures (the seeds' list): first-time fix, refund time, platform
intervention, DSR and internal complaints. Plain values in, plain values out."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from scoring.refunds import per_order

# Hours in the JSON and the chat are kept to the hundredth (36 seconds).
HOURS_DECIMALS = 2

# The platform shows each DSR score on a 0–5 scale with two decimals (e.g. 4.87).
DSR_TOP = Decimal(5)
DSR_STEP = Decimal("0.01")


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def _require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")


# --- first-time fix (一次修好率) --------------------------------------------------------------


def first_time_fix_rate(resolved: int, reopened: int) -> float | None:
    """Of the tickets first resolved in a period, the share never reopened since.

    `reopened` counts those reopened at any time, even after the period: the figure can fall
    later, which is the point. None when nothing was resolved.
    """
    resolved, reopened = _count("resolved", resolved), _count("reopened", reopened)
    if reopened > resolved:
        raise ValueError(f"reopened ({reopened}) exceeds resolved ({resolved})")
    if resolved == 0:
        return None
    return (resolved - reopened) / resolved


# --- refund time (退款时长) -------------------------------------------------------------------


def refund_hours(requested_at: datetime, succeeded_at: datetime) -> float:
    """Hours from the customer's request to the refund's success; a request recorded after
    the success (a typo the input checks let through) counts as an instant refund."""
    _require_aware("requested_at", requested_at)
    _require_aware("succeeded_at", succeeded_at)
    return max(0.0, (succeeded_at - requested_at).total_seconds() / 3600)


def refund_requested_at(requested_at: datetime | None, received_at: datetime) -> datetime:
    """When the customer asked: `requested:` on /refund, else when the ticket was received."""
    return received_at if requested_at is None else requested_at


def median_hours(hours: Iterable[float]) -> float | None:
    """The median (the mean of the middle two for an even count), to the hundredth; None
    when there is nothing to take it of."""
    values = list(hours)
    if not values:
        return None
    return round(statistics.median(values), HOURS_DECIMALS)


# --- platform intervention (介入) -------------------------------------------------------------


def intervention_rate(interventions: int, orders: int) -> float | None:
    """Interventions in the 30-day window over its orders, like the refund rates."""
    return per_order(_count("interventions", interventions), _count("orders", orders))


def intervention_day(explicit: date | None, dispute_refund: date | None) -> date | None:
    """The day a ticket counts as intervened on: the day `/intervened` recorded it, else the
    day of a dispute refund (the platform stepped in for it to go through), else never."""
    return explicit if explicit is not None else dispute_refund


def interventions_in_window(
    tickets: Iterable[tuple[date | None, date | None]], window: tuple[date, date]
) -> int:
    """How many tickets, given as (explicit day, dispute-refund day), count as intervened on
    a day of the inclusive window."""
    first, last = window
    count = 0
    for explicit, dispute in tickets:
        day = intervention_day(explicit, dispute)
        if day is not None and first <= day <= last:
            count += 1
    return count


# --- DSR (描述 / 服务 / 物流) ------------------------------------------------------------------


def check_dsr_score(name: str, value: object) -> Decimal:
    """A DSR score as the platform shows it: 0–5, at most two decimals."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"DSR {name} must be a decimal number, got {value!r}")
    if not 0 <= value <= DSR_TOP:
        raise ValueError(f"DSR {name} must be between 0 and {DSR_TOP}, got {value}")
    if value != value.quantize(DSR_STEP):
        raise ValueError(f"DSR {name} has more than two decimals: {value}")
    return value.quantize(DSR_STEP)


@dataclass(frozen=True)
class Dsr:
    """The shop's three 90-day scores (描述相符, 服务态度, 物流服务)."""

    description: Decimal
    service: Decimal
    logistics: Decimal

    def __post_init__(self) -> None:
        for name in ("description", "service", "logistics"):
            object.__setattr__(self, name, check_dsr_score(name, getattr(self, name)))

    @property
    def lowest(self) -> Decimal:
        """What a `dsr_min` target is checked against: each of the three must reach it."""
        return min(self.description, self.service, self.logistics)


@dataclass(frozen=True)
class DsrChange:
    """Latest minus previous, per score (may be negative)."""

    description: Decimal
    service: Decimal
    logistics: Decimal


def dsr_change(latest: Dsr, previous: Dsr | None) -> DsrChange | None:
    """How each score moved since the previous entry; None without a previous entry."""
    if previous is None:
        return None
    return DsrChange(
        description=latest.description - previous.description,
        service=latest.service - previous.service,
        logistics=latest.logistics - previous.logistics,
    )
