"""Bad input and people who should not get in: fuzzing, the authorisation matrix, forgery, secrets.

The command list comes from the Application itself, so a command added later is fuzzed and
must be placed in the matrix (README's rules) before this suite passes again.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel, select
from telegram.ext import CommandHandler

from bot import clock
from bot.app import build_application
from bot.i18n import SUPPORTED, translations
from bot.models import Survey, Ticket
from bot.services import dsr, orders, ratings, refunds, sales
from bot.services.errors import KefuError
from handlers import parse
from tests.fakebot import FakeBotApiServer, FakeTelegram, SentMessage
from tests.harness import (
    AGENT,
    AGENT2,
    CUSTOMER,
    CUSTOMER_EN,
    MANAGER,
    OTHER_GROUP,
    STRANGER,
    TEAM_CHAT,
    TOKEN,
    Kefu,
    Person,
    settings_for,
)
from tests.processes import clean_env, kefu_command
from tests.steps import LINK
from tests.throttle import unthrottle

HELPER = Person(5001, "Frank", "frank_helper")
APOLOGY = "something went wrong"


def registered_commands() -> list[str]:
    """Every command the Application answers, read from its handlers."""
    app = build_application(settings_for("sqlite+aiosqlite:///never-opened.db"))
    return sorted(
        {
            name
            for group in app.handlers.values()
            for handler in group
            if isinstance(handler, CommandHandler)
            for name in handler.commands
        }
    )


COMMANDS = registered_commands()


# ---------------------------------------------------------------- the authorisation matrix

EVERYONE, AGENTS, MANAGERS, NOBODY = "everyone", "agents", "managers", "nobody"

# The README's rules: who may use each command, and whether it shows team data (tickets,
# agents, scores, KPI inputs), which is refused in groups other than the team chat. Only
# logging a ticket (with its guided flow) works in a customer's group too.
README: dict[str, tuple[str, bool]] = {
    "start": (EVERYONE, False),
    "help": (EVERYONE, False),
    "ticket": (AGENTS, False),
    "cancel": (AGENTS, False),
    "note": (AGENTS, True),
    "assign": (AGENTS, True),
    "resolve": (AGENTS, True),
    "reopen": (AGENTS, True),
    "tickets": (AGENTS, True),
    "show": (AGENTS, True),
    "agents": (AGENTS, True),
    "refund": (AGENTS, True),
    "orders": (AGENTS, True),
    "score": (AGENTS, True),
    "agent": (MANAGERS, True),
    "skill": (MANAGERS, True),
    "quality": (MANAGERS, True),
    "digest": (MANAGERS, True),
    "report": (MANAGERS, True),
    "reply": (AGENTS, True),
    "customer": (AGENTS, True),
    "find": (AGENTS, True),
    "switch": (EVERYONE, False),
    "intervened": (AGENTS, True),
    "sale": (AGENTS, True),
    "dsr": (MANAGERS, True),
    "complaint": (MANAGERS, True),
    "export": (MANAGERS, True),
    # The team is configured, so no set-up code is outstanding: refused to all.
    "setup": (NOBODY, False),
}

# Arguments that make each command do its work when it is allowed.
ARGS: dict[str, str] = {
    "start": "",
    "help": "",
    "ticket": "Matrix parcel order:M1 cat:product",
    "cancel": "",
    "note": "1 called the courier",
    "assign": "2 @bo_agent",
    "resolve": "2 root",
    "reopen": "3",
    "tickets": "all",
    "show": "1",
    "agents": "",
    "refund": "1 10.50",
    "orders": "{yesterday} 120",
    "score": "",
    "agent": "add @frank_helper",
    "skill": "@alex_agent 8",
    "quality": "3 8",
    "digest": "",
    "report": "",
    "setup": "ABCD-1234-EF56",
    "reply": "1 Thank you for waiting",
    "customer": "@chen_customer",
    "find": "parcel",
    "switch": "",
    "intervened": "1",
    "sale": "1 99.50",
    "dsr": "{yesterday} 4.85 4.80 4.78",
    "complaint": "1 kept the customer waiting",
    "export": "",
}
# Allowed, these must leave a mark in the database; every other command must not.
WRITES = {"ticket", "note", "assign", "resolve", "reopen", "agent", "refund", "orders"}
WRITES |= {"skill", "quality", "intervened", "sale", "dsr", "complaint", "reply"}

# Every refusal the guard and the services give, as read in English and in Chinese.
REFUSAL_MSGIDS = (
    "Sorry, this command is for the after-sales team. If you need help with an order, "
    "please contact the shop's customer service.",
    "Sorry, only managers can use this command.",
    "Team data is shown only in the team chat or a private chat with me.",
    "Please use this command in the team group.",
    "Set-up is already complete; ask a manager to add you.",
    "Only managers can change the team.",
    "Only managers can do that.",
    "Only team agents and managers can do that.",
)
REFUSALS = tuple(
    translations(language).gettext(msgid) for msgid in REFUSAL_MSGIDS for language in SUPPORTED
)


@dataclass(frozen=True)
class Seat:
    """Somebody, somewhere: a column of the matrix."""

    name: str
    person: Person
    chat: int
    role: str | None
    place: str  # "team", "private" or "other"


SEATS = [
    Seat("manager-in-team-chat", MANAGER, TEAM_CHAT, "manager", "team"),
    Seat("agent-in-team-chat", AGENT, TEAM_CHAT, "agent", "team"),
    Seat("agent-in-private", AGENT, AGENT.user_id, "agent", "private"),
    Seat("linked-customer", CUSTOMER, CUSTOMER.user_id, None, "private"),
    Seat("stranger-in-private", STRANGER, STRANGER.user_id, None, "private"),
    Seat("stranger-in-team-chat", STRANGER, TEAM_CHAT, None, "team"),
    Seat("manager-in-other-group", MANAGER, OTHER_GROUP, "manager", "other"),
    Seat("agent-in-other-group", AGENT, OTHER_GROUP, "agent", "other"),
]


def allowed(command: str, seat: Seat) -> bool:
    who, team_data = README[command]
    if who == NOBODY:
        return False
    if team_data and seat.place == "other":
        return False
    if who == AGENTS:
        return seat.role in ("agent", "manager")
    if who == MANAGERS:
        return seat.role == "manager"
    return True


def test_every_registered_command_is_in_the_matrix() -> None:
    assert set(COMMANDS) <= set(README), (
        f"place {sorted(set(COMMANDS) - set(README))} in README / this matrix"
    )
    assert set(COMMANDS) <= set(ARGS)


async def snapshot(kefu: Kefu) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, but the redelivery guard and when-last-seen timestamps."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with kefu.runtime.db.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name == "processed_update":
                continue  # every update is recorded as seen, refused or not
            columns = [c for c in table.columns if c.name != "updated_at" or table.name != "person"]
            rows = await session.exec(select(*columns))  # type: ignore[call-overload]
            tables[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return tables


async def staged(kefu: Kefu) -> Kefu:
    """A team with history: #1 open and its customer linked, #2 open, #3 resolved."""
    unthrottle(kefu.app)
    kefu.updates.group_chat(OTHER_GROUP, "A customer's group")
    for person in (HELPER, CUSTOMER, STRANGER, AGENT, MANAGER, AGENT2):
        await kefu.say(person, "/help")
    for person in (STRANGER, AGENT, MANAGER):
        for chat in (TEAM_CHAT, OTHER_GROUP):
            await kefu.say(person, "/help", chat=chat)
    [first] = await kefu.say(AGENT, "/ticket Parcel arrived broken order:A1", chat=TEAM_CHAT)
    await kefu.say(CUSTOMER, f"/start {LINK.search(first.text or '').group(1)}")  # type: ignore[union-attr]
    await kefu.say(AGENT, "/ticket Wrong colour order:A2", chat=TEAM_CHAT)
    await kefu.say(AGENT, "/ticket Late courier order:A3", chat=TEAM_CHAT)
    await kefu.say(AGENT, "/resolve 3 noroot", chat=TEAM_CHAT)
    return kefu


