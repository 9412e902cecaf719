"""Tickets through the real Application: log, link, list, show, note, assign, resolve, reopen."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot import clock
from bot.models import Ticket, TicketEvent
from tests.harness import (
    AGENT,
    AGENT2,
    CUSTOMER,
    MANAGER,
    OTHER_GROUP,
    STRANGER,
    TEAM_CHAT,
    Kefu,
    only,
)
from tests.steps import LINK
from tests.throttle import unthrottle


async def tickets_in_db(kefu: Kefu) -> list[Ticket]:
    async with kefu.runtime.db.transaction() as session:
        return list(await session.exec(select(Ticket).order_by(Ticket.id)))


async def log_ticket(
    kefu: Kefu, text: str = "Parcel arrived broken order:A123 cat:logistics"
) -> str:
    reply = only(await kefu.say(AGENT, f"/ticket {text}", chat=TEAM_CHAT))
    match = LINK.search(reply.text or "")
    assert match, reply.text
    return match.group(1)


async def test_agent_logs_a_ticket_with_options(kefu: Kefu) -> None:
    reply = only(
        await kefu.say(
            AGENT, "/ticket Parcel arrived broken order:A123 cat:物流 customer:Chen", chat=TEAM_CHAT
        )
    )
    assert reply.chat_id == TEAM_CHAT
    assert "Ticket #1 logged (logistics)" in (reply.text or "")
    assert LINK.search(reply.text or "")
    [ticket] = await tickets_in_db(kefu)
    assert ticket.description == "Parcel arrived broken"
    assert (ticket.order_ref, ticket.category, ticket.customer_name) == (
        "A123",
        "logistics",
        "Chen",
    )
    assert ticket.agent_id == AGENT.user_id and ticket.status == "open"
    assert ticket.received_at == ticket.logged_at


async def test_received_date_in_the_past_and_future(kefu: Kefu) -> None:
    only(await kefu.say(AGENT, "/ticket Late parcel received:2026-01-05", chat=TEAM_CHAT))
    [ticket] = await tickets_in_db(kefu)
    # Midnight in the team's zone (Asia/Shanghai, UTC+8) is 16:00 UTC the day before.
    assert ticket.received_at.isoformat() == "2026-01-04T16:00:00+00:00"
    future = (clock.now() + timedelta(days=2)).date().isoformat()
    reply = only(await kefu.say(AGENT, f"/ticket Time travel received:{future}", chat=TEAM_CHAT))
    assert "cannot be in the future" in (reply.text or "")
    assert len(await tickets_in_db(kefu)) == 1


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(kefu: Kefu) -> None:
    cases = {
        "/ticket Broken cat:furniture": "Unknown category",
        "/ticket Broken received:yesterday": "is not a date",
        "/ticket " + "x" * 2001: "too long",
        "/show abc": "is not a ticket number",
        "/show 99": "There is no ticket #99",
        "/show": "Give the ticket number",
        "/resolve 1 maybe": "/resolve N root",
        "/tickets sideways": "/tickets mine",
    }
    for text, expected in cases.items():
        reply = only(await kefu.say(AGENT, text, chat=TEAM_CHAT))
        assert expected in (reply.text or ""), (text, reply.text)
    assert await tickets_in_db(kefu) == []


async def test_strangers_are_refused_politely_and_nothing_changes(kefu: Kefu) -> None:
    for text in ("/ticket Hello", "/tickets", "/show 1", "/resolve 1 root", "/agent add 2002"):
        reply = only(await kefu.say(STRANGER, text))
        assert "Sorry" in (reply.text or ""), text
    assert await tickets_in_db(kefu) == []


async def test_customer_opens_the_deep_link_and_is_linked(kefu: Kefu) -> None:
    token = await log_ticket(kefu)
    reply = only(await kefu.say(CUSTOMER, f"/start {token}"))
    # The customer's Telegram language is Chinese, so the answer is too.
    assert "#1" in (reply.text or "") and "工单" in (reply.text or "")
    [ticket] = await tickets_in_db(kefu)
    assert ticket.customer_user_id == CUSTOMER.user_id
    assert ticket.customer_chat_id == CUSTOMER.user_id
    # Opening it again is harmless; someone else with the same link is refused.
    assert "#1" in (only(await kefu.say(CUSTOMER, f"/start {token}")).text or "")
    refused = only(await kefu.say(STRANGER, f"/start {token}"))
    assert "already been used" in (refused.text or "")
    unknown = only(await kefu.say(STRANGER, "/start notarealtoken123"))
    assert "does not belong to any ticket" in (unknown.text or "")


async def test_ticket_as_reply_in_group_links_that_customer(kefu: Kefu) -> None:
    group = OTHER_GROUP
    await kefu.say(CUSTOMER, "My order never came", chat=group)
    question = kefu.last_incoming
    reply = only(
        await kefu.say(
            AGENT, "/ticket Order never came cat:logistics", chat=group, reply_to=question
        )
    )
    assert "linked to Chen" in (reply.text or "")
    [ticket] = await tickets_in_db(kefu)
    assert ticket.customer_user_id == CUSTOMER.user_id


async def test_list_show_note_assign(kefu: Kefu) -> None:
    await log_ticket(kefu, "First problem")
    await log_ticket(kefu, "Second problem cat:product")
    listing = only(await kefu.say(AGENT, "/tickets", chat=TEAM_CHAT)).text or ""
    assert "#1" in listing and "#2" in listing
    assert "Noted" not in listing
    assert "Note added to #2" in (
        only(await kefu.say(AGENT, "/note #2 called the courier")).text or ""
    )
    card = only(await kefu.say(AGENT, "/show 2")).text or ""
    assert "Ticket #2" in card and "product" in card and "called the courier" in card
    await kefu.say(AGENT2, "/help")  # the bot learns @bo_agent once Bo has written
    moved = only(await kefu.say(AGENT, "/assign 2 @bo_agent", chat=TEAM_CHAT)).text or ""
    assert "#2 is now assigned to Bo" in moved
    mine = only(await kefu.say(AGENT2, "/tickets mine")).text or ""
    assert "#2" in mine and "#1" not in mine
    refused = only(await kefu.say(AGENT, "/assign 1 @eve_stranger", chat=TEAM_CHAT)).text or ""
    assert "not seen" in refused or "not on the team" in refused


async def test_tickets_says_how_many_there_are_and_pages_through_them(kefu: Kefu) -> None:
    """34 open tickets: 30 a page, and the list says so instead of stopping silently."""
    unthrottle(kefu.app)  # 34 replies in one group would wait out Telegram's 20 a minute
    await kefu.burst(
        [
            kefu.updates.message(AGENT.json, TEAM_CHAT, f"/ticket Problem {n} order:P{n}")
            for n in range(1, 35)
        ]
    )

    def numbers(text: str) -> list[int]:
        return [int(line[1:].split(" ")[0]) for line in text.split("\n") if line.startswith("#")]

    first = only(await kefu.say(AGENT, "/tickets", chat=TEAM_CHAT)).text or ""
    assert sorted(numbers(first)) == list(range(1, 31))
    assert first.endswith("\n\nTickets 1–30 of 34. Next: /tickets open 2"), first[-80:]
    second = only(await kefu.say(AGENT, "/tickets open 2", chat=TEAM_CHAT)).text or ""
    assert sorted(numbers(second)) == list(range(31, 35))
    assert second.endswith("\n\nTickets 31–34 of 34 (the last page).")
    assert (only(await kefu.say(AGENT, "/tickets 2 open")).text or "") == second
    newest = only(await kefu.say(AGENT, "/tickets all 2")).text or ""
    assert numbers(newest) == list(range(4, 0, -1))
    assert only(await kefu.say(AGENT, "/tickets open 3")).text == (
        "There is no page 3: 34 tickets fill 2 pages."
    )
    assert "page number" in (only(await kefu.say(AGENT, "/tickets soon")).text or "")
    assert "page number" in (only(await kefu.say(AGENT, "/tickets ²")).text or "")
    assert "Pages are numbered from 1." in (only(await kefu.say(AGENT, "/tickets 0")).text or "")
    assert only(await kefu.say(AGENT2, "/tickets mine")).text == "No tickets here."


async def test_team_data_is_not_shown_in_other_groups(kefu: Kefu) -> None:
    await log_ticket(kefu)
    reply = only(await kefu.say(AGENT, "/show 1", chat=OTHER_GROUP))
    assert "only in the team chat" in (reply.text or "")
    assert "Parcel" not in (reply.text or "")


async def test_resolve_with_buttons_then_reopen(kefu: Kefu) -> None:
    await log_ticket(kefu)
    question = only(await kefu.say(AGENT, "/resolve 1", chat=TEAM_CHAT))
    assert [b["text"] for row in question.buttons for b in row] == [
        "Root cause found and fixed",
        "Root cause not found",
    ]
    done = only(await kefu.press_label(AGENT, question, "Root cause not found"))
    assert "#1 resolved (quality 8)" in (done.text or "")
    [ticket] = await tickets_in_db(kefu)
    assert ticket.status == "resolved" and ticket.quality == 8 and ticket.resolved_at is not None
    again = only(await kefu.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT))
    assert "already resolved" in (again.text or "")
    reopened = only(await kefu.say(MANAGER, "/reopen 1", chat=TEAM_CHAT))
    assert "quality is now 5" in (reopened.text or "")
    [ticket] = await tickets_in_db(kefu)
    assert (ticket.status, ticket.quality, ticket.round, ticket.resolved_at) == ("open", 5, 2, None)
    only(await kefu.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT))
    [ticket] = await tickets_in_db(kefu)
    assert ticket.quality == 10
    async with kefu.runtime.db.transaction() as session:
        kinds = [e.kind for e in await session.exec(select(TicketEvent).order_by(TicketEvent.id))]
    assert kinds == ["created", "resolved", "reopened", "resolved"]


async def test_guided_ticket_flow(kefu: Kefu) -> None:
    first = only(await kefu.say(AGENT, "/ticket"))
    assert "What is the problem" in (first.text or "")
    categories = only(await kefu.say(AGENT, "Screen cracked on arrival"))
    assert "Which category" in (categories.text or "")
    order_question = only(await kefu.press_label(AGENT, categories, "product"))
    assert "Order reference" in (order_question.text or "")
    logged = only(await kefu.say(AGENT, "TB-778899"))
    assert "Ticket #1 logged (product)" in (logged.text or "")
    [ticket] = await tickets_in_db(kefu)
    assert (ticket.description, ticket.category, ticket.order_ref) == (
        "Screen cracked on arrival",
        "product",
        "TB-778899",
    )
    # A flow can be left, and then nothing is saved.
    only(await kefu.say(AGENT, "/ticket"))
    assert "Cancelled" in (only(await kefu.say(AGENT, "/cancel")).text or "")
    assert await kefu.say(AGENT, "Just chatting") == []
    assert len(await tickets_in_db(kefu)) == 1


async def test_guided_flow_skips(kefu: Kefu) -> None:
    only(await kefu.say(AGENT, "/ticket"))
    categories = only(await kefu.say(AGENT, "Wrong colour"))
    order_question = only(await kefu.press_label(AGENT, categories, "Skip"))
    logged = only(await kefu.press_label(AGENT, order_question, "Skip"))
    assert "Ticket #1 logged (other)" in (logged.text or "")


async def test_help_lists_what_each_role_may_use(kefu: Kefu) -> None:
    manager_help = only(await kefu.say(MANAGER, "/help")).text or ""
    agent_help = only(await kefu.say(AGENT, "/help")).text or ""
    stranger_help = only(await kefu.say(STRANGER, "/help")).text or ""
    assert "/agent " in manager_help and "/ticket" in manager_help
    assert "/ticket" in agent_help and "/agent " not in agent_help
    assert "/ticket" not in stranger_help and "/help" in stranger_help


async def test_a_redelivered_update_is_handled_once(kefu: Kefu) -> None:
    update = kefu.updates.message(AGENT.json, TEAM_CHAT, "/ticket Parcel broken")
    first = await kefu.process(update)
    assert "Ticket #1 logged" in (only(first).text or "")
    assert await kefu.process(update) == []
    assert len(await tickets_in_db(kefu)) == 1
