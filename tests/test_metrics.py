"""The scoreboard and shop-figure queries against a hand-built month, on SQLite and PostgreSQL.

The team works in Asia/Shanghai (UTC+8), so several tickets sit on a local day that differs
from their UTC day. Every expected figure is worked out by hand in the comments; the pure
rules in `scoring/` are also run over the same tickets as a cross-check of the SQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

import bot.clock as clock_module
from bot import clock
from bot.config import ScoringSettings
from bot.db import Database
from bot.models import Category, Survey, Ticket
from bot.services import orders, ratings, refunds, scoreboard, shop_figures, team, tickets
from bot.services.errors import InvalidInput
from bot.services.shop_figures import DayPoint, OldTicket
from bot.services.team import SeenUser
from bot.services.tickets import NewTicket
from handlers import parse
from scoring import Indicators, TicketFacts, agent_indicators, day_start_utc, window_bounds_utc
from scoring.months import month_bounds_utc, month_of

SH = ZoneInfo("Asia/Shanghai")
MIA, ALEX, BO, CAI, FAY = 1001, 2001, 2002, 2003, 2004
NAMES = {MIA: "Mia", ALEX: "Alex", BO: "Bo", CAI: "Cai", FAY: "Fay"}
FEB = date(2026, 2, 1)
MAR = date(2026, 3, 1)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=SH)  # the month in progress is March
H = timedelta(hours=1)
US = timedelta(microseconds=1)


def sh(text: str) -> datetime:
    """A moment written in Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def at(moment: datetime) -> None:
    clock.advance(moment - clock.now())


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Wall time stands still inside bot.clock, so edges can be placed to the microsecond."""
    start = datetime(2026, 1, 1, tzinfo=UTC)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return start

    monkeypatch.setattr(clock_module, "datetime", Frozen)
    yield


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await team.sync_config(database, managers=[MIA], agents=[ALEX, BO, CAI, FAY], chat_id=None)
    for user_id, name in NAMES.items():
        await team.record_seen(database, SeenUser(user_id=user_id, full_name=name))
    try:
        yield database
    finally:
        await database.dispose()


async def log(
    db: Database,
    agent: int,
    received: datetime,
    category: Category,
    *,
    logged: datetime | None = None,
) -> int:
    at(logged or received)
    view = await tickets.create(
        db,
        creator_id=agent,
        new=NewTicket(description="case", category=category, received_at=received),
    )
    return view.number


async def resolve(db: Database, number: int, agent: int, when: datetime, *, root: bool) -> None:
    at(when)
    await tickets.resolve(db, number, actor_id=agent, root_cause_found=root)


async def answer(
    db: Database, number: int, rating: int, *, answered: datetime, sent: datetime, rnd: int = 1
) -> None:
    """The customer's survey answer for one round (the survey row may already exist)."""
    async with db.transaction() as session:
        survey = (
            await session.exec(
                select(Survey).where(Survey.ticket_id == number, Survey.round == rnd)
            )
        ).first()
        if survey is None:
            survey = Survey(ticket_id=number, round=rnd, created_at=sent)
            session.add(survey)
        survey.status = "answered"
        survey.sent_at = sent
        survey.answered_at = answered
        survey.rating = rating


async def refund(
    db: Database, number: int, when: datetime, *, dispute: bool = False, amount: str = "10"
) -> None:
    at(when)
    await refunds.record(
        db, number=number, actor_id=ALEX, amount=Decimal(amount), dispute=dispute, tz=SH
    )


@dataclass(frozen=True)
class Month:
    """Ticket numbers of the scenario, by the names the comments use."""

    t: dict[str, int]


