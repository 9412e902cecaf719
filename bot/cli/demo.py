"""`kefu demo`: a month of a small after-sales team, so anyone can see what Kefu produces.

It fills a fresh SQLite database through the real services — tickets logged, customers
linked, resolutions with the agent's quality call, surveys delivered and answered, a few
reopens, refunds (some with the platform stepping in, some with the customer's request time),
platform interventions, repeat sales for commission, DSR entries, internal complaints, daily
orders and skill ratings — with
every event at a controlled time (`bot.clock`), from a seeded random generator, so the same
seed gives the same month. Then it prints the digest of the first day after that month and
draws its chart. Telegram is not involved: queued messages are marked delivered as a
dispatcher would, which is what starts each survey's clock.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import clock, eventloop, migrate, outbox
from bot.config import Settings
from bot.db import Database
from bot.i18n import use_language
from bot.models import Category
from bot.services import (
    complaints,
    dsr,
    interventions,
    orders,
    ratings,
    refunds,
    sales,
    surveys,
    team,
    tickets,
)
from bot.services import digest as digests
from bot.services.digest import Digest
from bot.services.team import SeenUser
from bot.services.tickets import NewTicket
from handlers.chart_process import ChartWorker
from scoring.figures import Dsr

TZ = ZoneInfo("Asia/Shanghai")
MONTH = date(2026, 3, 1)
DIGEST_DAY = date(2026, 4, 1)
MANAGER = SeenUser(100, "Mia Manager", "mia_demo", "en")
AGENTS = (
    SeenUser(201, "Li Na", "lina_demo", "zh-hans"),
    SeenUser(202, "Wang Lei", "wanglei_demo", "zh-hans"),
    SeenUser(203, "Zhang Min", "zhangmin_demo", "zh-hans"),
    SeenUser(204, "Chen Jie", "chenjie_demo", "zh-hans"),
)
SKILLS = {201: 10, 202: 8, 203: 8, 204: 5}
# The three top causes of after-sales dissatisfaction, and the rest.
CATEGORY_WEIGHTS = {
    Category.LOGISTICS: 40,
    Category.PRODUCT: 30,
    Category.SERVICE: 20,
    Category.OTHER: 10,
}
PROBLEMS = {
    Category.LOGISTICS: ("Parcel late", "Parcel damaged in transit", "Wrong address on label"),
    Category.PRODUCT: ("Item stopped working", "Missing part", "Colour differs from photo"),
    Category.SERVICE: ("No reply to chat", "Refund promised but not done"),
    Category.OTHER: ("Invoice request", "Question about warranty"),
}
TARGETS = {
    "refund_rate_max": 0.03,
    "dispute_refund_rate_max": 0.002,
    "quality_refund_rate_max": 0.015,
    # Ambitious, as shops set it: the demo team usually misses it, which shows what a miss
    # looks like ("team bonus at risk").
    "satisfaction_min": 9.0,
    "open_over_5d_max": 2,
    "refund_hours_max": 72,
    "intervention_rate_max": 0.01,
    "dsr_min": 4.7,
    "internal_complaints_max": 2,
    "first_time_fix_rate_min": 0.9,
}
# Seed ⑶'s pay: 千分之三 commission on repeat sales, and a team bonus the targets decide.
SCORING = {"commission_rate": Decimal("0.003"), "team_bonus": Decimal("300")}
# The shop's DSR as the platform showed it on three days of the month.
DSR = (
    (date(2026, 3, 1), "4.82", "4.86", "4.75"),
    (date(2026, 3, 15), "4.84", "4.85", "4.71"),
    (date(2026, 3, 29), "4.85", "4.83", "4.69"),
)


@dataclass(frozen=True)
class DemoResult:
    database: Path
    chart: Path
    digest: Digest
    settings: Settings


def demo_settings(database: Path, language: str = "en") -> Settings:
    return Settings(
        database={"url": f"sqlite+aiosqlite:///{database}"},  # type: ignore[arg-type]
        team={  # type: ignore[arg-type]
            "managers": [MANAGER.user_id],
            "agents": [agent.user_id for agent in AGENTS],
            "timezone": TZ.key,
            "language": language,
        },
        targets=TARGETS,  # type: ignore[arg-type]
        scoring=SCORING,  # type: ignore[arg-type]
    )


Event = tuple[datetime, int, Callable[[], Awaitable[None]]]


class _Month:
    """Builds the month's events, then plays them in time order."""

    def __init__(self, db: Database, settings: Settings, seed: int) -> None:
        self.db, self.settings, self.rng = db, settings, random.Random(seed)
        # The rest of the shop figures draw from their own generator, so adding them left the
        # month's tickets, surveys and refunds as they were.
        self.more = random.Random(seed + 2)
        self.events: list[Event] = []
        self.order = 0
        # ticket number → its survey, once the question was "delivered"
        self.surveys: dict[int, int] = {}

    def at(self, moment: datetime, action: Callable[[], Awaitable[None]]) -> None:
        # The sequence number keeps same-time events in the order they were planned.
        self.order += 1
        self.events.append((moment, self.order, action))

    def local(self, day: date, hour: float) -> datetime:
        return datetime.combine(day, time(0), tzinfo=TZ) + timedelta(hours=hour)

    def plan_day(self, day: date, first_number: int) -> int:
        """Plan one day's tickets; returns the next ticket number."""
        # Weekends are busier for a shop.
        count = self.rng.randint(2, 4) + (2 if day.weekday() >= 5 else 0)
        for offset, hour in enumerate(sorted(self.rng.uniform(9, 21) for _ in range(count))):
            self.plan_ticket(first_number + offset, self.local(day, hour))
        return first_number + count

    def plan_ticket(self, number: int, logged: datetime) -> None:
        rng = self.rng
        agent = rng.choice(AGENTS)
        category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
        received = logged - timedelta(hours=rng.choice((0, 0, 0, 2, 20, 50)))
        customer = SeenUser(
            5000 + number, f"Customer {number}", None, rng.choice(("zh-hans", "en"))
        )
        # How long it takes: mostly within 3 days, some 3–5 days, a few longer, some not yet.
        spans = (rng.uniform(2, 60), rng.uniform(75, 115), rng.uniform(125, 200))
        hours = rng.choices(spans, weights=(75, 18, 7))[0]
        resolved = logged + timedelta(hours=hours)
        root = rng.random() < 0.7
        new = NewTicket(
            description=rng.choice(PROBLEMS[category]),
            category=category,
            order_ref=f"TB{20260300 + number}",
            received_at=received,
        )

        async def create() -> None:
            view = await tickets.create(self.db, creator_id=agent.user_id, new=new)
            assert view.number == number, "the demo expects a fresh database"
            if rng.random() < 0.8:
                await tickets.link_customer(self.db, token=view.link_token, customer=customer)

        self.at(logged, create)
        self.at(resolved, lambda: self.resolve(number, agent, root))
        answer_at = resolved + timedelta(hours=rng.uniform(0.5, 30))
        rating = rng.choices(list(surveys.Rating), weights=(60, 30, 10))[0]
        if rng.random() < 0.75:
            self.at(answer_at, lambda: self.answer(number, customer, rating))
        if rng.random() < 0.06:
            # The problem came back: reopened (quality 5), resolved again a day later.
            again = answer_at + timedelta(hours=2)
            self.at(again, lambda: self.reopen(number, agent))
            self.at(again + timedelta(hours=24), lambda: self.resolve(number, agent, True))
        if rng.random() < 0.12:
            amount = Decimal(rng.choice((29, 59, 89, 129, 199, 399))).quantize(Decimal("0.01"))
            dispute = rng.random() < 0.1
            # When the customer asked, if the agent noted it (else the receipt counts).
            asked = received + timedelta(hours=self.more.uniform(0, 24))
            requested = min(asked, resolved) if self.more.random() < 0.5 else None

            async def refund() -> None:
                await refunds.record(
                    self.db,
                    number=number,
                    actor_id=agent.user_id,
                    amount=amount,
                    dispute=dispute,
                    tz=TZ,
                    requested_at=requested,
                )

            self.at(resolved + timedelta(minutes=30), refund)
        self.plan_more(number, agent, logged, resolved)

    def plan_more(self, number: int, agent: SeenUser, logged: datetime, resolved: datetime) -> None:
        """The platform stepping in, a repeat purchase, an internal complaint — now and then."""
        more = self.more
        if more.random() < 0.03:
            self.at(
                logged + timedelta(hours=1),
                lambda: self._done(
                    interventions.record(self.db, number=number, actor_id=agent.user_id, tz=TZ)
                ),
            )
        if more.random() < 0.15:
            amount = Decimal(more.choice(("59.00", "99.90", "199.00", "349.50")))
            self.at(
                resolved + timedelta(days=2),
                lambda: self._done(
                    sales.record(
                        self.db, number=number, actor_id=agent.user_id, amount=amount, tz=TZ
                    )
                ),
            )
        if more.random() < 0.02:
            self.at(
                resolved + timedelta(hours=1),
                lambda: self._done(
                    complaints.record(
                        self.db,
                        number=number,
                        actor_id=MANAGER.user_id,
                        text="Kept the customer waiting without an answer",
                    )
                ),
            )

    @staticmethod
    async def _done(work: Awaitable[object]) -> None:
        await work

    async def resolve(self, number: int, agent: SeenUser, root: bool) -> None:
        await tickets.resolve(self.db, number, actor_id=agent.user_id, root_cause_found=root)
        # Resolving queues the survey; "deliver" it now so its clock starts as it would.
        await self.deliver()

    async def reopen(self, number: int, agent: SeenUser) -> None:
        await tickets.reopen(self.db, number, actor_id=agent.user_id)

    async def answer(self, number: int, customer: SeenUser, rating: surveys.Rating) -> None:
        survey_id = self.surveys.get(number)
        if survey_id is None:
            return  # the customer never opened the ticket link, so was never asked
        await surveys.answer(
            self.db,
            survey_id=survey_id,
            rating=rating,
            presser_id=customer.user_id,
            tapped_message_id=None,
            settings=self.settings.survey,
        )

    async def deliver(self) -> None:
        """Mark queued messages delivered, as the dispatcher would (no Telegram here)."""
        for item in await outbox.claim_due(self.db, owner="demo"):
            if item.kind == surveys.KIND_SURVEY:
                survey_id = int(item.payload["survey_id"])
                question = await surveys.question(
                    self.db,
                    survey_id,
                    expire_after=timedelta(hours=self.settings.survey.expire_after_hours),
                )
                if question is not None:
                    self.surveys[question.number] = survey_id
                    await surveys.mark_sent(
                        self.db, survey_id, chat_id=int(item.chat_id or 0), message_id=None
                    )
            await outbox.mark_sent(self.db, item.id, message_id=None)

    async def play(self) -> None:
        for moment, _order, action in sorted(self.events, key=lambda e: (e[0], e[1])):
            if moment >= datetime.combine(DIGEST_DAY, self.settings.digest.at, tzinfo=TZ):
                continue  # not happened yet when the digest is read
            clock.advance(moment - clock.now())
            await action()


