"""Team targets (店铺售后指标) and the Taobao rule: miss any one and the bonus is forfeit."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

REFUND_RATE_MAX = "refund_rate_max"
DISPUTE_REFUND_RATE_MAX = "dispute_refund_rate_max"
QUALITY_REFUND_RATE_MAX = "quality_refund_rate_max"
SATISFACTION_MIN = "satisfaction_min"
OPEN_OVER_5D_MAX = "open_over_5d_max"
MEDIAN_REPLY_MINUTES_MAX = "median_reply_minutes_max"

# Also the display order of the digest and the monthly report.
TARGET_NAMES: tuple[str, ...] = (
    REFUND_RATE_MAX,
    DISPUTE_REFUND_RATE_MAX,
    QUALITY_REFUND_RATE_MAX,
    SATISFACTION_MIN,
    OPEN_OVER_5D_MAX,
    MEDIAN_REPLY_MINUTES_MAX,
)

# Rates are fractions (0.05 = 5 %); a target above 1 is a percent typed by mistake.
_RATE_TARGETS = frozenset({REFUND_RATE_MAX, DISPUTE_REFUND_RATE_MAX, QUALITY_REFUND_RATE_MAX})
# Average satisfaction is on the survey's 10 / 8 / 5 scale.
_SATISFACTION_TOP = 10


@dataclass(frozen=True)
class TargetResult:
    """One target against its actual figure; met is None when there is no figure."""

    name: str
    target: float
    actual: float | None
    met: bool | None


def _check_names(kind: str, names: Iterable[str]) -> None:
    unknown = sorted(set(names) - set(TARGET_NAMES))
    if unknown:
        raise ValueError(f"unknown {kind} {', '.join(unknown)}; known: {', '.join(TARGET_NAMES)}")


def _check_number(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be finite and non-negative, got {value!r}")
    return float(value)


def _check_target(name: str, value: object) -> float:
    target = _check_number(f"target {name}", value)
    if name in _RATE_TARGETS and target > 1:
        raise ValueError(f"target {name} is a fraction (0.05 = 5 %), got {target:g}")
    if name == SATISFACTION_MIN and target > _SATISFACTION_TOP:
        raise ValueError(f"target {name} is on the 0–{_SATISFACTION_TOP} scale, got {target:g}")
    return target


def check_targets(
    targets: Mapping[str, float | None], actuals: Mapping[str, float | None]
) -> list[TargetResult]:
    """Each configured target, in TARGET_NAMES order, marked met / missed / no data."""
    _check_names("target", targets)
    _check_names("actual", actuals)
    results: list[TargetResult] = []
    for name in TARGET_NAMES:
        raw_target = targets.get(name)
        if raw_target is None:
            continue
        target = _check_target(name, raw_target)
        raw_actual = actuals.get(name)
        if raw_actual is None:
            results.append(TargetResult(name=name, target=target, actual=None, met=None))
            continue
        actual = _check_number(f"actual {name}", raw_actual)
        met = actual <= target if name.endswith("_max") else actual >= target
        results.append(TargetResult(name=name, target=target, actual=actual, met=met))
    return results


def bonus_at_risk(results: Iterable[TargetResult]) -> bool:
    """True when any target was missed; targets without data do not count as missed."""
    return any(result.met is False for result in results)
