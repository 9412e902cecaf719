"""Recording the KPI inputs in chat, through the real Application: refunds, orders, skill,
quality, and reading one's score."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot import clock
from bot.models import DailyOrders, Refund, SkillRating, Ticket, TicketEvent
from tests.harness import (
    AGENT,
    AGENT2,
    CUSTOMER_EN,
    MANAGER,
    OTHER_GROUP,
    STRANGER,
    TEAM_CHAT,
    Kefu,
    only,
    settings_for,
)
from tests.steps import log_ticket, rows, text_of, today


async def test_refund_is_recorded_corrected_and_cancelled(kefu: Kefu) -> None:
    await log_ticket(kefu)
    day = today(kefu).isoformat()
    first = await text_of(kefu, AGENT, "/refund 1 25.5")
    assert first == f"Refund on #1: 25.50 CNY; counted on {day}."
    [refund] = await rows(kefu, Refund)
    assert (refund.amount, refund.dispute, refund.day, refund.recorded_by) == (
        Decimal("25.50"),
        False,
        today(kefu),
        AGENT.user_id,
    )
    second = await text_of(kefu, AGENT2, "/refund #1 30 dispute")
    assert second == (
        f"Refund on #1: 30.00 CNY, dispute (platform intervened); counted on {day}.\n"
        "It replaces the earlier record (25.50 CNY)."
    )
    [refund] = await rows(kefu, Refund)
    assert (refund.amount, refund.dispute) == (Decimal("30.00"), True)
    cancelled = await text_of(kefu, AGENT, "/refund 1 cancel")
    assert cancelled == "Refund of 30.00 CNY on #1 removed."
    assert await rows(kefu, Refund) == []
    again = await text_of(kefu, AGENT, "/refund 1 cancel")
    assert again == "No refund is recorded on #1."
    kinds = [event.kind for event in await rows(kefu, TicketEvent)]
    assert kinds == ["created", "refund", "refund", "refund_cancelled"]


async def test_refund_in_the_teams_currency(db_url: str) -> None:
    kefu = await Kefu(settings_for(db_url, scoring={"currency": "USD"})).start()
    try:
        await log_ticket(kefu)
        assert "0.00 USD" in await text_of(kefu, AGENT, "/refund 1 0")
    finally:
        await kefu.stop()


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(kefu: Kefu) -> None:
    await log_ticket(kefu)
    await kefu.say(AGENT, "/help")  # the bot learns @alex_agent
    await kefu.say(MANAGER, "/help")
    tomorrow = (today(kefu) + timedelta(days=1)).isoformat()
    cases = {
        (AGENT, "/refund 1 -5"): "cannot be negative",
        (AGENT, "/refund 1 1.234"): "more than two decimals",
        (AGENT, "/refund 1 12,50"): "is not an amount",
        (AGENT, "/refund 1 abc"): "is not an amount",
        (AGENT, "/refund 99 5"): "There is no ticket #99",
        (AGENT, "/refund x 5"): "is not a ticket number",
        (AGENT, "/refund 1 5 maybe"): "only “dispute” (the platform intervened) and requested:",
        (AGENT, "/refund 1"): "/refund N amount",
        (AGENT, "/refund 1 99999999999"): "too large",
        (AGENT, "/orders 2026-02-30 5"): "is not a date",
        (AGENT, "/orders 1/3/2026 5"): "is not a date",
        (AGENT, f"/orders {tomorrow} 5"): "is in the future",
        (AGENT, "/orders 2026-03-01 1.5"): "is not an order count",
        (AGENT, "/orders 2026-03-01 -3"): "is not an order count",
        (AGENT, "/orders 2026-03-01"): "/orders YYYY-MM-DD COUNT",
        (MANAGER, "/skill @alex_agent 7"): "rated 10, 8, 5 or 0",
        (MANAGER, "/skill @mia_manager 8"): "Mia is not an agent",
        (MANAGER, "/skill @nobody_known 8"): "not seen @nobody_known",
        (MANAGER, "/skill 8"): "Name the agent",
        (MANAGER, "/quality 1 7"): "scored 10, 8 or 5",
        (MANAGER, "/quality 99 8"): "There is no ticket #99",
        (MANAGER, "/quality 1"): "/quality N 10|8|5",
        (AGENT, "/score 2026-13"): "is not a month",
        (AGENT, "/score 2999-01"): "has not started yet",
        (AGENT, "/score 2026-01 2026-02"): "/score YYYY-MM",
    }
    for (who, command), expected in cases.items():
        # Private chats: the rate limiter would pace this many answers in a group to 20/min.
        answer = await text_of(kefu, who, command, chat=who.user_id)
        assert expected in answer, (command, answer)
    assert await rows(kefu, Refund) == []
    assert await rows(kefu, DailyOrders) == []
    assert await rows(kefu, SkillRating) == []
    [ticket] = await rows(kefu, Ticket)
    assert (ticket.quality, ticket.quality_overridden) == (None, False)


async def test_orders_are_set_and_overwritten(kefu: Kefu) -> None:
    assert await text_of(kefu, AGENT, "/orders 2026-03-01 1250") == "Orders on 2026-03-01: 1250."
    day = today(kefu).isoformat()
    assert await text_of(kefu, MANAGER, f"/orders {day} 0") == f"Orders on {day}: 0."
    again = await text_of(kefu, AGENT2, "/orders 2026-03-01 1300", chat=AGENT2.user_id)
    assert again == "Orders on 2026-03-01: 1300 (was 1250)."
    stored = {row.day.isoformat(): row.orders for row in await rows(kefu, DailyOrders)}
    assert stored == {"2026-03-01": 1300, day: 0}


async def test_skill_is_rated_by_managers_only(kefu: Kefu) -> None:
    await kefu.say(AGENT, "hello", chat=TEAM_CHAT)
    agents_message = kefu.last_incoming
    refused = await text_of(kefu, AGENT, "/skill @alex_agent 10")
    assert "only managers" in refused
    assert await text_of(kefu, MANAGER, "/skill @alex_agent 8") == "Skill of Alex: 8."
    by_id = await text_of(kefu, MANAGER, f"/skill {AGENT.user_id} 10")
    assert by_id == "Skill of Alex: 10 (was 8)."
    replied = only(await kefu.say(MANAGER, "/skill 0", chat=TEAM_CHAT, reply_to=agents_message))
    assert replied.text == "Skill of Alex: 0 (was 10)."
    ratings = [(r.agent_id, r.rating, r.rated_by) for r in await rows(kefu, SkillRating)]
    assert ratings == [(AGENT.user_id, r, MANAGER.user_id) for r in (8, 10, 0)]


async def test_quality_override_survives_the_resolve(kefu: Kefu) -> None:
    await log_ticket(kefu)
    assert "only managers" in await text_of(kefu, AGENT, "/quality 1 10")
    assert await text_of(kefu, MANAGER, "/quality 1 5") == "Quality of #1: 5."
    resolved = await text_of(kefu, AGENT, "/resolve 1 root")
    assert "#1 resolved (quality 5)" in resolved
    assert await text_of(kefu, MANAGER, "/quality #1 8") == "Quality of #1: 8 (was 5)."
    [ticket] = await rows(kefu, Ticket)
    assert (ticket.quality, ticket.quality_overridden) == (8, True)


async def test_score_shows_indicators_total_and_pay(kefu: Kefu) -> None:
    month = clock.now().astimezone(kefu.settings.team.tz).strftime("%Y-%m")
    empty = await text_of(kefu, AGENT, "/score", chat=AGENT.user_id)
    assert empty == (
        f"<b>KPI of Alex — {month} (month to date)</b>\n"
        "Satisfaction: — (weight 10)\n"
        "Speed: — (weight 10)\n"
        "Quality: — (weight 10)\n"
        "Skill: — (weight 10)\n"
        "Total: — / 40\n"
        "Pay: —\n"
        "Tickets resolved: 0\n"
        "First-time fix: —\n"
        "Internal complaints: 0\n"
        "Repeat sales: 0.00 CNY\n"
        "No indicator has data yet, so there is no total."
    )
    await log_ticket(kefu)
    await text_of(kefu, AGENT, "/resolve 1 root")
    await text_of(kefu, MANAGER, f"/skill {AGENT.user_id} 8")
    mine = await text_of(kefu, AGENT, f"/score {month}")
    # Speed 10, quality 10, skill 8, no survey: 40 × 28 / 30 = 37.33; pay 1000 × 37.333333 / 40.
    assert mine == (
        f"<b>KPI of Alex — {month} (month to date)</b>\n"
        "Satisfaction: — (weight 10)\n"
        "Speed: 10 (weight 10)\n"
        "Quality: 10 (weight 10)\n"
        "Skill: 8 (weight 10)\n"
        "Total: 37.33 / 40\n"
        "Pay: 933.33 CNY\n"
        "    base 933.33 + commission 0.00 + team bonus 0.00\n"
        "Tickets resolved: 1\n"
        "First-time fix: 100.00%\n"
        "Internal complaints: 0\n"
        "Repeat sales: 0.00 CNY"
    )
    await kefu.say(AGENT2, "/help")
    managers_view = await text_of(kefu, MANAGER, f"/score {month} @alex_agent")
    assert managers_view == mine
    other_order = await text_of(kefu, MANAGER, f"/score @alex_agent {month}")
    assert other_order == mine
    assert "Only managers can see another" in await text_of(kefu, AGENT, "/score @bo_agent")
    assert "Bo" in await text_of(kefu, AGENT2, "/score @bo_agent")  # naming oneself is fine
    past = await text_of(kefu, AGENT, "/score 2025-01")
    assert past.startswith("<b>KPI of Alex — 2025-01</b>") and "Tickets resolved: 0" in past
    assert "only in the team chat" in await text_of(kefu, AGENT, "/score", chat=OTHER_GROUP)
    assert "Sorry" in await text_of(kefu, STRANGER, "/score", chat=STRANGER.user_id)
    await kefu.say(STRANGER, "hi", chat=STRANGER.user_id)
    assert "Eve is not on the team" in await text_of(kefu, MANAGER, "/score @eve_stranger")


async def test_commands_answer_in_chinese(db_url: str) -> None:
    kefu = await Kefu(settings_for(db_url, team={"language": "zh_CN"})).start()
    try:
        await log_ticket(kefu)
        day = today(kefu).isoformat()
        assert await text_of(kefu, AGENT, "/refund 1 25 纠纷") == (
            f"#1 退款：25.00 CNY，纠纷退款（平台介入）；计入 {day}。"
        )
        assert "不能为负数" in await text_of(kefu, AGENT, "/refund 1 -1")
        assert await text_of(kefu, AGENT, "/refund 1 取消") == "已撤销 #1 的退款 25.00 CNY。"
        assert await text_of(kefu, AGENT, "/orders 2026-03-01 80") == "2026-03-01 订单数：80。"
        score = await text_of(kefu, AGENT, "/score")
        assert "满意度：—" in score and "总分：— / 40" in score
        help_text = await text_of(kefu, MANAGER, "/help")
        assert "/skill" in help_text and "/quality" in help_text and "/refund" in help_text
    finally:
        await kefu.stop()


async def test_help_lists_kpi_commands_by_role(kefu: Kefu) -> None:
    agent_help = await text_of(kefu, AGENT, "/help", chat=AGENT.user_id)
    manager_help = await text_of(kefu, MANAGER, "/help", chat=MANAGER.user_id)
    for name in ("/refund", "/orders", "/score"):
        assert name in agent_help and name in manager_help
    for name in ("/skill", "/quality"):
        assert name not in agent_help and name in manager_help


async def test_a_rating_counts_for_the_agent_who_resolved_that_round(kefu: Kefu) -> None:
    """Alex resolves and is rated "very satisfied"; the ticket is reopened, handed to Bo and
    resolved again. The answer judged Alex's resolution: it stays Alex's, never Bo's."""
    reply = await text_of(kefu, AGENT, "/ticket Broken lid cat:product")
    token = reply.split("?start=")[1].split()[0].split('"')[0]
    await kefu.say(CUSTOMER_EN, f"/start {token}")
    await kefu.say(AGENT, "/resolve 1 root", chat=TEAM_CHAT)
    survey = kefu.telegram.last_to(CUSTOMER_EN.user_id)
    assert survey is not None and survey.buttons
    await kefu.press_label(CUSTOMER_EN, survey, "Very satisfied")
    await kefu.say(AGENT2, "/help")
    await text_of(kefu, MANAGER, "/reopen 1")
    assert "Bo" in await text_of(kefu, MANAGER, "/assign 1 @bo_agent")
    await kefu.say(AGENT2, "/resolve 1 root", chat=TEAM_CHAT)

    alex = await text_of(kefu, MANAGER, "/score @alex_agent")
    bo = await text_of(kefu, MANAGER, "/score @bo_agent")
    # Alex: satisfaction 10 only → 40 × 10 / 10 = 40. Bo: speed 10, quality 10, no rating.
    assert "Satisfaction: 10 (weight 10)" in alex and "Total: 40 / 40" in alex, alex
    assert "Tickets resolved: 0" in alex, alex
    assert "Satisfaction: — (weight 10)" in bo and "Speed: 10 (weight 10)" in bo, bo
    assert "Tickets resolved: 1" in bo, bo