async def build_month(db: Database) -> Month:
    """February and the first days of March 2026; the checks below read it, never change it."""
    t: dict[str, int] = {}
    product, logistics, service = Category.PRODUCT, Category.LOGISTICS, Category.SERVICE
    other = Category.OTHER

    at(sh("2026-01-15 10:00"))
    await ratings.rate_skill(db, actor_id=MIA, agent_id=ALEX, rating=8)

    # --- Alex -----------------------------------------------------------------------------
    # T1: resolved after exactly 72 h → speed 10; root cause → quality 10; very satisfied.
    received = sh("2026-02-02 10:00:00.250000")
    t["T1"] = await log(db, ALEX, received, product)
    await resolve(db, t["T1"], ALEX, received + 72 * H, root=True)
    await answer(db, t["T1"], 10, sent=received + 72 * H, answered=received + 73 * H)
    # T2: 72 h and one microsecond → speed 8; quality 8; dissatisfied.
    received = sh("2026-02-03 09:00:00.250000")
    t["T2"] = await log(db, ALEX, received, product)
    await resolve(db, t["T2"], ALEX, received + 72 * H + US, root=False)
    await answer(db, t["T2"], 5, sent=received + 73 * H, answered=received + 74 * H)
    # T3: the manager sets quality 5 while open; exactly 120 h → speed 8; quality stays 5.
    received = sh("2026-02-10 12:00")
    t["T3"] = await log(db, ALEX, received, logistics)
    at(sh("2026-02-11 09:00"))
    await ratings.override_quality(db, actor_id=MIA, number=t["T3"], quality=5)
    await resolve(db, t["T3"], ALEX, received + 120 * H, root=True)
    # T4: 120 h and one microsecond → speed 5; quality 10 overridden to 8 afterwards.
    received = sh("2026-02-12 00:00")
    t["T4"] = await log(db, ALEX, received, service)
    await resolve(db, t["T4"], ALEX, received + 120 * H + US, root=True)
    at(sh("2026-02-18 09:00"))
    await ratings.override_quality(db, actor_id=MIA, number=t["T4"], quality=8)
    await answer(db, t["T4"], 5, sent=sh("2026-02-17 01:00"), answered=sh("2026-02-17 02:00"))
    # T5: received in January, resolved 00:30 on Feb 1 → in February; 12 days → speed 5.
    t["T5"] = await log(db, ALEX, sh("2026-01-20 09:00"), other)
    await resolve(db, t["T5"], ALEX, sh("2026-02-01 00:30"), root=True)
    await answer(db, t["T5"], 8, sent=sh("2026-02-01 00:30"), answered=sh("2026-02-28 23:59:59"))
    # T6: open, received 6 days before March → counts 5 for February's speed.
    t["T6"] = await log(db, ALEX, sh("2026-02-23 00:00"), product)
    # T7: open, received exactly 5 days before March → not counted in February (needs > 5).
    t["T7"] = await log(db, ALEX, sh("2026-02-24 00:00"), logistics)
    # T8: still open when February ends (counts 5), resolved on March 2 (speed 5 in March).
    t["T8"] = await log(db, ALEX, sh("2026-02-10 08:00"), other)
    # T9: resolved at 07:59 on Feb 1 local, which is still January 31 in UTC → February.
    t["T9"] = await log(db, ALEX, sh("2026-01-31 10:00"), product)
    await resolve(db, t["T9"], ALEX, sh("2026-02-01 07:59"), root=False)
    # T10: resolved, rated dissatisfied, reopened, resolved again and rated very satisfied:
    # the latest answered round (10) stands; 50 h from receipt → speed 10; quality 8.
    received = sh("2026-02-16 10:00")
    t["T10"] = await log(db, ALEX, received, logistics)
    await resolve(db, t["T10"], ALEX, sh("2026-02-17 10:00"), root=True)
    await answer(db, t["T10"], 5, sent=sh("2026-02-17 10:00"), answered=sh("2026-02-17 11:00"))
    at(sh("2026-02-18 10:00"))
    await tickets.reopen(db, t["T10"], actor_id=ALEX)
    await resolve(db, t["T10"], ALEX, sh("2026-02-18 12:00"), root=False)
    await answer(
        db, t["T10"], 10, sent=sh("2026-02-18 12:00"), answered=sh("2026-02-28 00:00"), rnd=2
    )
    # T11: resolved at 07:00 on March 1 local (still Feb 28 in UTC) → March, not February.
    t["T11"] = await log(db, ALEX, sh("2026-02-27 10:00"), service)
    await resolve(db, t["T11"], ALEX, sh("2026-03-01 07:00"), root=True)
    # T12: resolved one second before February began (local) → January only.
    t["T12"] = await log(db, ALEX, sh("2026-01-29 10:00"), product)
    await resolve(db, t["T12"], ALEX, sh("2026-01-31 23:59:59"), root=True)

    # --- Bo, Mia, Fay -----------------------------------------------------------------------
    t["B1"] = await log(db, BO, sh("2026-02-05 10:00"), logistics)
    await resolve(db, t["B1"], BO, sh("2026-02-06 10:00"), root=False)
    # B13: logged in the last microsecond of Feb 28 (local) and left open.
    t["B13"] = await log(db, BO, sh("2026-02-28 23:59:59.999999"), product)
    # B14: logged at the first instant of March 1 (local).
    t["B14"] = await log(db, BO, sh("2026-03-01 00:00"), logistics)
    # B15: logged one second before Feb 28 began, resolved on Feb 28; answered on March 1.
    t["B15"] = await log(db, BO, sh("2026-02-27 23:59:59"), logistics)
    await resolve(db, t["B15"], BO, sh("2026-02-28 10:00"), root=True)
    await answer(db, t["B15"], 10, sent=sh("2026-02-28 10:00"), answered=sh("2026-03-01 00:00"))
    t["M1"] = await log(db, MIA, sh("2026-02-07 10:00"), product)
    await resolve(db, t["M1"], MIA, sh("2026-02-07 11:00"), root=True)
    t["F1"] = await log(db, FAY, sh("2026-02-08 10:00"), product)
    await resolve(db, t["F1"], FAY, sh("2026-02-09 10:00"), root=True)
    at(sh("2026-02-20 09:00"))
    await team.set_role(db, actor_id=MIA, target=FAY, role=None)  # Fay has left the team

    # --- March ------------------------------------------------------------------------------
    await resolve(db, t["T8"], ALEX, sh("2026-03-02 10:00"), root=True)
    # A rating given at the very instant February ends applies to March, not February.
    at(sh("2026-03-01 00:00"))
    await ratings.rate_skill(db, actor_id=MIA, agent_id=ALEX, rating=5)
    at(sh("2026-03-03 09:00"))
    await ratings.rate_skill(db, actor_id=MIA, agent_id=ALEX, rating=10)

    # --- Refunds and orders for a digest on March 1: the window is Jan 30 … Feb 28 ----------
    await refund(db, t["T5"], sh("2026-01-29 23:59"))  # D−31: outside
    await refund(db, t["T12"], sh("2026-01-30 00:00"))  # D−30 (Jan 29 in UTC): inside, product
    await refund(db, t["T1"], sh("2026-02-10 12:00"), dispute=True)  # product, dispute
    await refund(db, t["T2"], sh("2026-02-12 12:00"))
    at(sh("2026-02-13 12:00"))
    await refunds.cancel(db, number=t["T2"], actor_id=ALEX)  # cancelled: outside everything
    await refund(db, t["T10"], sh("2026-02-15 12:00"))
    # Corrected five days later to a dispute: it still counts on Feb 15.
    await refund(db, t["T10"], sh("2026-02-20 12:00"), dispute=True, amount="12.50")
    await refund(db, t["T3"], sh("2026-02-28 23:59:59"))  # D−1: inside
    await refund(db, t["T4"], sh("2026-03-01 00:00"))  # D: outside

    at(NOW)
    for day, count in [
        ("2026-01-29", 1000),  # D−31: outside
        ("2026-01-30", 100),
        ("2026-02-14", 150),
        ("2026-02-14", 200),  # overwrites 150
        ("2026-02-28", 100),
        ("2026-03-01", 5000),  # D: outside
    ]:
        await orders.set_day(db, day=date.fromisoformat(day), orders=count, actor_id=ALEX, tz=SH)
    return Month(t)


