from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scoring.kpi import (
    QUALITY_SCORES,
    SATISFACTION_SCORES,
    SKILL_SCORES,
    SPEED_FAST_HOURS,
    SPEED_SLOW_HOURS,
    Indicators,
    TicketFacts,
    Weights,
    agent_indicators,
    mean_from_counts,
    speed_score,
    total_score,
)

MARCH_START = datetime(2026, 3, 1, tzinfo=UTC)
MARCH_END = datetime(2026, 4, 1, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, *, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ticket(
    received_at: datetime,
    resolved_at: datetime | None = None,
    *,
    quality: int | None = None,
    satisfaction: int | None = None,
) -> TicketFacts:
    return TicketFacts(
        received_at=received_at,
        resolved_at=resolved_at,
        quality=quality,
        satisfaction=satisfaction,
    )


def march(tickets: list[TicketFacts], skill: int | None = None) -> Indicators:
    return agent_indicators(tickets, skill=skill, period_start=MARCH_START, period_end=MARCH_END)


class TestConstants:
    def test_score_scales_match_the_domain_page(self) -> None:
        assert SATISFACTION_SCORES == {"very_satisfied": 10, "satisfied": 8, "dissatisfied": 5}
        assert QUALITY_SCORES == (10, 8, 5)
        assert SKILL_SCORES == (10, 8, 5, 0)
        assert (SPEED_FAST_HOURS, SPEED_SLOW_HOURS) == (72, 120)


class TestSpeedScore:
    @pytest.mark.parametrize(
        ("elapsed", "expected"),
        [
            (timedelta(0), 10),
            (timedelta(hours=72), 10),
            (timedelta(hours=72, minutes=1), 8),
            (timedelta(hours=96), 8),
            (timedelta(hours=120), 8),
            (timedelta(hours=120, seconds=1), 5),
            (timedelta(days=30), 5),
        ],
    )
    def test_bands(self, elapsed: timedelta, expected: int) -> None:
        assert speed_score(at(1), at(1) + elapsed) == expected

    def test_compares_instants_not_wall_clocks(self) -> None:
        # 08:00 in Shanghai is 00:00 UTC; the wall clocks differ by 65 h, the instants by 73 h.
        received = datetime(2026, 3, 1, 8, tzinfo=ZoneInfo("Asia/Shanghai"))
        resolved = datetime(2026, 3, 4, 1, tzinfo=UTC)
        assert speed_score(received, resolved) == 8

    def test_naive_datetimes_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            speed_score(datetime(2026, 3, 1), at(2))
        with pytest.raises(ValueError, match="timezone-aware"):
            speed_score(at(1), datetime(2026, 3, 2))

    def test_resolved_before_received_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="before received_at"):
            speed_score(at(2), at(1))


class TestTicketFacts:
    def test_quality_outside_the_scale_names_the_value(self) -> None:
        with pytest.raises(ValueError, match="got 7"):
            ticket(at(1), at(2), quality=7)

    def test_satisfaction_outside_the_scale_names_the_value(self) -> None:
        with pytest.raises(ValueError, match="got 9"):
            ticket(at(1), at(2), satisfaction=9)

    def test_bool_is_not_a_score(self) -> None:
        with pytest.raises(ValueError, match="True"):
            ticket(at(1), at(2), quality=True)

    def test_naive_received_at_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            ticket(datetime(2026, 3, 1))

    def test_resolved_before_received_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="before"):
            ticket(at(5), at(4))


class TestMeanFromCounts:
    def test_weighted_mean(self) -> None:
        assert mean_from_counts({10: 1, 8: 1, 5: 2}) == 7.0
        assert mean_from_counts({10: 2, 8: 1}) == 28 / 3

    def test_skill_zero_counts_as_a_score(self) -> None:
        assert mean_from_counts({10: 1, 0: 1}) == 5.0

    @pytest.mark.parametrize("counts", [{}, {10: 0, 8: 0}])
    def test_no_tickets_is_none(self, counts: dict[int, int]) -> None:
        assert mean_from_counts(counts) is None

    def test_unknown_score_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="got 7"):
            mean_from_counts({7: 1})

    def test_negative_count_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="-1"):
            mean_from_counts({10: -1})


