from __future__ import annotations

from decimal import Decimal

import pytest

from scoring.kpi import Indicators, Weights, total_score
from scoring.pay import (
    PaySheet,
    Tier,
    base_part,
    check_commission_rate,
    check_team_bonus,
    commission,
    pay_for,
    pay_sheet,
    proportional_pay,
    tiered_pay,
    validate_tiers,
)

# The domain page's tiers (< 30, 30–35, ≥ 36), deliberately out of order.
DOMAIN_TIERS = [
    Tier(min_total=36, pay=Decimal("1400")),
    Tier(min_total=0, pay=Decimal("1000")),
    Tier(min_total=30, pay=Decimal("1200")),
]


class TestProportionalPay:
    def test_domain_example(self) -> None:
        pay = proportional_pay(Decimal("1000"), 30, 40)
        assert pay == Decimal("750")
        assert str(pay) == "750.00"

    def test_full_and_zero_total(self) -> None:
        assert proportional_pay(Decimal("1000"), 40.0, 40) == Decimal("1000.00")
        assert proportional_pay(Decimal("1000"), 0.0, 40) == Decimal("0.00")

    def test_no_total_is_no_pay(self) -> None:
        assert proportional_pay(Decimal("1000"), None, 40) is None

    def test_repeating_fraction_rounds_to_the_cent(self) -> None:
        total = total_score(Indicators(None, 10, 10, 5), Weights())
        assert proportional_pay(Decimal("1000"), total, 40) == Decimal("833.33")

    def test_half_cent_rounds_up(self) -> None:
        # 0.10 × 2 / 40 = 0.005: banker's rounding would give 0.00.
        assert proportional_pay(Decimal("0.10"), 2, 40) == Decimal("0.01")
        assert proportional_pay(Decimal("1000.02"), 30, 40) == Decimal("750.02")

    def test_weights_change_the_denominator(self) -> None:
        assert proportional_pay(Decimal("1000"), 40, Weights(skill=20).max_total) == Decimal(
            "800.00"
        )

    def test_total_above_max_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="exceeds max_total"):
            proportional_pay(Decimal("1000"), 41, 40)

    @pytest.mark.parametrize("total", [-1.0, float("nan")])
    def test_bad_total_is_rejected(self, total: float) -> None:
        with pytest.raises(ValueError, match="total"):
            proportional_pay(Decimal("1000"), total, 40)

    def test_zero_max_total_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="max_total"):
            proportional_pay(Decimal("1000"), 0, 0)

    def test_float_base_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="Decimal"):
            proportional_pay(1000.0, 30, 40)  # type: ignore[arg-type]

    def test_negative_base_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="non-negative"):
            proportional_pay(Decimal("-1"), 30, 40)


class TestTieredPay:
    @pytest.mark.parametrize(
        ("total", "expected"),
        [
            (0, "1000"),
            (29.9, "1000"),
            (30, "1200"),
            (35.9, "1200"),
            (36, "1400"),
            (40, "1400"),
        ],
    )
    def test_domain_example(self, total: float, expected: str) -> None:
        assert tiered_pay(DOMAIN_TIERS, total) == Decimal(expected)

    def test_no_total_is_no_pay(self) -> None:
        assert tiered_pay(DOMAIN_TIERS, None) is None

    def test_below_every_threshold_gets_the_lowest_tier(self) -> None:
        tiers = [Tier(20, Decimal("900")), Tier(30, Decimal("1200"))]
        assert tiered_pay(tiers, 5) == Decimal("900")

    def test_total_exactly_on_threshold_after_float_noise(self) -> None:
        total = total_score(Indicators(5.0, 47 / 6, 49 / 6, None), Weights(skill=20))
        tiers = [Tier(0, Decimal("1000")), Tier(35, Decimal("1300"))]
        assert tiered_pay(tiers, total) == Decimal("1300")

    def test_single_tier(self) -> None:
        assert tiered_pay([Tier(0, Decimal("1000"))], 12.5) == Decimal("1000")

    def test_negative_total_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="non-negative"):
            tiered_pay(DOMAIN_TIERS, -0.5)


class TestValidateTiers:
    def test_sorted_ascending(self) -> None:
        assert [t.min_total for t in validate_tiers(DOMAIN_TIERS)] == [0, 30, 36]
        assert [t.pay for t in validate_tiers(DOMAIN_TIERS)] == [
            Decimal("1000"),
            Decimal("1200"),
            Decimal("1400"),
        ]

    def test_empty_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="at least one tier"):
            validate_tiers([])

    def test_duplicate_threshold_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="share the threshold 30"):
            validate_tiers([Tier(30, Decimal("1200")), Tier(30, Decimal("1300"))])

    def test_pay_falling_as_totals_rise_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="less than 1200"):
            validate_tiers([Tier(30, Decimal("1200")), Tier(36, Decimal("1100"))])

    def test_negative_threshold_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="-1"):
            validate_tiers([Tier(-1, Decimal("1000"))])

    def test_negative_pay_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="tier pay"):
            validate_tiers([Tier(0, Decimal("-5"))])

    def test_non_tier_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="expected a Tier"):
            validate_tiers([(0, Decimal("1000"))])  # type: ignore[list-item]