@pytest.fixture
async def team(db_url: str) -> AsyncIterator[Kefu]:
    kefu = await Kefu(settings_for(db_url)).start()
    try:
        yield await staged(kefu)
    finally:
        await kefu.stop()


def said(msgid: str) -> set[str]:
    """A message as the bot may say it: in English or in Chinese."""
    return {translations(language).gettext(msgid) for language in SUPPORTED}


def is_refusal(text: str) -> bool:
    return any(phrase in text for phrase in REFUSALS)


@pytest.mark.parametrize("seat", SEATS, ids=[s.name for s in SEATS])
async def test_authorisation_matrix(team: Kefu, seat: Seat) -> None:
    yesterday = (clock.now() - timedelta(days=1)).astimezone(team.settings.team.tz).date()
    problems: list[str] = []
    for command in COMMANDS:
        text = f"/{command} {ARGS[command].format(yesterday=yesterday)}".strip()
        before = await snapshot(team)
        sent_before = len(team.telegram.sent)
        replies = await team.say(seat.person, text, chat=seat.chat)
        after = await snapshot(team)
        elsewhere = [m for m in team.telegram.sent[sent_before:] if m.chat_id != seat.chat]
        texts = [m.text or "" for m in replies if m.chat_id == seat.chat]
        cell = f"{text!r} by {seat.name}"
        if not texts:
            problems.append(f"{cell}: no answer")
        elif any(APOLOGY in t for t in texts):
            problems.append(f"{cell}: crashed: {texts}")
        elif allowed(command, seat):
            if any(is_refusal(t) for t in texts):
                problems.append(f"{cell}: refused but README allows it: {texts}")
            if (command in WRITES) != (before != after):
                problems.append(f"{cell}: {'wrote nothing' if command in WRITES else 'wrote'}")
        else:
            if not all(is_refusal(t) for t in texts):
                problems.append(f"{cell}: allowed but README refuses it: {texts}")
            if before != after:
                changed = [name for name in before if before[name] != after[name]]
                problems.append(f"{cell}: refused, yet changed {changed}")
            if elsewhere:
                problems.append(f"{cell}: refused, yet messaged {[m.chat_id for m in elsewhere]}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- nothing private elsewhere

PRIVATE = re.compile(r"Parcel arrived broken|Wrong colour|Late courier|Chen|quality \d|质量")


async def test_nothing_team_private_is_answered_in_another_group(team: Kefu) -> None:
    """Whatever a team member types in a customer's group, the answer names no other ticket,
    no customer, no score, no list; and nothing queued goes there either."""
    yesterday = (clock.now() - timedelta(days=1)).astimezone(team.settings.team.tz).date()
    for command in COMMANDS:
        for person in (MANAGER, AGENT):
            text = f"/{command} {ARGS[command].format(yesterday=yesterday)}".strip()
            replies = await team.say(person, text, chat=OTHER_GROUP)
            for reply in replies:
                leaked = PRIVATE.search(reply.text or "")
                assert not leaked, f"{text!r} answered {reply.text!r} in a customer group"
                assert reply.method == "sendMessage", f"{text!r} sent a file to a customer group"
    clock.advance(timedelta(days=7))
    await team.run_job("followup-sweep")
    await team.deliver()
    to_other = [m.text for m in team.sent_to(OTHER_GROUP)]
    assert not [t for t in to_other if t and "still open" in t], "a follow-up went to the group"


# ---------------------------------------------------------------- forged and replayed taps


async def survey_for(team: Kefu) -> SentMessage:
    """Resolve #1, whose customer is linked: the survey question with its three buttons."""
    await team.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT)
    [question] = [m for m in team.sent_to(CUSTOMER.user_id) if m.buttons]
    return question


