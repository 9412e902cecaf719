from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import assume, given
from hypothesis import strategies as st

from scoring.kpi import (
    QUALITY_SCORES,
    SATISFACTION_SCORES,
    SPEED_FAST_HOURS,
    SPEED_SLOW_HOURS,
    Indicators,
    TicketFacts,
    Weights,
    agent_indicators,
    mean_from_counts,
    total_score,
)
from scoring.pay import Tier, pay_sheet, proportional_pay, tiered_pay
from scoring.refunds import local_day, refund_figures, refund_window, window_bounds_utc

PERIOD_START = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 4, 1, tzinfo=UTC)

indicator_values = st.none() | st.floats(min_value=0, max_value=10, allow_nan=False)
indicators = st.builds(
    Indicators,
    satisfaction=indicator_values,
    speed=indicator_values,
    quality=indicator_values,
    skill=indicator_values,
)
weight_values = st.integers(min_value=0, max_value=40)


@st.composite
def weights(draw: st.DrawFn) -> Weights:
    parts = [draw(weight_values) for _ in range(4)]
    assume(sum(parts) > 0)
    return Weights(*parts)


@st.composite
def tier_lists(draw: st.DrawFn) -> list[Tier]:
    thresholds = sorted(
        draw(st.lists(st.integers(min_value=1, max_value=60), unique=True, max_size=5))
    )
    pays = sorted(
        draw(
            st.lists(
                st.integers(min_value=0, max_value=500_000),
                min_size=len(thresholds) + 1,
                max_size=len(thresholds) + 1,
            )
        )
    )
    tiers = [
        Tier(min_total=t, pay=Decimal(p) / 100) for t, p in zip([0, *thresholds], pays, strict=True)
    ]
    return draw(st.permutations(tiers))


money = st.integers(min_value=0, max_value=10_000_000).map(lambda cents: Decimal(cents) / 100)


@given(indicators, weights())
def test_total_is_within_zero_and_max_total(ind: Indicators, w: Weights) -> None:
    total = total_score(ind, w)
    weighted_data = [
        getattr(w, name) > 0 and getattr(ind, name) is not None
        for name in ("satisfaction", "speed", "quality", "skill")
    ]
    if any(weighted_data):
        assert total is not None
        assert 0 <= total <= w.max_total
    else:
        assert total is None


@given(indicators, weights(), st.sampled_from(["satisfaction", "speed", "quality", "skill"]))
def test_raising_one_indicator_never_lowers_the_total(
    ind: Indicators, w: Weights, name: str
) -> None:
    value = getattr(ind, name)
    assume(value is not None and value < 10 and getattr(w, name) > 0)
    better = replace(ind, **{name: 10.0})
    before, after = total_score(ind, w), total_score(better, w)
    assert before is not None and after is not None
    assert after >= before


@given(money, weights(), st.data())
def test_proportional_pay_is_monotonic_and_bounded(
    base: Decimal, w: Weights, data: st.DataObject
) -> None:
    totals = st.floats(min_value=0, max_value=w.max_total, allow_nan=False)
    low, high = sorted([data.draw(totals), data.draw(totals)])
    pay_low = proportional_pay(base, low, w.max_total)
    pay_high = proportional_pay(base, high, w.max_total)
    assert pay_low is not None and pay_high is not None
    assert Decimal(0) <= pay_low <= pay_high <= base
    assert proportional_pay(base, w.max_total, w.max_total) == base


@given(tier_lists(), st.floats(0, 60), st.floats(0, 60))
def test_tiered_pay_is_monotonic_and_one_of_the_tiers(
    tiers: list[Tier], a: float, b: float
) -> None:
    low, high = sorted([a, b])
    pay_low, pay_high = tiered_pay(tiers, low), tiered_pay(tiers, high)
    assert pay_low is not None and pay_high is not None
    assert pay_low <= pay_high
    assert pay_low in {t.pay for t in tiers}
    reached = [t for t in tiers if t.min_total <= low]
    assert pay_low == max(reached, key=lambda t: t.min_total).pay


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2099, 12, 31)))
def test_refund_window_is_thirty_whole_days_ending_yesterday(day: date) -> None:
    first, last = refund_window(day)
    assert last == day - timedelta(days=1)
    assert (last - first).days + 1 == 30
    assert first < last < day


@given(
    st.dates(min_value=date(1971, 1, 1), max_value=date(2099, 12, 31)),
    st.timezones(),
    st.integers(min_value=-2 * 86_400, max_value=33 * 86_400),
)
def test_utc_bounds_hold_exactly_the_window_days(day: date, tz: ZoneInfo, offset: int) -> None:
    first, last = refund_window(day)
    start, end = window_bounds_utc(day, tz)
    assert start.utcoffset() == timedelta(0) and end.utcoffset() == timedelta(0)
    # Both bounds are a local midnight (or the instant the day begins, if midnight is skipped).
    assert local_day(start, tz) >= first > local_day(start - timedelta(microseconds=1), tz)
    assert local_day(end, tz) >= day > local_day(end - timedelta(microseconds=1), tz)
    # Any DST shift is at most a few hours: never a whole day more or less.
    assert abs((end - start) - timedelta(days=30)) < timedelta(hours=12)

    moment = start + timedelta(seconds=offset)
    in_bounds = start <= moment < end
    assert in_bounds == (first <= local_day(moment, tz) <= last)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Shanghai"]),
)
def test_utc_bounds_are_local_midnights_in_common_zones(day: date, key: str) -> None:
    tz = ZoneInfo(key)
    start, end = window_bounds_utc(day, tz)
    first, _ = refund_window(day)
    assert start.astimezone(tz).replace(tzinfo=None) == datetime.combine(first, time(0))
    assert end.astimezone(tz).replace(tzinfo=None) == datetime.combine(day, time(0))


