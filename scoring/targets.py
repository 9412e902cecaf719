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
REFUND_HOURS_MAX = "refund_hours_max"
INTERVENTION_RATE_MAX = "intervention_rate_max"
DSR_MIN = "dsr_min"
INTERNAL_COMPLAINTS_MAX = "internal_complaints_max"
FIRST_TIME_FIX_RATE_MIN = "first_time_fix_rate_min"

# Also the display order of the digest and the monthly report.
TARGET_NAMES: tuple[str, ...] = (
    REFUND_RATE_MAX,
    DISPUTE_REFUND_RATE_MAX,
    QUALITY_REFUND_RATE_MAX,
    SATISFACTION_MIN,
    OPEN_OVER_5D_MAX,
    REFUND_HOURS_MAX,
    INTERVENTION_RATE_MAX,
    DSR_MIN,
    INTERNAL_COMPLAINTS_MAX,
    FIRST_TIME_FIX_RATE_MIN,
)

# Rates are fractions (0.05 = 5 %), shown as percents; a target above 1 is a percent typed by
# mistake.
RATE_TARGETS = frozenset(
    {
        REFUND_RATE_MAX,
        DISPUTE_REFUND_RATE_MAX,
        QUALITY_REFUND_RATE_MAX,
        INTERVENTION_RATE_MAX,
        FIRST_TIME_FIX_RATE_MIN,
    }
)
# Each target on a bounded scale, and its top: the survey's 10 / 8 / 5, the platform's DSR 0–5.
_SCALE_TOPS = {SATISFACTION_MIN: 10, DSR_MIN: 5}


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


def check_target(name: str, value: object) -> float:
    """A target's value, or ValueError saying why not (also what `kefu check-config` says)."""
    _check_names("target", [name])
    target = _check_number(f"target {name}", value)
    if name in RATE_TARGETS and target > 1:
        raise ValueError(f"target {name} is a fraction (0.05 = 5 %), got {target:g}")
    top = _SCALE_TOPS.get(name)
    if top is not None and target > top:
        raise ValueError(f"target {name} is on the 0–{top} scale, got {target:g}")
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
        target = check_target(name, raw_target)
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
