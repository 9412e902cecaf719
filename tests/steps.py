"""What tests do through the bot, shared by several test modules: move the clock, log a
ticket, open its customer link, read what came back."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot import clock
from scoring import local_day
from tests.fakebot import SentMessage
from tests.harness import AGENT, CUSTOMER, TEAM_CHAT, Kefu, Person, only, settings_for

TZ = ZoneInfo("Asia/Shanghai")
# The customer's link in a /ticket answer, and the token it carries.
LINK = re.compile(r"https://t\.me/kefu_test_bot\?start=([A-Za-z0-9_-]+)")


def travel(when: str) -> None:
    """Move the clock to `YYYY-MM-DD HH:MM` in the team's zone."""
    target = datetime.fromisoformat(when).replace(tzinfo=TZ)
    clock.advance(target - clock.now())


def today(kefu: Kefu) -> date:
    return local_day(clock.now(), kefu.settings.team.tz)


async def running(db_url: str, **sections: dict[str, Any]) -> Kefu:
    return await Kefu(settings_for(db_url, **sections)).start()


async def ok(kefu: Kefu, who: Person, text: str) -> list[SentMessage]:
    """A command in the sender's private chat, which must be answered.

    Private, because the rate limiter lets a bot post only 20 messages a minute in a group.
    """
    sent = await kefu.say(who, text)
    assert sent, f"no answer to {text!r}"
    return sent


async def text_of(kefu: Kefu, who: object, command: str, chat: int = TEAM_CHAT) -> str:
    return only(await kefu.say(who, command, chat=chat)).text or ""  # type: ignore[arg-type]


async def rows(kefu: Kefu, model: type) -> list:  # type: ignore[type-arg]
    async with kefu.runtime.db.transaction() as session:
        return list(await session.exec(select(model)))


async def log_ticket(kefu: Kefu, text: str = "Broken lid cat:product") -> None:
    reply = await text_of(kefu, AGENT, f"/ticket {text}")
    assert "#1" in reply, reply


async def linked_ticket(
    kefu: Kefu, customer: Person = CUSTOMER, text: str = "Parcel arrived broken order:A1"
) -> int:
    """The agent logs a ticket in the team chat and `customer` opens its link."""
    reply = only(await kefu.say(AGENT, f"/ticket {text}", chat=TEAM_CHAT))
    match = LINK.search(reply.text or "")
    assert match, reply.text
    number = int(re.search(r"#(\d+)", reply.text or "").group(1))  # type: ignore[union-attr]
    await kefu.say(customer, f"/start {match.group(1)}")
    return number


async def agent_in_private(kefu: Kefu, agent: Person = AGENT) -> None:
    """The agent has a private chat with the bot, so relays can reach them there."""
    await kefu.say(agent, "/help")


def approx(value: Any) -> Any:
    """The expected JSON with every float compared to within rounding noise."""
    if isinstance(value, dict):
        return {key: approx(item) for key, item in value.items()}
    if isinstance(value, list):
        return [approx(item) for item in value]
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9)
    return value
