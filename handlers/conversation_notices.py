"""The conversation's queued messages (see bot/services/conversation.py), rendered when sent.

Relays to the team read in the team's language; answers to the customer in theirs.
bot/app.py registers `NOTICES`.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.i18n import normalise, use_language
from bot.outbox.notices import Notice, Outgoing
from bot.process.runtime import Runtime
from bot.services import conversation, topics
from bot.services.conversation import KIND_NUDGE, Nudge
from handlers import conversation_render as render

log = logging.getLogger(__name__)


async def _render_in(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    found = await conversation.relayed(rt.db, payload["message"])
    if found is None:
        return None
    with use_language(rt.settings.team.language):
        thread = found.topic_id if payload.get("topic") else None
        return render.relayed_to_team(found, thread)


async def _in_sent(rt: Runtime, payload: dict[str, Any], message_id: int | None) -> None:
    chat_id = payload.get("chat_id")
    await conversation.relay_landed(
        rt.db, payload["message"], chat_id=chat_id or 0, landed_id=message_id
    )


async def _in_refused(rt: Runtime, payload: dict[str, Any], reason: str) -> None:
    if payload.get("to_team"):
        return
    await conversation.relay_refused(rt.db, payload["message"], reason=reason)


async def _render_out(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    found = await conversation.relayed(rt.db, payload["message"])
    if found is None:
        return None
    language = normalise(found.customer_language, rt.settings.team.language)
    with use_language(language):
        return render.answer_to_customer(found, signed=rt.settings.conversation.sign_replies)


async def _out_sent(rt: Runtime, payload: dict[str, Any], message_id: int | None) -> None:
    await conversation.answer_delivered(rt.db, payload["message"], landed_id=message_id)


async def _out_refused(rt: Runtime, payload: dict[str, Any], reason: str) -> None:
    log.info(
        "answer %s on ticket #%s undeliverable: %s", payload["message"], payload["ticket"], reason
    )
    await conversation.answer_refused(rt.db, payload["message"], reason=reason)


async def _render_delivered(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    found = await conversation.relayed(rt.db, payload["message"])
    if found is None:
        return None
    with use_language(rt.settings.team.language):
        return render.delivered(found, payload.get("reply_to"))


async def _render_undelivered(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    found = await conversation.relayed(rt.db, payload["message"])
    if found is None:
        return None
    with use_language(rt.settings.team.language):
        return render.undelivered(found, payload.get("reason", ""), payload.get("reply_to"))


async def _render_remind(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    found = await conversation.waiting(rt.db, payload["wait"])
    if found is None:
        return None
    with use_language(rt.settings.team.language):
        return Outgoing(render.reminder(found, in_team_chat=payload.get("team_chat", False)))


async def _render_escalate(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    found = await conversation.waiting(rt.db, payload["wait"])
    if found is None:
        return None
    with use_language(rt.settings.team.language):
        return Outgoing(render.escalation(found))


async def _render_topic_open(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    return Outgoing(payload["name"], topic_op="create")


async def _topic_opened(rt: Runtime, payload: dict[str, Any], thread_id: int | None) -> None:
    await topics.opened(rt.db, payload["ticket"], thread_id)


async def _render_topic_close(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    return Outgoing("", topic_op="close", thread_id=payload["thread"])


async def _render_topic_reopen(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    return Outgoing("", topic_op="reopen", thread_id=payload["thread"])


# Registered by bot/app.py.
NOTICES = (
    Notice(conversation.KIND_RELAY_IN, render=_render_in, sent=_in_sent, refused=_in_refused),
    Notice(conversation.KIND_RELAY_OUT, render=_render_out, sent=_out_sent, refused=_out_refused),
    Notice(topics.KIND_OPEN, render=_render_topic_open, sent=_topic_opened),
    Notice(topics.KIND_CLOSE, render=_render_topic_close),
    Notice(topics.KIND_REOPEN, render=_render_topic_reopen),
    Notice(conversation.KIND_DELIVERED, render=_render_delivered),
    Notice(conversation.KIND_UNDELIVERED, render=_render_undelivered),
    Notice(KIND_NUDGE[Nudge.REMIND], render=_render_remind),
    Notice(KIND_NUDGE[Nudge.ESCALATE], render=_render_escalate),
)