class TestPayFor:
    def test_proportional(self) -> None:
        pay = pay_for("proportional", total=30, max_total=40, base_pay=Decimal("1000"), tiers=None)
        assert pay == Decimal("750.00")

    def test_tiered(self) -> None:
        pay = pay_for("tiered", total=30, max_total=40, base_pay=None, tiers=DOMAIN_TIERS)
        assert pay == Decimal("1200")

    @pytest.mark.parametrize("scheme", ["proportional", "tiered"])
    def test_no_total(self, scheme: str) -> None:
        pay = pay_for(
            scheme, total=None, max_total=40, base_pay=Decimal("1000"), tiers=DOMAIN_TIERS
        )
        assert pay is None

    def test_unknown_scheme_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="'bonus'"):
            pay_for("bonus", total=30, max_total=40, base_pay=Decimal("1000"), tiers=DOMAIN_TIERS)

    def test_proportional_without_base_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="base pay"):
            pay_for("proportional", total=30, max_total=40, base_pay=None, tiers=DOMAIN_TIERS)

    def test_tiered_without_tiers_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="at least one tier"):
            pay_for("tiered", total=30, max_total=40, base_pay=Decimal("1000"), tiers=[])

    def test_tiered_total_above_max_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="exceeds max_total"):
            pay_for("tiered", total=45, max_total=40, base_pay=None, tiers=DOMAIN_TIERS)


class TestPaySheet:
    """pay = base part + commission + team bonus (seed ⑶), exact, rounded to the cent once."""

    def test_seed_formula(self) -> None:
        # Base 750 (30/40 of 1000), 千分之三 of 12 345.67 sales = 37.03701, bonus 200:
        # 987.03701 → 987.04.
        sheet = pay_sheet(
            base=Decimal(750),
            sales=Decimal("12345.67"),
            commission_rate=Decimal("0.003"),
            team_bonus=Decimal(200),
            bonus_forfeited=False,
        )
        assert sheet == PaySheet(
            base=Decimal("750.00"),
            commission=Decimal("37.04"),
            bonus=Decimal("200.00"),
            pay=Decimal("987.04"),
        )

    def test_one_missed_target_forfeits_the_bonus(self) -> None:
        sheet = pay_sheet(
            base=Decimal(750),
            sales=Decimal(0),
            commission_rate=Decimal("0.003"),
            team_bonus=Decimal(200),
            bonus_forfeited=True,
        )
        assert sheet is not None
        assert (sheet.bonus, sheet.pay) == (Decimal("0.00"), Decimal("750.00"))

    def test_rounded_once_not_part_by_part(self) -> None:
        # Base 1000 × 26/40 … take an exact base of 666.665 and a commission of
        # 0.003 × 1235 = 3.705: rounding each part gives 666.67 + 3.71 = 670.38, but the exact
        # sum 670.370 rounds to 670.37. The base part shows the cent the rounding took.
        exact_base = Decimal("666.665")
        sheet = pay_sheet(
            base=exact_base,
            sales=Decimal(1235),
            commission_rate=Decimal("0.003"),
            team_bonus=Decimal(0),
            bonus_forfeited=False,
        )
        assert sheet is not None
        assert sheet.pay == Decimal("670.37")
        assert (sheet.base, sheet.commission, sheet.bonus) == (
            Decimal("666.66"),
            Decimal("3.71"),
            Decimal("0.00"),
        )
        assert sheet.base + sheet.commission + sheet.bonus == sheet.pay

    def test_no_total_no_sheet(self) -> None:
        assert (
            pay_sheet(
                base=None,
                sales=Decimal(100),
                commission_rate=Decimal("0.01"),
                team_bonus=Decimal(0),
                bonus_forfeited=False,
            )
            is None
        )

    def test_base_part_is_exact(self) -> None:
        # 1000 × 35 / 40 = 875 exactly; 1000 × 1 / 3 stays unrounded until the sheet.
        assert base_part("proportional", total=35, max_total=40, base_pay=Decimal(1000)) == 875
        third = base_part("proportional", total=1, max_total=3, base_pay=Decimal(1000))
        assert third is not None and third != third.quantize(Decimal("0.01"))
        assert pay_for("proportional", total=1, max_total=3, base_pay=Decimal(1000)) == Decimal(
            "333.33"
        )
        tiered = base_part("tiered", total=31, max_total=40, tiers=DOMAIN_TIERS)
        assert tiered == Decimal(1200)

    def test_commission_is_exact(self) -> None:
        assert commission(Decimal("0.003"), Decimal("99.99")) == Decimal("0.29997")

    def test_rate_and_bonus_are_checked(self) -> None:
        assert check_commission_rate(Decimal("0.003")) == Decimal("0.003")
        with pytest.raises(ValueError, match="fraction of sales"):
            check_commission_rate(Decimal(3))
        with pytest.raises(ValueError, match="Decimal"):
            check_commission_rate(0.003)
        assert check_team_bonus(Decimal("200.50")) == Decimal("200.50")
        with pytest.raises(ValueError, match="two decimals"):
            check_team_bonus(Decimal("0.001"))
        with pytest.raises(ValueError, match="non-negative"):
            check_team_bonus(Decimal(-5))