async def survey_row(team: Kefu, number: int) -> Survey:
    async with team.runtime.db.transaction() as session:
        [survey] = await session.exec(select(Survey).where(Survey.ticket_id == number))
        return survey


def button(message: SentMessage, index: int) -> str:
    return str([b for row in message.buttons for b in row][index]["callback_data"])


async def test_survey_buttons_cannot_be_forged_or_replayed(team: Kefu) -> None:
    question = await survey_for(team)
    very, _satisfied, dissatisfied = (button(question, i) for i in range(3))
    survey_id = int(very.split(":")[1])

    forged = [
        re.sub(r":[0-9a-f]{20}$", ":" + "0" * 20, dissatisfied),  # a made-up signature
        very.replace(f"sv:{survey_id}:", f"sv:{survey_id + 1}:"),  # another survey, same mac
        very.replace(":10:", ":5:"),  # another rating, same mac
        "sv:1:10",
        "sv:' OR 1=1 --",
    ]
    for data in forged:
        await team.press(CUSTOMER, question, data)
        assert team.last_answer() in said("This button is not valid."), data
    assert (await survey_row(team, 1)).status == "sent"

    # A real button, tapped by someone who is not this ticket's customer.
    for outsider in (CUSTOMER_EN, STRANGER, AGENT, MANAGER):
        await team.press(outsider, question, dissatisfied)
        answer = team.last_answer()
        assert answer in said("Only the customer of this ticket can answer this survey.")
    assert (await survey_row(team, 1)).rating is None

    await team.press(CUSTOMER, question, very)
    assert team.last_answer() in said("Thank you!")
    # Replayed, or the other buttons of the same question: the first answer stands.
    for data in (very, dissatisfied):
        await team.press(CUSTOMER, question, data)
        assert team.last_answer() in said("You have already answered this survey. Thank you!")
    survey = await survey_row(team, 1)
    assert (survey.status, survey.rating) == ("answered", 10)