async def build_month(db: Database, settings: Settings, seed: int) -> Digest:
    """Fill `db` with the month and return the digest of the day after it."""
    clock.advance(datetime.combine(MONTH, time(8), tzinfo=TZ) - clock.now())
    await team.sync_config(
        db,
        managers=[MANAGER.user_id],
        agents=[a.user_id for a in AGENTS],
        chat_id=-1000000000001,
    )
    for person in (MANAGER, *AGENTS):
        await team.record_seen(db, person)
    for agent in AGENTS:
        await ratings.rate_skill(
            db, actor_id=MANAGER.user_id, agent_id=agent.user_id, rating=SKILLS[agent.user_id]
        )
    month = _Month(db, settings, seed)
    for day, description, service, logistics in DSR:
        scores = Dsr(Decimal(description), Decimal(service), Decimal(logistics))
        month.at(
            month.local(day, 10),
            lambda day=day, scores=scores: month._done(  # type: ignore[misc]
                dsr.record(db, day=day, scores=scores, actor_id=MANAGER.user_id, tz=TZ)
            ),
        )
    number, day = 1, MONTH
    while day < DIGEST_DAY:
        number = month.plan_day(day, number)
        day += timedelta(days=1)
    await month.play()
    clock.advance(datetime.combine(DIGEST_DAY, settings.digest.at, tzinfo=TZ) - clock.now())
    rng = random.Random(seed + 1)
    day = MONTH - timedelta(days=1)
    while day < DIGEST_DAY:
        await orders.set_day(
            db, day=day, orders=rng.randint(120, 260), actor_id=MANAGER.user_id, tz=TZ
        )
        day += timedelta(days=1)
    return await digests.build_digest(db, settings, DIGEST_DAY)