@st.composite
def ticket_facts(draw: st.DrawFn) -> TicketFacts:
    # Received from a month before the period to ten days after it, to a minute.
    received = PERIOD_START + timedelta(minutes=draw(st.integers(-31 * 1440, 41 * 1440)))
    duration = draw(st.none() | st.integers(min_value=0, max_value=20 * 1440))
    resolved = None if duration is None else received + timedelta(minutes=duration)
    return TicketFacts(
        received_at=received,
        resolved_at=resolved,
        quality=draw(st.none() | st.sampled_from(QUALITY_SCORES)),
        satisfaction=draw(st.none() | st.sampled_from(list(SATISFACTION_SCORES.values()))),
    )


@given(st.lists(ticket_facts(), max_size=40))
def test_counts_per_band_agree_with_the_per_ticket_path(tickets: list[TicketFacts]) -> None:
    # The database's way: count tickets per band with the shared band edges, then take the mean.
    fast, slow = SPEED_FAST_HOURS * 3600, SPEED_SLOW_HOURS * 3600
    speed: Counter[int] = Counter()
    quality: Counter[int] = Counter()
    satisfaction: Counter[int] = Counter()
    for t in tickets:
        if t.resolved_at is not None and PERIOD_START <= t.resolved_at < PERIOD_END:
            seconds = (t.resolved_at - t.received_at).total_seconds()
            speed[10 if seconds <= fast else 8 if seconds <= slow else 5] += 1
            if t.quality is not None:
                quality[t.quality] += 1
            if t.satisfaction is not None:
                satisfaction[t.satisfaction] += 1
        elif (
            (t.resolved_at is None or t.resolved_at >= PERIOD_END)
            and t.received_at < PERIOD_END
            and (PERIOD_END - t.received_at).total_seconds() > slow
        ):
            speed[5] += 1

    ind = agent_indicators(tickets, skill=8, period_start=PERIOD_START, period_end=PERIOD_END)
    assert ind == Indicators(
        satisfaction=mean_from_counts(satisfaction),
        speed=mean_from_counts(speed),
        quality=mean_from_counts(quality),
        skill=8.0,
    )


@given(st.data())
def test_rates_are_fractions_when_counts_fit_in_orders(data: st.DataObject) -> None:
    orders = data.draw(st.integers(min_value=0, max_value=100_000))
    refunds = data.draw(st.integers(min_value=0, max_value=orders))
    dispute = data.draw(st.integers(min_value=0, max_value=refunds))
    quality = data.draw(st.integers(min_value=0, max_value=refunds))
    figures = refund_figures(
        orders=orders, refunds=refunds, dispute_refunds=dispute, quality_refunds=quality
    )
    rates = [figures.refund_rate, figures.dispute_refund_rate, figures.quality_refund_rate]
    if orders == 0:
        assert rates == [None, None, None]
        return
    assert all(rate is not None and 0 <= rate <= 1 for rate in rates)
    assert figures.refund_rate == refunds / orders
    assert figures.dispute_refund_rate is not None and figures.refund_rate is not None
    assert figures.dispute_refund_rate <= figures.refund_rate


money = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False)


@given(
    base=st.decimals(min_value=0, max_value=10_000, places=6, allow_nan=False),
    sales=money,
    rate=st.decimals(min_value=0, max_value=Decimal("0.05"), places=4, allow_nan=False),
    bonus=money,
    forfeited=st.booleans(),
)
def test_the_pay_sheet_adds_up_and_is_rounded_once(
    base: Decimal, sales: Decimal, rate: Decimal, bonus: Decimal, forfeited: bool
) -> None:
    sheet = pay_sheet(
        base=base,
        sales=sales,
        commission_rate=rate,
        team_bonus=bonus,
        bonus_forfeited=forfeited,
    )
    assert sheet is not None
    # The parts shown always add up to the pay, which is the exact sum rounded once.
    assert sheet.base + sheet.commission + sheet.bonus == sheet.pay
    exact = base + rate * sales + (0 if forfeited else bonus)
    assert abs(sheet.pay - exact) <= Decimal("0.005")
    assert sheet.bonus == (0 if forfeited else bonus)
    # Each part shown is within a cent of its own exact value.
    assert abs(sheet.commission - rate * sales) <= Decimal("0.005")
    assert abs(sheet.base - base) <= Decimal("0.01")
