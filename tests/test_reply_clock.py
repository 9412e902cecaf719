"""The reply clock through the real Application: waits opened and closed by the conversation,
the digest's figures against waits computed by hand, /show, and the reminder and escalation
sent once each across restarts."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from bot import clock
from bot.services import digest as digests
from scoring.refunds import local_day
from tests.harness import (
    AGENT,
    AGENT2,
    CUSTOMER,
    CUSTOMER_EN,
    MANAGER,
    TEAM_CHAT,
    Kefu,
    only,
    settings_for,
)
from tests.steps import agent_in_private, linked_ticket, running

SWEEP = "reply-sweep"


def to_local(kefu: Kefu, hour: int) -> None:
    """Move the clock forward to `hour`:00 of the next team-local day."""
    tz = kefu.settings.team.tz
    tomorrow = local_day(clock.now(), tz) + timedelta(days=1)
    target = datetime.combine(tomorrow, time(hour), tzinfo=tz)
    clock.advance(target - clock.now())


def minutes(n: float) -> None:
    clock.advance(timedelta(minutes=n))


async def sweep(kefu: Kefu) -> list[str]:
    before = len(kefu.telegram.sent)
    await kefu.run_job(SWEEP)
    await kefu.deliver()
    return [m.text or "" for m in kefu.telegram.sent[before:]]


async def test_digest_figures_match_waits_computed_by_hand(kefu: Kefu) -> None:
    await agent_in_private(kefu)
    chen = await linked_ticket(kefu, CUSTOMER, "Parcel broken")
    dana = await linked_ticket(kefu, CUSTOMER_EN, "Wrong size")
    to_local(kefu, 1)
    day = local_day(clock.now(), kefu.settings.team.tz)

    await kefu.say(CUSTOMER, "a")  # wait 1 opens at 01:00
    minutes(5)
    await kefu.say(CUSTOMER, "b")  # still the same wait
    minutes(7)
    await kefu.say(AGENT, f"/reply {chen} On it")  # closes wait 1: 12 min, Alex
    minutes(8)
    await kefu.say(CUSTOMER, "c")  # wait 2 opens at 01:20
    minutes(30)
    await kefu.say(AGENT, f"/reply {chen} Sent")  # closes wait 2: 30 min, Alex
    minutes(10)
    await kefu.say(CUSTOMER_EN, "hello")  # wait 3 opens at 02:00
    minutes(40)
    await kefu.say(AGENT2, f"/reply {dana} Checking", chat=TEAM_CHAT)  # closes: 40 min, Bo
    minutes(10)
    await kefu.say(CUSTOMER, "d")  # wait 4 opens at 02:50, still open
    minutes(20)  # now 03:10

    built = await digests.build_digest(kefu.runtime.db, kefu.settings, day + timedelta(days=1))
    assert built.to_json()["conversation"] == {
        "customer_messages": 5,
        "replies": 3,
        "median_reply_minutes": 30.0,  # median of 12, 30, 40
        "awaiting_reply": 1,
        "oldest_wait_minutes": 20.0,
    }
    medians = {a["name"]: a["median_reply_minutes"] for a in built.to_json()["agents"]}
    assert medians["Alex"] == 21.0  # median of 12 and 30
    assert medians["Bo"] == 40.0
    assert digests.Digest.from_json(built.to_json()) == built

    shown = only(await kefu.say(MANAGER, f"/show {chen}", chat=TEAM_CHAT)).text or ""
    assert "First response: 12m" in shown
    assert "The customer is waiting for an answer (20m)." in shown


async def test_no_waits_give_null_not_zero(kefu: Kefu) -> None:
    day = local_day(clock.now(), kefu.settings.team.tz)
    built = await digests.build_digest(kefu.runtime.db, kefu.settings, day)
    assert built.to_json()["conversation"] == {
        "customer_messages": 0,
        "replies": 0,
        "median_reply_minutes": None,
        "awaiting_reply": 0,
        "oldest_wait_minutes": None,
    }


async def test_the_median_reply_target_is_checked(db_url: str) -> None:
    kefu = await running(db_url, targets={"median_reply_minutes_max": 10})
    try:
        number = await linked_ticket(kefu)
        to_local(kefu, 1)
        day = local_day(clock.now(), kefu.settings.team.tz)
        await kefu.say(CUSTOMER, "hi")
        minutes(15)
        await kefu.say(AGENT, f"/reply {number} hello", chat=TEAM_CHAT)
        built = await digests.build_digest(kefu.runtime.db, kefu.settings, day + timedelta(days=1))
        target = built.target("median_reply_minutes_max")
        assert target is not None and target.actual == 15.0 and target.met is False
        assert built.bonus_at_risk
    finally:
        await kefu.stop()


async def test_reminder_then_escalation_once_each_across_a_restart(db_url: str) -> None:
    kefu = await running(db_url)
    await agent_in_private(kefu)
    number = await linked_ticket(kefu)
    await kefu.say(CUSTOMER, "Hello?")
    minutes(59)
    assert await sweep(kefu) == []
    minutes(2)
    reminded = await sweep(kefu)
    assert reminded == [
        f"Chen has been waiting 1h 1m for an answer on #{number}. Reply to their message, "
        f"or /reply {number} followed by your answer."
    ]
    assert kefu.telegram.sent[-1].chat_id == AGENT.user_id
    assert await sweep(kefu) == []
    await kefu.stop()

    again = await Kefu(settings_for(db_url), telegram=kefu.telegram).start()  # a restart
    try:
        assert await sweep(again) == []
        minutes(60)
        escalated = await sweep(again)
        assert len(escalated) == 1 and escalated[0].startswith("No answer yet: Chen has waited 2h")
        assert again.telegram.sent[-1].chat_id == TEAM_CHAT
        minutes(60)
        assert await sweep(again) == []
        # Answered: the next wait is a new one, with its own reminder.
        await again.say(AGENT, f"/reply {number} Sorry for the wait", chat=TEAM_CHAT)
        minutes(61)
        assert await sweep(again) == []
    finally:
        await again.stop()


async def test_quiet_hours_delay_the_reminder(db_url: str) -> None:
    kefu = await running(db_url, followup={"quiet_hours": "22:00-08:00"})
    try:
        await agent_in_private(kefu)
        await linked_ticket(kefu)
        to_local(kefu, 21)
        await kefu.say(CUSTOMER, "Evening question")
        minutes(90)  # 22:30: due, but quiet
        assert await sweep(kefu) == []
        to_local(kefu, 8)
        await kefu.deliver()
        texts = [m.text or "" for m in kefu.telegram.sent_to(AGENT.user_id)]
        assert sum("has been waiting" in text for text in texts) == 1
    finally:
        await kefu.stop()


async def test_show_pages_back_through_the_conversation(kefu: Kefu) -> None:
    number = await linked_ticket(kefu)
    for n in range(1, 8):
        await kefu.say(CUSTOMER, f"message {n}")
    card = only(await kefu.say(AGENT, f"/show {number}", chat=TEAM_CHAT))
    body = card.text or ""
    assert "(7 messages)" in body
    assert [f"message {n}" in body for n in range(1, 8)] == [False] * 2 + [True] * 5
    older = only(await kefu.press_label(AGENT, card, "Older messages"))
    assert re.findall(r"message (\d)", older.text or "") == ["1", "2"]
    assert older.buttons == []
