"""The four KPI indicators (考核指标) of an agent and the weighted total."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

SATISFACTION_SCORES: dict[str, int] = {"very_satisfied": 10, "satisfied": 8, "dissatisfied": 5}
SKILL_SCORES: tuple[int, ...] = (10, 8, 5, 0)

# Quality: the agent's own call when resolving (root cause found and fixed, or not), 5 once
# the customer's problem came back (reopened); a manager may override it with any of these.
QUALITY_ROOT_CAUSE_FIXED = 10
QUALITY_NO_ROOT_CAUSE = 8
QUALITY_REOPENED = 5
QUALITY_SCORES: tuple[int, ...] = (
    QUALITY_ROOT_CAUSE_FIXED,
    QUALITY_NO_ROOT_CAUSE,
    QUALITY_REOPENED,
)

# Speed: resolved within 72 h → 10, within 120 h → 8, later (or still open past 120 h) → 5.
SPEED_FAST_HOURS = 72
SPEED_SLOW_HOURS = 120
SPEED_BANDS: tuple[tuple[int, int], ...] = ((SPEED_FAST_HOURS, 10), (SPEED_SLOW_HOURS, 8))
SPEED_SLOWEST = 5
SPEED_SCORES: tuple[int, ...] = (*(score for _hours, score in SPEED_BANDS), SPEED_SLOWEST)

MAX_SCORE = 10
# Every score any indicator can take; a mean is only ever built from these.
ALL_SCORES: frozenset[int] = frozenset(SKILL_SCORES) | frozenset(QUALITY_SCORES)
_ALL_SCORES_DESC: tuple[int, ...] = tuple(sorted(ALL_SCORES, reverse=True))

# Means such as 26/3 carry binary noise; rounding the total keeps a total that is exactly on a
# pay-tier threshold from landing a hair below it.
TOTAL_DECIMALS = 6


def _require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")


def _check_score(name: str, value: object, allowed: Iterable[int]) -> int:
    allowed = tuple(allowed)
    # bool is an int subclass; True must not pass as a score of 1.
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def speed_score(received_at: datetime, resolved_at: datetime) -> int:
    """Speed score of one resolved ticket: ≤ 72 h → 10, ≤ 120 h → 8, else 5."""
    _require_aware("received_at", received_at)
    _require_aware("resolved_at", resolved_at)
    elapsed = resolved_at - received_at
    if elapsed < timedelta(0):
        raise ValueError(
            f"resolved_at {resolved_at.isoformat()} is before received_at {received_at.isoformat()}"
        )
    for hours, score in SPEED_BANDS:
        if elapsed <= timedelta(hours=hours):
            return score
    return SPEED_SLOWEST


def quality_at_resolution(root_cause_found: bool) -> int:
    """The quality an agent's resolution scores unless a manager has overridden it."""
    return QUALITY_ROOT_CAUSE_FIXED if root_cause_found else QUALITY_NO_ROOT_CAUSE


@dataclass(frozen=True)
class TicketFacts:
    """What scoring needs to know about one ticket; scores as ints (10/8/5)."""

    received_at: datetime
    resolved_at: datetime | None
    quality: int | None
    satisfaction: int | None

    def __post_init__(self) -> None:
        _require_aware("received_at", self.received_at)
        if self.resolved_at is not None:
            _require_aware("resolved_at", self.resolved_at)
            if self.resolved_at < self.received_at:
                raise ValueError(
                    f"resolved_at {self.resolved_at.isoformat()} is before "
                    f"received_at {self.received_at.isoformat()}"
                )
        if self.quality is not None:
            _check_score("quality", self.quality, QUALITY_SCORES)
        if self.satisfaction is not None:
            _check_score("satisfaction", self.satisfaction, SATISFACTION_SCORES.values())


@dataclass(frozen=True)
class Indicators:
    """An agent's four indicators on the 0–10 scale; None means no data ("—")."""

    satisfaction: float | None
    speed: float | None
    quality: float | None
    skill: float | None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{f.name} must be a number or None, got {value!r}")
            if not (math.isfinite(value) and 0 <= value <= MAX_SCORE):
                raise ValueError(f"{f.name} must be within 0…{MAX_SCORE}, got {value!r}")


def mean_from_counts(counts: Mapping[int, int]) -> float | None:
    """Mean score from {score: number_of_tickets}; None when there are no tickets."""
    total_count = 0
    total_points = 0
    for score, count in counts.items():
        _check_score("score", score, _ALL_SCORES_DESC)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count for score {score} must be a non-negative int, got {count!r}")
        total_count += count
        total_points += score * count
    if total_count == 0:
        return None
    # Integer sum over integer count: one correctly rounded division, so the SQL path (counts per
    # band) and the per-ticket path give bit-identical floats.
    return total_points / total_count


def agent_indicators(
    tickets: Iterable[TicketFacts],
    *,
    skill: int | None,
    period_start: datetime,
    period_end: datetime,
) -> Indicators:
    """An agent's indicators over [period_start, period_end) from their tickets."""
    _require_aware("period_start", period_start)
    _require_aware("period_end", period_end)
    if period_end <= period_start:
        raise ValueError(
            f"period_end {period_end.isoformat()} must be after "
            f"period_start {period_start.isoformat()}"
        )
    if skill is not None:
        _check_score("skill", skill, SKILL_SCORES)

    satisfaction: Counter[int] = Counter()
    speed: Counter[int] = Counter()
    quality: Counter[int] = Counter()
    overdue = timedelta(hours=SPEED_SLOW_HOURS)
    for ticket in tickets:
        resolved_at = ticket.resolved_at
        if resolved_at is not None and period_start <= resolved_at < period_end:
            speed[speed_score(ticket.received_at, resolved_at)] += 1
            if ticket.satisfaction is not None:
                satisfaction[ticket.satisfaction] += 1
            if ticket.quality is not None:
                quality[ticket.quality] += 1
            continue
        still_open = resolved_at is None or resolved_at >= period_end
        # Never resolving must not help: a ticket left open past 5 days scores as a slow one.
        if still_open and period_end - ticket.received_at > overdue:
            speed[SPEED_SLOWEST] += 1

    return Indicators(
        satisfaction=mean_from_counts(satisfaction),
        speed=mean_from_counts(speed),
        quality=mean_from_counts(quality),
        skill=None if skill is None else float(skill),
    )


@dataclass(frozen=True)
class Weights:
    """Points each indicator is worth; the maximum total is their sum."""

    satisfaction: int = 10
    speed: int = 10
    quality: int = 10
    skill: int = 10

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"weight {f.name} must be a non-negative int, got {value!r}")
        if self.max_total == 0:
            raise ValueError("at least one weight must be positive")

    @property
    def max_total(self) -> int:
        return self.satisfaction + self.speed + self.quality + self.skill


def total_score(ind: Indicators, weights: Weights) -> float | None:
    """Weighted total, scaled over the indicators that have data; None if none has."""
    earned = 0.0
    possible = 0
    for name in ("satisfaction", "speed", "quality", "skill"):
        value: float | None = getattr(ind, name)
        weight: int = getattr(weights, name)
        if value is None:
            continue
        earned += weight * value
        possible += weight
    if possible == 0:
        # Only zero-weight indicators have data: nothing that counts was measured.
        return None
    return round(weights.max_total * earned / (MAX_SCORE * possible), TOTAL_DECIMALS)