async def test_deep_links_cannot_be_guessed_or_reused(team: Kefu) -> None:
    async with team.runtime.db.transaction() as session:
        tickets = {t.id: t for t in await session.exec(select(Ticket))}
    token_1, token_2 = tickets[1].link_token, tickets[2].link_token
    guesses = [
        token_2[:-1] + ("A" if token_2[-1] != "A" else "B"),
        token_2[:10],
        token_2.lower() if token_2.lower() != token_2 else token_2.upper(),
        "%",
        "_" * 22,
        "' OR '1'='1",
        "1",
        "x" * 64,
    ]
    for guess in guesses:
        [answer] = await team.say(CUSTOMER_EN, f"/start {guess}")
        assert "does not belong to any ticket" in (answer.text or ""), guess
        assert "Wrong colour" not in (answer.text or "")
    # #1 is Chen's: another customer who got hold of the link learns nothing from it.
    [answer] = await team.say(CUSTOMER_EN, f"/start {token_1}")
    assert "already been used by someone else" in (answer.text or "")
    assert "Parcel arrived broken" not in (answer.text or "")
    for command in ("/show 1", "/tickets all", "/score", "/refund 1 1"):
        [answer] = await team.say(CUSTOMER_EN, command)
        assert is_refusal(answer.text or ""), command
    # The rightful customer opening the link again is just told the status again.
    [answer] = await team.say(CUSTOMER, f"/start {token_1}")
    assert "#1" in (answer.text or "")
    async with team.runtime.db.transaction() as session:
        linked = {t.id: t.customer_user_id for t in await session.exec(select(Ticket))}
    assert linked == {1: CUSTOMER.user_id, 2: None, 3: None}


async def test_a_customer_never_reads_another_customers_ticket_through_buttons(
    team: Kefu,
) -> None:
    [reminder_button] = [
        m
        for m in team.sent_to(TEAM_CHAT)
        if m.text and "Ticket #3 logged" in m.text  # any bot message will do to tap on
    ]
    for data in ("followup:open:1", "resolve:2:root", "flow:cat:product"):
        before = len(team.telegram.sent)
        await team.press(CUSTOMER_EN, reminder_button, data)
        texts = [m.text or "" for m in team.telegram.sent[before:]]
        assert not any("Parcel arrived broken" in t or "Wrong colour" in t for t in texts)
    async with team.runtime.db.transaction() as session:
        statuses = {t.id: t.status for t in await session.exec(select(Ticket))}
    assert statuses == {1: "open", 2: "open", 3: "resolved"}


# ---------------------------------------------------------------- fuzzing every command

