from __future__ import annotations

import pytest

from scoring.targets import (
    TARGET_NAMES,
    TargetResult,
    bonus_at_risk,
    check_target,
    check_targets,
)


def test_target_names_in_display_order() -> None:
    assert TARGET_NAMES == (
        "refund_rate_max",
        "dispute_refund_rate_max",
        "quality_refund_rate_max",
        "satisfaction_min",
        "open_over_5d_max",
        "refund_hours_max",
        "intervention_rate_max",
        "dsr_min",
        "internal_complaints_max",
        "first_time_fix_rate_min",
    )


class TestCheckTargets:
    def test_all_five_in_stable_order_whatever_the_mapping_order(self) -> None:
        targets = {
            "open_over_5d_max": 0,
            "satisfaction_min": 8.5,
            "quality_refund_rate_max": 0.02,
            "dispute_refund_rate_max": 0.001,
            "refund_rate_max": 0.05,
        }
        actuals = {
            "satisfaction_min": 9.0,
            "refund_rate_max": 0.06,
            "dispute_refund_rate_max": 0.0,
            "quality_refund_rate_max": 0.02,
            "open_over_5d_max": 2,
        }
        assert check_targets(targets, actuals) == [
            TargetResult("refund_rate_max", 0.05, 0.06, False),
            TargetResult("dispute_refund_rate_max", 0.001, 0.0, True),
            TargetResult("quality_refund_rate_max", 0.02, 0.02, True),
            TargetResult("satisfaction_min", 8.5, 9.0, True),
            TargetResult("open_over_5d_max", 0.0, 2.0, False),
        ]

    def test_rate_exactly_on_target_is_met(self) -> None:
        # 10 refunds on 200 orders is the same float as the 0.05 a manager types.
        [result] = check_targets({"refund_rate_max": 0.05}, {"refund_rate_max": 10 / 200})
        assert result.met is True

    def test_max_just_above_is_missed(self) -> None:
        [result] = check_targets({"refund_rate_max": 0.05}, {"refund_rate_max": 11 / 200})
        assert result == TargetResult("refund_rate_max", 0.05, 0.055, False)

    def test_min_exactly_on_target_is_met_and_below_is_missed(self) -> None:
        [met] = check_targets({"satisfaction_min": 8.0}, {"satisfaction_min": 8.0})
        [missed] = check_targets({"satisfaction_min": 8.0}, {"satisfaction_min": 7.9})
        assert (met.met, missed.met) == (True, False)

    def test_unconfigured_targets_are_left_out(self) -> None:
        results = check_targets(
            {"refund_rate_max": None, "open_over_5d_max": 3},
            {"refund_rate_max": 0.9, "open_over_5d_max": 1},
        )
        assert results == [TargetResult("open_over_5d_max", 3.0, 1.0, True)]

    def test_no_data_is_neither_met_nor_missed(self) -> None:
        results = check_targets({"refund_rate_max": 0.05, "satisfaction_min": 8}, {})
        assert results == [
            TargetResult("refund_rate_max", 0.05, None, None),
            TargetResult("satisfaction_min", 8.0, None, None),
        ]

    def test_unknown_target_is_rejected_by_name(self) -> None:
        with pytest.raises(ValueError, match="refund_rate"):
            check_targets({"refund_rate": 0.05}, {})

    def test_unknown_actual_is_rejected_by_name(self) -> None:
        with pytest.raises(ValueError, match="speed_min"):
            check_targets({}, {"speed_min": 8.0})

    def test_rate_target_given_as_percent_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="fraction"):
            check_targets({"refund_rate_max": 5}, {})

    def test_satisfaction_target_above_ten_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="0–10"):
            check_targets({"satisfaction_min": 90}, {})

    def test_negative_target_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="open_over_5d_max"):
            check_targets({"open_over_5d_max": -1}, {})

    def test_nan_actual_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="actual refund_rate_max"):
            check_targets({"refund_rate_max": 0.05}, {"refund_rate_max": float("nan")})


class TestBonusAtRisk:
    def test_one_missed_target_forfeits_the_bonus(self) -> None:
        results = check_targets(
            {"refund_rate_max": 0.05, "satisfaction_min": 8.0},
            {"refund_rate_max": 0.01, "satisfaction_min": 7.5},
        )
        assert bonus_at_risk(results) is True

    def test_all_met_keeps_the_bonus(self) -> None:
        results = check_targets(
            {"refund_rate_max": 0.05, "satisfaction_min": 8.0},
            {"refund_rate_max": 0.01, "satisfaction_min": 9.5},
        )
        assert bonus_at_risk(results) is False

    def test_no_data_is_not_a_miss(self) -> None:
        results = check_targets(
            {"refund_rate_max": 0.05, "satisfaction_min": 8.0}, {"refund_rate_max": 0.01}
        )
        assert bonus_at_risk(results) is False

    def test_no_targets_no_risk(self) -> None:
        assert bonus_at_risk([]) is False


class TestTheRestOfTheTaobaoList:
    def test_each_new_target_met_or_missed_by_its_direction(self) -> None:
        targets = {
            "refund_hours_max": 48,
            "intervention_rate_max": 0.01,
            "dsr_min": 4.8,
            "internal_complaints_max": 0,
            "first_time_fix_rate_min": 0.9,
        }
        actuals = {
            "refund_hours_max": 47.5,  # median refund time under 48 h: met
            "intervention_rate_max": 2 / 100,  # 2 % against 1 %: missed
            "dsr_min": 4.8,  # the lowest of the three exactly on target: met
            "internal_complaints_max": 1,  # one complaint against none allowed: missed
            "first_time_fix_rate_min": None,  # nothing resolved: no data
        }
        results = check_targets(targets, actuals)
        assert [(r.name, r.met) for r in results] == [
            ("refund_hours_max", True),
            ("intervention_rate_max", False),
            ("dsr_min", True),
            ("internal_complaints_max", False),
            ("first_time_fix_rate_min", None),
        ]
        assert bonus_at_risk(results) is True

    @pytest.mark.parametrize(
        ("name", "value", "why"),
        [
            ("intervention_rate_max", 2, "fraction"),
            ("first_time_fix_rate_min", 90, "fraction"),
            ("dsr_min", 5.1, "0–5 scale"),
            ("refund_hours_max", -1, "non-negative"),
            ("internal_complaints_max", float("nan"), "finite"),
            ("no_such_target", 1, "unknown target"),
        ],
    )
    def test_check_target_refuses_what_check_config_refuses(
        self, name: str, value: float, why: str
    ) -> None:
        with pytest.raises(ValueError, match=why):
            check_target(name, value)

    def test_check_target_accepts_the_bounds(self) -> None:
        assert check_target("dsr_min", 5) == 5.0
        assert check_target("first_time_fix_rate_min", 1) == 1.0
        assert check_target("refund_hours_max", 0) == 0.0