async def check_scoreboard_of_a_past_month(db: Database, scenario: Month) -> None:
    scoring = ScoringSettings()
    rows = await scoreboard.scoreboard(db, month=FEB, scoring=scoring, tz=SH)
    by_name = {row.name: row for row in rows}
    # Fay left the team but her February tickets count; Mia is a manager with tickets; Cai is
    # an agent without any data.
    assert [row.name for row in rows] == ["Fay", "Mia", "Bo", "Alex", "Cai"]

    alex = by_name["Alex"]
    # Speed: T1 10, T9 10, T10 10, T2 8, T3 8, T4 5, T5 5, open T6 5, open T8 5 → 66 / 9.
    assert alex.indicators.speed == 66 / 9
    # Quality: T1 10, T5 10, T2 8, T4 8, T9 8, T10 8, T3 5 → 57 / 7.
    assert alex.indicators.quality == 57 / 7
    # Satisfaction: T1 10, T10 10 (latest round), T5 8, T2 5, T4 5 → 38 / 5.
    assert alex.indicators.satisfaction == 38 / 5
    assert alex.indicators.skill == 8.0  # the rating given at the instant March began is not
    assert alex.tickets == 7  # T1 T2 T3 T4 T5 T9 T10
    # 40 × (7.6 + 66/9 + 57/7 + 8) / 40 = 652.6 / 21 = 31.0761904…
    assert alex.total == 31.07619
    assert alex.max_total == 40
    assert alex.pay == Decimal("776.90")  # 1000 × 31.07619 / 40 = 776.90475

    bo = by_name["Bo"]
    # B1 (speed 10, quality 8) and B15 (10, 10, very satisfied); B13 is open only 1 µs.
    assert (bo.indicators.speed, bo.indicators.quality, bo.indicators.satisfaction) == (
        10.0,
        9.0,
        10.0,
    )
    assert bo.indicators.skill is None
    assert bo.tickets == 2
    assert bo.total == pytest.approx(290 / 300 * 40)  # scaled over three indicators
    assert bo.pay == Decimal("966.67")

    for name in ("Mia", "Fay"):
        row = by_name[name]
        assert (row.indicators.speed, row.indicators.quality) == (10.0, 10.0)
        assert (row.indicators.satisfaction, row.indicators.skill) == (None, None)
        assert (row.tickets, row.total, row.pay) == (1, 40.0, Decimal("1000.00"))

    cai = by_name["Cai"]
    assert cai.indicators == Indicators(None, None, None, None)
    assert (cai.tickets, cai.total, cai.pay, cai.max_total) == (0, None, None, 40)

    tiered = ScoringSettings(pay_scheme="tiered")
    pays = {
        r.name: r.pay for r in await scoreboard.scoreboard(db, month=FEB, scoring=tiered, tz=SH)
    }
    # Tiers 0 → 1000, 30 → 1200, 36 → 1400.
    assert pays == {
        "Fay": Decimal("1400"),
        "Mia": Decimal("1400"),
        "Bo": Decimal("1400"),
        "Alex": Decimal("1200"),
        "Cai": None,
    }

    weighted = ScoringSettings(weights={"skill": 20})
    [alex_weighted] = await scoreboard.scoreboard(
        db, month=FEB, scoring=weighted, tz=SH, agent_id=ALEX
    )
    # 50 × (10·7.6 + 10·66/9 + 10·57/7 + 20·8) / (10 · 50)
    assert alex_weighted.max_total == 50
    assert alex_weighted.total == pytest.approx((76 + 660 / 9 + 570 / 7 + 160) / 10)