async def create_demo(out: Path, *, seed: int, language: str = "en") -> DemoResult:
    """The demo database, its digest and its chart, written under `out`."""
    # The chart's process imports matplotlib on the other core while the month is played.
    charts = ChartWorker()
    warming = asyncio.create_task(charts.start())
    try:
        database = out / "kefu-demo.db"
        await asyncio.to_thread(_fresh, database)
        settings = demo_settings(database, language)
        await migrate.upgrade(settings.database.url)
        db = Database(settings.database.url)
        try:
            found = await build_month(db, settings, seed)
        finally:
            await db.dispose()
            # The demo moved this process's clock; put it back.
            clock.reset()
        await warming
        chart = out / f"kefu-digest-{DIGEST_DAY.isoformat()}.png"
        chart.write_bytes(await charts.render(found))
    finally:
        warming.cancel()
        await charts.close()
    return DemoResult(database, chart, found, settings)


def _fresh(database: Path) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (database, *database.parent.glob(database.name + "-*")):
        leftover.unlink(missing_ok=True)


def run_demo(*, out: str | None, seed: int, language: str) -> int:
    """Create the demo and print its digest and where the files are."""
    from handlers import digest_render

    target = Path(out) if out else Path(tempfile.mkdtemp(prefix="kefu-demo-"))
    result = eventloop.run(create_demo(target, seed=seed, language=language))
    with use_language(language):
        print(digest_render.plain(digest_render.digest_text(result.digest, limit=10**9)))
    print()
    print(f"chart:    {result.chart}")
    print(f"database: {result.database}")
    print(
        f"monthly report: KEFU_DATABASE__URL={result.settings.database.url} "
        f"kefu report --month {MONTH:%Y-%m}"
    )
    return 0
