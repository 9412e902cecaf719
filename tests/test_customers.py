"""The customer's file through the real Application: /customer, /tickets order:REF, /find."""

from __future__ import annotations

from tests.harness import AGENT, CUSTOMER, CUSTOMER_EN, STRANGER, TEAM_CHAT, Kefu, only
from tests.steps import linked_ticket


async def story(kefu: Kefu) -> None:
    """Chen: #1 resolved with a refund and a rating, #2 open; Dana: #3 about the same order."""
    await linked_ticket(kefu, CUSTOMER, "Screen cracked order:A100")
    await kefu.say(AGENT, "/refund 1 30 dispute", chat=TEAM_CHAT)
    await kefu.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT)
    survey = kefu.telegram.last_to(CUSTOMER.user_id)
    assert survey is not None
    await kefu.press_label(CUSTOMER, survey, "满意")
    await linked_ticket(kefu, CUSTOMER, "Charger missing order:B200")
    await kefu.say(AGENT, "/note 2 courier lost the parcel", chat=TEAM_CHAT)
    await linked_ticket(kefu, CUSTOMER_EN, "Wrong size order:a100")
    await kefu.say(CUSTOMER_EN, "The sleeves are too long")


async def test_customer_file_by_username_id_and_name(kefu: Kefu) -> None:
    await story(kefu)
    by_name = only(await kefu.say(AGENT, "/customer @chen_customer", chat=TEAM_CHAT)).text or ""
    lines = by_name.split("\n")
    assert lines[0] == "<b>Customer file · Chen</b> (2 tickets)"
    assert lines[1].startswith("#2 · open · ") and lines[1].endswith("— Charger missing")
    assert lines[2].startswith("#1 · closed · ")
    assert "refund 30.00 CNY (dispute) · satisfied — Screen cracked" in lines[2]
    by_id = only(await kefu.say(AGENT, f"/customer {CUSTOMER.user_id}", chat=TEAM_CHAT))
    assert by_id.text == by_name
    by_words = only(await kefu.say(AGENT, "/customer dana", chat=TEAM_CHAT)).text or ""
    assert by_words.startswith("<b>Customer file · dana</b> (1 tickets)")
    unknown = only(await kefu.say(AGENT, "/customer @nobody", chat=TEAM_CHAT))
    assert unknown.text == "I know no customer @nobody."


async def test_tickets_by_order_reference(kefu: Kefu) -> None:
    await story(kefu)
    found = only(await kefu.say(AGENT, "/tickets order:A100", chat=TEAM_CHAT)).text or ""
    assert [line.split(" · ")[0] for line in found.split("\n")] == ["#3", "#1"]
    none = only(await kefu.say(AGENT, "/tickets order:Z9", chat=TEAM_CHAT))
    assert none.text == "No tickets for order Z9."


async def test_find_searches_descriptions_notes_and_the_conversation(kefu: Kefu) -> None:
    await story(kefu)

    async def numbers(words: str) -> list[str]:
        text = only(await kefu.say(AGENT, f"/find {words}", chat=TEAM_CHAT)).text or ""
        return [line.split(" · ")[0] for line in text.split("\n")]

    assert await numbers("screen") == ["#1"]  # description
    assert await numbers("COURIER lost") == ["#2"]  # a note, every word
    assert await numbers("sleeves") == ["#3"]  # the conversation
    nothing = only(await kefu.say(AGENT, "/find 100%", chat=TEAM_CHAT))
    assert nothing.text == "Nothing found for “100%”."


async def test_customers_cannot_read_files(kefu: Kefu) -> None:
    await story(kefu)
    for command in ("/customer @chen_customer", "/find screen", "/tickets order:A100"):
        answer = only(await kefu.say(STRANGER, command))
        assert "#1" not in (answer.text or "")