async def check_scoreboard_of_the_month_in_progress(db: Database, scenario: Month) -> None:
    rows = await scoreboard.scoreboard(db, month=MAR, scoring=ScoringSettings(), tz=SH)
    # Mia has no March tickets and is a manager; Fay is gone: neither appears.
    assert [row.name for row in rows] == ["Alex", "Bo", "Cai"]
    alex, bo, cai = rows
    # Resolved: T11 10 (45 h), T8 5; open past 5 days at "now" (Mar 10 12:00): T6, T7 → 5 each.
    assert alex.indicators.speed == 25 / 4
    assert alex.indicators.quality == 10.0
    assert alex.indicators.satisfaction is None
    assert alex.indicators.skill == 10.0  # the March 3 rating
    assert (alex.tickets, alex.total, alex.pay) == (2, 35.0, Decimal("875.00"))
    # Bo: B13 and B14 open for over 5 days by now → speed 5 only.
    assert bo.indicators == Indicators(None, 5.0, None, None)
    assert (bo.tickets, bo.total, bo.pay) == (0, 20.0, Decimal("500.00"))
    assert cai.total is None


async def check_scoreboard_for_one_person_and_bad_months(db: Database, scenario: Month) -> None:
    scoring = ScoringSettings()
    [alex] = await scoreboard.scoreboard(db, month=FEB, scoring=scoring, tz=SH, agent_id=ALEX)
    assert (alex.name, alex.tickets) == ("Alex", 7)
    [cai] = await scoreboard.scoreboard(db, month=FEB, scoring=scoring, tz=SH, agent_id=CAI)
    assert cai.total is None
    assert await scoreboard.scoreboard(db, month=FEB, scoring=scoring, tz=SH, agent_id=999) == []
    with pytest.raises(InvalidInput, match="has not started"):
        await scoreboard.scoreboard(db, month=date(2026, 4, 1), scoring=scoring, tz=SH)
    with pytest.raises(ValueError, match="first day"):
        await scoreboard.scoreboard(db, month=date(2026, 2, 2), scoring=scoring, tz=SH)