HOSTILE = [
    "12",
    "#1",
    "1",
    "0",
    "-1",
    "#0",
    "2147483648",
    "9" * 40,
    "1e309",
    "NaN",
    "inf",
    "1_000",
    "１２",
    "١٢",
    "10.999",
    "-0.00",
    "2026-02-30",
    "2026-13-01",
    "0000-00-00",
    "99999-01-01",
    "2026-1-1",
    "2026-03",
    "2026-3",
    "1999-12",
    "0000-01",
    "0000-01-01",
    "٢٠٢٦-٠٣",
    "²",
    "8²",
    "received:2026-02-30T25:61",
    "received:tomorrow",
    "cat:家具",
    "order:",
    "order:" + "x" * 300,
    "customer:<b>",
    "@",
    "@nobody_here",
    "@alex_agent",
    "root",
    "noroot",
    "add",
    "remove",
    "cancel",
    "dispute",
    "mine",
    "overdue",
    "' OR 1=1 --",
    "1; DROP TABLE ticket;--",
    "%",
    "_",
    "\\",
    "NULL",
    "<script>",
    "</b>",
    "&amp;",
    "<a href='x'>",
    "\u202e",
    "مرحبا",
    "שלום",
    "👍🏽",
    "👨‍👩‍👧",
    "\x00",
    "\x1b[31m",
    "\u200b",
]
WORDS = st.sampled_from(HOSTILE)
ARGUMENTS = st.one_of(
    st.lists(WORDS, max_size=5).map(" ".join),
    st.text(max_size=80),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "So", "Lo"]), max_size=40),
    st.builds(
        lambda unit, n: (unit * n)[:4000],
        st.sampled_from(["x", "长", "👍", "#1 "]),
        st.integers(1000, 2000),
    ),
    st.tuples(WORDS, st.text(max_size=30)).map(" ".join),
)


TZ = ZoneInfo("Asia/Shanghai")
# Everything that turns typed text into a value: each must return one or refuse with a
# reason (KefuError), whatever it is given.
PARSERS: dict[str, Callable[[str], object]] = {
    "ticket number": parse.ticket_number,
    "category": parse.category,
    "received date": lambda text: parse.received_at(text, TZ),
    "new ticket": lambda text: parse.new_ticket(text, TZ),
    "order day": orders.parse_day,
    "order count": orders.parse_count,
    "orders CSV": lambda text: orders.parse_csv(text, today=date(2026, 3, 1)),
    "refund amount": refunds.parse_amount,
    "skill rating": ratings.parse_skill,
    "quality score": ratings.parse_quality,
    "month": parse.month,
    "requested time": lambda text: parse.moment(text, TZ, key="requested"),
    "DSR score": dsr.parse_score,
    "sales CSV": lambda text: sales.parse_csv(text, today=date(2026, 3, 1)),
    "sales CSV row": lambda text: sales.parse_csv(
        f"date,agent,amount,order\n{text}", today=date(2026, 3, 1)
    ),
}


@pytest.mark.parametrize("name", list(PARSERS))
@settings(max_examples=300, deadline=None)
@given(text=st.one_of(WORDS, ARGUMENTS, WORDS.map(lambda w: w.split(":", 1)[-1])))
def test_parsers_refuse_with_a_reason_never_crash(name: str, text: str) -> None:
    check_parser(name, text)


@pytest.mark.parametrize("name", list(PARSERS))
def test_parsers_on_every_hostile_word(name: str) -> None:
    for word in HOSTILE:
        for text in (word, word.split(":", 1)[-1], f"{word} {word}"):
            check_parser(name, text)


def check_parser(name: str, text: str) -> None:
    try:
        value = PARSERS[name](text)
    except KefuError:
        return
    if isinstance(value, datetime):
        value.astimezone(UTC)  # what storing it will do