class TestAgentIndicators:
    def test_hand_computed_month(self) -> None:
        tickets = [
            # 24 h → speed 10
            ticket(at(2), at(3), quality=10, satisfaction=10),
            # 96 h → speed 8
            ticket(at(5), at(9), quality=8, satisfaction=5),
            # 6 days → speed 5; not rated
            ticket(at(14), at(20), quality=5),
        ]
        ind = march(tickets, skill=8)
        assert ind == Indicators(satisfaction=7.5, speed=23 / 3, quality=23 / 3, skill=8.0)

    def test_ticket_open_six_days_at_period_end_counts_five(self) -> None:
        ind = march([ticket(at(26))])
        assert ind == Indicators(satisfaction=None, speed=5.0, quality=None, skill=None)

    def test_ticket_open_four_days_at_period_end_is_not_counted(self) -> None:
        assert march([ticket(at(28))]).speed is None

    def test_open_exactly_five_days_is_not_yet_late(self) -> None:
        assert march([ticket(at(27))]).speed is None
        assert march([ticket(at(26, 23, 59))]).speed == 5.0

    def test_never_resolving_does_not_help(self) -> None:
        fast = ticket(at(2), at(3))
        stale = ticket(at(10))
        assert march([fast, stale]).speed == 7.5

    def test_resolved_after_period_end_counts_as_open_at_the_end(self) -> None:
        late = ticket(at(20), at(3, month=4), quality=10, satisfaction=10)
        assert march([late]) == Indicators(satisfaction=None, speed=5.0, quality=None, skill=None)

    def test_resolved_exactly_at_period_end_belongs_to_the_next_period(self) -> None:
        t = ticket(at(30), MARCH_END, quality=8, satisfaction=8)
        assert march([t]) == Indicators(satisfaction=None, speed=None, quality=None, skill=None)

    def test_resolved_exactly_at_period_start_belongs_to_the_period(self) -> None:
        t = ticket(at(27, month=2), MARCH_START, quality=8, satisfaction=5)
        assert march([t]) == Indicators(satisfaction=5.0, speed=10.0, quality=8.0, skill=None)

    def test_resolved_before_period_start_is_not_counted(self) -> None:
        t = ticket(at(1, month=2), at(20, month=2), quality=10, satisfaction=10)
        assert march([t]) == Indicators(satisfaction=None, speed=None, quality=None, skill=None)

    def test_ticket_received_after_period_end_is_not_counted(self) -> None:
        assert march([ticket(at(2, month=4))]).speed is None

    def test_skill_is_the_rating_given(self) -> None:
        assert march([], skill=0).skill == 0.0
        assert march([], skill=10).skill == 10.0
        assert march([], skill=None).skill is None

    def test_invalid_skill_names_the_value(self) -> None:
        with pytest.raises(ValueError, match="got 7"):
            march([], skill=7)

    def test_accepts_a_generator(self) -> None:
        ind = march([ticket(at(d), at(d, 12), quality=10) for d in (2, 3)])
        gen_ind = agent_indicators(
            (ticket(at(d), at(d, 12), quality=10) for d in (2, 3)),
            skill=None,
            period_start=MARCH_START,
            period_end=MARCH_END,
        )
        assert gen_ind == ind == Indicators(None, 10.0, 10.0, None)

    def test_empty_period_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="must be after"):
            agent_indicators([], skill=None, period_start=MARCH_END, period_end=MARCH_START)

    def test_naive_period_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            agent_indicators(
                [], skill=None, period_start=datetime(2026, 3, 1), period_end=MARCH_END
            )


class TestIndicators:
    @pytest.mark.parametrize("value", [10.5, -1.0, float("nan"), float("inf")])
    def test_out_of_range_value_is_rejected(self, value: float) -> None:
        with pytest.raises(ValueError, match="speed"):
            Indicators(satisfaction=None, speed=value, quality=None, skill=None)


class TestWeights:
    def test_default_max_total_is_forty(self) -> None:
        assert Weights().max_total == 40

    def test_seed_suggestions_for_skill(self) -> None:
        assert Weights(skill=20).max_total == 50
        assert Weights(skill=12).max_total == 42

    def test_negative_weight_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="speed"):
            Weights(speed=-1)

    def test_all_zero_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="positive"):
            Weights(satisfaction=0, speed=0, quality=0, skill=0)


class TestTotalScore:
    def test_all_four_with_default_weights(self) -> None:
        assert total_score(Indicators(10, 8, 8, 8), Weights()) == 34.0

    def test_missing_indicator_scales_over_the_rest(self) -> None:
        total = total_score(Indicators(None, 10, 10, 5), Weights())
        assert total == pytest.approx(40 * 25 / 30, abs=1e-6)
        assert total == pytest.approx(33.333333, abs=1e-6)

    def test_no_data_at_all_is_none(self) -> None:
        assert total_score(Indicators(None, None, None, None), Weights()) is None

    def test_skill_weighted_twenty(self) -> None:
        weights = Weights(skill=20)
        assert total_score(Indicators(10, 10, 10, 10), weights) == 50.0
        # skill 5 earns 5/10 of its 20 points
        assert total_score(Indicators(10, 10, 10, 5), weights) == 40.0
        # skill unrated: 23 of 30 possible, scaled to 50
        assert total_score(Indicators(10, 8, 5, None), weights) == pytest.approx(
            50 * 23 / 30, abs=1e-6
        )

    def test_zero_weight_indicator_does_not_count(self) -> None:
        weights = Weights(skill=0)
        assert weights.max_total == 30
        assert total_score(Indicators(10, 10, 10, 0), weights) == 30.0
        assert total_score(Indicators(None, None, None, 10), weights) is None

    def test_exact_threshold_is_not_lost_to_float_noise(self) -> None:
        # Exactly 35 in rationals (5 + 47/6 + 49/6 = 21 of 30, scaled to 50); naive float
        # arithmetic gives 34.99999999999999, which would drop a 35-point tier.
        ind = Indicators(5.0, 47 / 6, 49 / 6, None)
        assert total_score(ind, Weights(skill=20)) == 35.0

    def test_all_zero_scores_give_zero(self) -> None:
        assert total_score(Indicators(None, None, None, 0), Weights()) == 0.0