async def _facts(db: Database, agent: int) -> list[TicketFacts]:
    """What the pure rule needs, read ticket by ticket (fine for a test, not for the digest)."""
    async with db.transaction() as session:
        rows = list(await session.exec(select(Ticket).where(Ticket.agent_id == agent)))
        facts = []
        for ticket in rows:
            answered = (
                await session.exec(
                    select(Survey.rating)
                    .where(Survey.ticket_id == ticket.id, col(Survey.rating).is_not(None))
                    .order_by(col(Survey.round).desc())
                )
            ).first()
            facts.append(
                TicketFacts(
                    received_at=ticket.received_at,
                    resolved_at=ticket.resolved_at,
                    quality=ticket.quality if ticket.resolved_at else None,
                    satisfaction=answered,
                )
            )
    return facts


async def check_sql_agrees_with_the_pure_rule(db: Database, scenario: Month) -> None:
    scoring = ScoringSettings()
    for month, (start, end) in [
        (FEB, (sh("2026-02-01 00:00"), sh("2026-03-01 00:00"))),
        (MAR, (sh("2026-03-01 00:00"), NOW)),
    ]:
        rows = await scoreboard.scoreboard(db, month=month, scoring=scoring, tz=SH)
        for row in rows:
            expected = agent_indicators(
                await _facts(db, row.user_id),
                skill=int(row.indicators.skill) if row.indicators.skill is not None else None,
                period_start=start,
                period_end=end,
            )
            assert row.indicators == expected, (month, row.name)