class ErrorLog(logging.Handler):
    """Collects what reaches the error handler's log at ERROR."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors_logged() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


def test_fuzzed_arguments_always_get_a_clear_answer(db_url: str, errors_logged: ErrorLog) -> None:
    """Every registered command, fuzzed on one staged team (staging per command is slow)."""
    examples = 40 if db_url.startswith("sqlite") else 8
    with asyncio.Runner() as runner:
        team = runner.run(Kefu(settings_for(db_url)).start())
        try:
            runner.run(staged(team))
            for command in COMMANDS:
                fuzz_command(runner, team, command, examples, errors_logged)
        finally:
            runner.run(team.stop())


def fuzz_command(
    runner: asyncio.Runner, team: Kefu, command: str, examples: int, errors_logged: ErrorLog
) -> None:
    # The manager in a private chat may use every command: the deepest paths.
    seats = [(MANAGER, MANAGER.user_id)]
    if README[command][0] == NOBODY:
        seats.append((MANAGER, TEAM_CHAT))

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(arguments=ARGUMENTS, seat=st.sampled_from(seats))
    def fuzz(arguments: str, seat: tuple[Person, int]) -> None:
        errors_logged.records.clear()
        person, chat = seat
        text = f"/{command} {arguments}"
        replies = runner.run(team.say(person, text, chat=chat))
        answers = [m for m in replies if m.chat_id == chat]
        assert answers, f"no answer to {text!r}"
        for answer in answers:
            assert APOLOGY not in (answer.text or ""), f"{text!r} crashed"
        assert not errors_logged.records, errors_logged.records[0].getMessage()

    fuzz()


BUTTON_PREFIXES = ["sv:", "resolve:", "followup:open:", "flow:"]


def test_fuzzed_button_data_is_refused_cleanly(db_url: str, errors_logged: ErrorLog) -> None:
    examples = 30 if db_url.startswith("sqlite") else 6
    with asyncio.Runner() as runner:
        team = runner.run(Kefu(settings_for(db_url)).start())
        try:
            runner.run(staged(team))
            [target] = team.sent_to(TEAM_CHAT)[-1:]

            @settings(max_examples=examples * len(BUTTON_PREFIXES), deadline=None, database=None)
            @given(
                prefix=st.sampled_from(BUTTON_PREFIXES),
                suffix=st.one_of(
                    WORDS,
                    st.text(max_size=40),
                    st.from_regex(r"\d{1,12}:\d{1,3}:[0-9a-f]{20}", fullmatch=True),
                ),
                who=st.sampled_from([CUSTOMER, STRANGER, AGENT, MANAGER]),
            )
            def fuzz(prefix: str, suffix: str, who: Person) -> None:
                errors_logged.records.clear()
                data = (prefix + suffix)[:64]
                before = len(team.telegram.sent)
                runner.run(team.press(who, target, data))
                texts = " ".join(m.text or "" for m in team.telegram.sent[before:])
                assert APOLOGY not in texts, f"{data!r} crashed"
                assert not errors_logged.records, errors_logged.records[0].getMessage()

            fuzz()
        finally:
            runner.run(team.stop())


# ---------------------------------------------------------------- the token stays secret

SECRET_HALF = TOKEN.split(":", 1)[1]


async def test_the_token_never_reaches_the_logs(
    db_url: str, logging_as_kefu_run: io.StringIO
) -> None:
    telegram = FakeTelegram()
    kefu = await Kefu(settings_for(db_url), telegram).start()
    try:
        await staged(kefu)
        question = await survey_for(kefu)
        await kefu.press(CUSTOMER, question, "sv:1:10:" + "f" * 20)  # a forged button
        telegram.fail("sendMessage", status=500, chat_id=TEAM_CHAT)  # a failing Bot API call
        await kefu.say(AGENT, "/ticket Parcel lost", chat=TEAM_CHAT)
        telegram.fail("sendMessage", status=401, chat_id=TEAM_CHAT)
        await kefu.say(AGENT, "/tickets", chat=TEAM_CHAT)
        telegram.drop("sendMessage", chat_id=CUSTOMER.user_id)
        await kefu.say(AGENT, "/resolve 2 root", chat=TEAM_CHAT)
        await kefu.say(CUSTOMER, f"/start {TOKEN}")  # the token typed into a chat
    finally:
        await kefu.stop()
    output = logging_as_kefu_run.getvalue()
    assert "DEBUG" in output and "ERROR" in output  # the flow really logged, failures too
    assert TOKEN not in output and SECRET_HALF not in output
    replies = " ".join(m.text or "" for m in telegram.sent)
    assert SECRET_HALF not in replies


@pytest.mark.e2e
def test_a_rejected_token_is_reported_without_printing_it(tmp_path: Path) -> None:
    # The server knows another token: Telegram's answer to a revoked one is 401.
    with FakeBotApiServer(FakeTelegram(token="999999:another-token-altogether")) as server:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[telegram]\napi_base_url = "{server.base_url}"\n'
            f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "kefu.db"}"\n'
            f'[team]\nmanagers = [{MANAGER.user_id}]\n[ops]\nlog_level = "DEBUG"\n'
        )
        result = subprocess.run(
            [*kefu_command(), "--config", str(config), "run"],
            env=clean_env(KEFU_TELEGRAM__TOKEN=TOKEN),
            capture_output=True,
            text=True,
            timeout=60,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "Telegram rejected the bot token" in result.stderr
    assert TOKEN not in output and SECRET_HALF not in output
