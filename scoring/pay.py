"""Pay (seed ⑶): base part from the KPI total — proportional (按比例) or tiered (分级) — plus
commission on the agent's repeat sales plus the team bonus, summed exactly and rounded to the
cent once."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from itertools import pairwise

PROPORTIONAL = "proportional"
TIERED = "tiered"
PAY_SCHEMES: tuple[str, ...] = (PROPORTIONAL, TIERED)

CENT = Decimal("0.01")


def _check_money(name: str, value: object) -> Decimal:
    # float money would smuggle binary rounding into pay; insist on Decimal.
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a finite, non-negative Decimal, got {value!r}")
    return value


def _check_max_total(max_total: object) -> float:
    if isinstance(max_total, bool) or not isinstance(max_total, int | float):
        raise ValueError(f"max_total must be a number, got {max_total!r}")
    if not math.isfinite(max_total) or max_total <= 0:
        raise ValueError(f"max_total must be positive, got {max_total!r}")
    return float(max_total)


def _check_total(total: object, max_total: float | None = None) -> float:
    if isinstance(total, bool) or not isinstance(total, int | float):
        raise ValueError(f"total must be a number, got {total!r}")
    if not math.isfinite(total) or total < 0:
        raise ValueError(f"total must be finite and non-negative, got {total!r}")
    if max_total is not None and total > max_total:
        raise ValueError(f"total {total:g} exceeds max_total {max_total:g}")
    return float(total)


@dataclass(frozen=True)
class Tier:
    """Pay for totals from min_total up to the next tier's threshold."""

    min_total: float
    pay: Decimal

    def __post_init__(self) -> None:
        value = self.min_total
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"tier threshold must be a non-negative number, got {value!r}")
        _check_money("tier pay", self.pay)


def validate_tiers(tiers: Iterable[Tier]) -> list[Tier]:
    """Tiers sorted by threshold; ValueError if empty, duplicated, or pay falls as totals rise."""
    given = list(tiers)
    for tier in given:
        if not isinstance(tier, Tier):
            raise ValueError(f"expected a Tier, got {tier!r}")
    ordered = sorted(given, key=lambda tier: tier.min_total)
    if not ordered:
        raise ValueError("tiered pay needs at least one tier")
    for lower, higher in pairwise(ordered):
        if lower.min_total == higher.min_total:
            raise ValueError(f"two tiers share the threshold {higher.min_total:g}")
        # A better score must never earn less; a falling tier is almost surely a typo.
        if higher.pay < lower.pay:
            raise ValueError(
                f"tier at {higher.min_total:g} pays {higher.pay}, "
                f"less than {lower.pay} at {lower.min_total:g}"
            )
    return ordered


def to_cent(amount: Decimal) -> Decimal:
    """The one rounding money gets: to the cent, half up."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def proportional_base(base: Decimal, total: float | None, max_total: float) -> Decimal | None:
    """base × total / max_total, exact (unrounded); None when there is no total."""
    _check_money("base pay", base)
    max_total = _check_max_total(max_total)
    if total is None:
        return None
    total = _check_total(total, max_total)
    # str() gives the shortest decimal that round-trips, so 30.0 is exactly 30, not 29.99…
    with localcontext() as ctx:
        ctx.prec = 28
        return base * Decimal(str(total)) / Decimal(str(max_total))


def proportional_pay(base: Decimal, total: float | None, max_total: float) -> Decimal | None:
    """base × total / max_total to the cent (half up); None when there is no total."""
    exact = proportional_base(base, total, max_total)
    return None if exact is None else to_cent(exact)


def tiered_pay(tiers: Sequence[Tier], total: float | None) -> Decimal | None:
    """Pay of the highest tier whose threshold the total reaches; None when there is no total.

    A total below every threshold gets the lowest tier's pay: the lowest tier is the team's
    floor, normally set at 0.
    """
    ordered = validate_tiers(tiers)
    if total is None:
        return None
    total = _check_total(total)
    chosen = ordered[0]
    for tier in ordered[1:]:
        if total >= tier.min_total:
            chosen = tier
    return chosen.pay


def base_part(
    scheme: str,
    *,
    total: float | None,
    max_total: float,
    base_pay: Decimal | None = None,
    tiers: Sequence[Tier] | None = None,
) -> Decimal | None:
    """The base part under the team's scheme, exact (unrounded); None without a total."""
    if scheme == PROPORTIONAL:
        if base_pay is None:
            raise ValueError("proportional pay needs a base pay")
        return proportional_base(base_pay, total, max_total)
    if scheme == TIERED:
        if not tiers:
            raise ValueError("tiered pay needs at least one tier")
        max_total = _check_max_total(max_total)
        if total is not None:
            _check_total(total, max_total)
        return tiered_pay(tiers, total)
    raise ValueError(f"unknown pay scheme {scheme!r}; expected one of {PAY_SCHEMES}")


def pay_for(
    scheme: str,
    *,
    total: float | None,
    max_total: float,
    base_pay: Decimal | None = None,
    tiers: Sequence[Tier] | None = None,
) -> Decimal | None:
    """The base part under the team's scheme ("proportional" or "tiered"), to the cent."""
    exact = base_part(scheme, total=total, max_total=max_total, base_pay=base_pay, tiers=tiers)
    return None if exact is None else to_cent(exact)


# --- the complete pay sheet: base + commission + team bonus ------------------------------------


def check_commission_rate(value: object) -> Decimal:
    """A share of sales (0.003 = 千分之三): a Decimal from 0 to 1."""
    rate = _check_money("commission_rate", value)
    if rate > 1:
        raise ValueError(f"commission_rate is a fraction of sales (0.003 = 0.3 %), got {rate}")
    return rate


def check_team_bonus(value: object) -> Decimal:
    """The fixed bonus each agent gets when every team target is met: whole cents."""
    bonus = _check_money("team_bonus", value)
    if bonus != to_cent(bonus):
        raise ValueError(f"team_bonus is money: at most two decimals, got {bonus}")
    return bonus


def commission(rate: Decimal, sales: Decimal) -> Decimal:
    """rate × the month's repeat sales credited to the agent, exact (unrounded)."""
    check_commission_rate(rate)
    _check_money("sales", sales)
    with localcontext() as ctx:
        ctx.prec = 28
        return rate * sales


@dataclass(frozen=True)
class PaySheet:
    """One agent's pay and its parts, in cents; base + commission + bonus == pay exactly."""

    base: Decimal
    commission: Decimal
    bonus: Decimal
    pay: Decimal


def pay_sheet(
    *,
    base: Decimal | None,
    sales: Decimal,
    commission_rate: Decimal,
    team_bonus: Decimal,
    bonus_forfeited: bool,
) -> PaySheet | None:
    """pay = base part + commission + team bonus, summed exactly and rounded to the cent once.

    `base` is the exact base part (`base_part`); None (no KPI total) means no pay sheet. The
    bonus is `team_bonus` unless a missed team target forfeits it for everyone. Commission is
    shown to the cent and the base part takes the rounding's last cent, so the parts shown add
    up to the pay.
    """
    if base is None:
        return None
    _check_money("base part", base)
    bonus = Decimal(0) if bonus_forfeited else check_team_bonus(team_bonus)
    earned = commission(commission_rate, sales)
    pay = to_cent(base + earned + bonus)
    shown_commission = to_cent(earned)
    return PaySheet(
        base=pay - shown_commission - to_cent(bonus),
        commission=shown_commission,
        bonus=to_cent(bonus),
        pay=pay,
    )