async def check_refund_figures_over_the_window(db: Database, scenario: Month) -> None:
    window, figures = await shop_figures.refund_figures(db, day=MAR, tz=SH)
    assert window == (date(2026, 1, 30), date(2026, 2, 28))
    # T12 (D−30, product), T1 (product, dispute), T10 (corrected to dispute), T3 (D−1).
    assert (figures.refunds, figures.dispute_refunds, figures.quality_refunds) == (4, 2, 2)
    assert figures.orders == 100 + 200 + 100
    assert figures.refund_rate == 4 / 400
    assert figures.dispute_refund_rate == 2 / 400
    assert figures.quality_refund_rate == 2 / 400
    # One day later, D−30 is Jan 31: T12's refund and Jan 30's orders drop out; T4 and the
    # March 1 orders come in.
    _window, later = await shop_figures.refund_figures(db, day=date(2026, 3, 2), tz=SH)
    assert (later.refunds, later.orders) == (4, 5300)
    # No orders in the window: rates are "—", never a division by zero.
    _window, empty = await shop_figures.refund_figures(db, day=date(2026, 1, 10), tz=SH)
    assert (empty.orders, empty.refunds, empty.refund_rate, empty.quality_refund_rate) == (
        0,
        0,
        None,
        None,
    )


async def check_ticket_counts_at_the_start_of_a_day(db: Database, scenario: Month) -> None:
    numbers = scenario.t
    counts = await shop_figures.ticket_counts(
        db, day=MAR, tz=SH, remind_after=timedelta(days=3), escalate_after=timedelta(days=5)
    )
    # Logged on Feb 28 (local): B13 only (B15 was a second early, B14 is March 1).
    assert counts.new == 1
    # Resolved on Feb 28: B15; T11 (Feb 28 in UTC) was resolved on March 1 locally.
    assert counts.resolved == 1
    # Open as March 1 begins: T6, T7, T8, T11 (resolved later that day), B13.
    assert counts.open == 5
    # Over 3 days: T6 (6 d), T7 (5 d), T8; over 5 days: T6 and T8 (T7 is exactly 5 days).
    assert (counts.open_over_3d, counts.open_over_5d) == (3, 2)
    assert counts.oldest == (
        OldTicket(numbers["T8"], "Alex", timedelta(days=18, hours=16)),
        OldTicket(numbers["T6"], "Alex", timedelta(days=6)),
        OldTicket(numbers["T7"], "Alex", timedelta(days=5)),
        OldTicket(numbers["T11"], "Alex", timedelta(days=1, hours=14)),
        OldTicket(numbers["B13"], "Bo", US),
    )
    fewer = await shop_figures.ticket_counts(
        db,
        day=MAR,
        tz=SH,
        remind_after=timedelta(days=3),
        escalate_after=timedelta(days=5),
        oldest=2,
    )
    assert [old.number for old in fewer.oldest] == [numbers["T8"], numbers["T6"]]


async def check_survey_counts_of_yesterday(db: Database, scenario: Month) -> None:
    counts = await shop_figures.survey_counts(db, day=MAR, tz=SH)
    # Sent on Feb 28: B15's. Answered on Feb 28: T10 round 2 (10) at 00:00 and T5 (8) at
    # 23:59:59; B15's answer came at 00:00 on March 1.
    assert counts == shop_figures.SurveyCounts(sent=1, answered=2, average=9.0)
    assert await shop_figures.survey_counts(
        db, day=date(2026, 1, 10), tz=SH
    ) == shop_figures.SurveyCounts(0, 0, None)


async def check_top_causes_of_a_month(db: Database, scenario: Month) -> None:
    start, end = month_bounds_utc(FEB, SH)
    # Logged in February (local): product T1 T2 T6 B13 M1 F1; logistics T3 T7 T10 B1 B15
    # (B15 a second before Feb 28); service T4 T11; other T8. T5, T9, T12 and B14 are outside.
    assert await shop_figures.top_causes(db, start=start, end=end) == [
        ("product", 6),
        ("logistics", 5),
        ("service", 2),
        ("other", 1),
    ]
    assert await shop_figures.top_causes(db, start=end, end=end + timedelta(hours=1)) == [
        ("logistics", 1)  # B14, logged at the first instant of March
    ]


async def check_daily_series(db: Database, scenario: Month) -> None:
    series = await shop_figures.daily_series(db, day=MAR, tz=SH)
    assert [p.day for p in series] == [date(2026, 1, 30) + timedelta(days=i) for i in range(30)]
    by_day = {p.day: p for p in series}
    # Logged Jan 30 … Feb 28 (local): everything but T5, T12 (earlier) and B14 (March 1).
    assert sum(p.new for p in series) == 15
    # Resolved: T12 (Jan 31 23:59:59), T5 and T9 (Feb 1), T1 T2 T3 T4 T10 B1 B15 M1 F1.
    assert sum(p.resolved for p in series) == 12
    assert by_day[date(2026, 1, 31)] == DayPoint(date(2026, 1, 31), 1, 1, 0, 0, None)
    assert by_day[date(2026, 2, 1)] == DayPoint(date(2026, 2, 1), 0, 2, 0, 0, None)
    assert by_day[date(2026, 1, 30)] == DayPoint(date(2026, 1, 30), 0, 0, 100, 1, 0.01)
    assert by_day[date(2026, 2, 14)] == DayPoint(date(2026, 2, 14), 0, 0, 200, 0, 0.0)
    assert by_day[date(2026, 2, 28)] == DayPoint(date(2026, 2, 28), 1, 1, 100, 1, 0.01)
    # A refund on a day without an order count has no rate.
    assert by_day[date(2026, 2, 10)].refunds == 1
    assert by_day[date(2026, 2, 10)].refund_rate is None
    assert len(await shop_figures.daily_series(db, day=MAR, tz=SH, days=7)) == 7


async def test_scoreboard(db: Database) -> None:
    scenario = await build_month(db)
    await check_scoreboard_of_a_past_month(db, scenario)
    await check_scoreboard_of_the_month_in_progress(db, scenario)
    await check_scoreboard_for_one_person_and_bad_months(db, scenario)
    await check_sql_agrees_with_the_pure_rule(db, scenario)


async def test_digest_figures(db: Database) -> None:
    scenario = await build_month(db)
    await check_refund_figures_over_the_window(db, scenario)
    await check_ticket_counts_at_the_start_of_a_day(db, scenario)
    await check_survey_counts_of_yesterday(db, scenario)
    await check_top_causes_of_a_month(db, scenario)
    await check_daily_series(db, scenario)


async def test_days_follow_daylight_saving_time(db: Database) -> None:
    """Berlin's March 29, 2026 has 23 hours; buckets must follow local midnights."""
    berlin = ZoneInfo("Europe/Berlin")
    day = date(2026, 3, 31)
    start, end = window_bounds_utc(day, berlin)
    assert day_start_utc(date(2026, 3, 1), berlin) == start
    assert day_start_utc(day, berlin) == end
    assert day_start_utc(date(2026, 3, 30), berlin) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)

    def local(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=berlin)

    # 23:30 on the 29th is 21:30 UTC; 00:30 on the 30th is 22:30 UTC the same UTC day.
    await log(db, ALEX, local("2026-03-29 23:30"), Category.OTHER)
    await log(db, ALEX, local("2026-03-30 00:30"), Category.OTHER)
    series = {p.day: p.new for p in await shop_figures.daily_series(db, day=day, tz=berlin, days=3)}
    assert series == {date(2026, 3, 28): 0, date(2026, 3, 29): 1, date(2026, 3, 30): 1}
    counts = await shop_figures.ticket_counts(
        db,
        day=date(2026, 3, 30),
        tz=berlin,
        remind_after=timedelta(days=3),
        escalate_after=timedelta(days=5),
    )
    assert (counts.new, counts.open) == (1, 1)


def test_month_parsing() -> None:
    assert parse.month("2026-03") == date(2026, 3, 1)
    for bad in ("2026-13", "2026-3", "March", "2026-03-01"):
        with pytest.raises(InvalidInput, match="is not a month"):
            parse.month(bad)
    assert month_of(datetime(2026, 2, 28, 16, 0, tzinfo=UTC), SH) == MAR
    assert month_bounds_utc(date(2026, 12, 1), SH) == (
        datetime(2026, 11, 30, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )
