"""The survey's queued messages (see bot/services/surveys.py), rendered when they are sent.

Customers read their own language (the one Telegram reported when they linked, else the
team's); the team reads the team's. `bot.app` registers `NOTICES`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.config import SurveyTexts
from bot.i18n import current_language, normalise, use_language
from bot.outbox.notices import Notice, Outgoing
from bot.process.runtime import Runtime
from bot.services import surveys
from bot.services.surveys import Outcome, Question, Rating
from handlers import survey_render

log = logging.getLogger(__name__)


def _customer_language(rt: Runtime, code: str | None) -> str:
    return normalise(code, rt.settings.team.language)


def _secret(rt: Runtime) -> str:
    assert rt.settings.token is not None, "the bot cannot run without a token"
    return rt.settings.token


def _texts(rt: Runtime) -> SurveyTexts | None:
    """The team's own survey wording in the language in force, if it set any."""
    return rt.settings.survey.texts.get(current_language())  # type: ignore[call-overload]


def _ask(rt: Runtime, found: Question, text: str) -> Outgoing:
    markup = survey_render.buttons(_secret(rt), found.survey_id, _texts(rt))
    return Outgoing(text, reply_markup=markup)


async def _render_question(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    expire_after = timedelta(hours=rt.settings.survey.expire_after_hours)
    found = await surveys.question(rt.db, payload["survey_id"], expire_after=expire_after)
    if found is None:
        return None
    with use_language(_customer_language(rt, found.customer_language)):
        return _ask(rt, found, survey_render.question(found.number, found.description, _texts(rt)))


async def _question_sent(rt: Runtime, payload: dict[str, Any], message_id: int | None) -> None:
    await surveys.mark_sent(
        rt.db, payload["survey_id"], chat_id=payload["chat_id"], message_id=message_id
    )


async def _question_refused(rt: Runtime, payload: dict[str, Any], reason: str) -> None:
    log.info("survey %s undeliverable: %s", payload["survey_id"], reason)
    await surveys.mark_undeliverable(rt.db, payload["survey_id"], reason=reason)


async def _render_reminder(rt: Runtime, payload: dict[str, Any]) -> Outgoing | None:
    found = await surveys.reminder(rt.db, payload["survey_id"])
    if found is None:
        return None
    with use_language(_customer_language(rt, found.customer_language)):
        return _ask(rt, found, survey_render.reminder(found.number, found.description, _texts(rt)))


async def _render_close(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    rating = Rating(payload["rating"]) if payload.get("rating") is not None else None
    with use_language(_customer_language(rt, payload.get("language"))):
        text = survey_render.closed(payload["number"], Outcome(payload["outcome"]), rating)
    return Outgoing(text, edit_message_id=payload["message_id"])


async def _render_rated(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    with use_language(rt.settings.team.language):
        text = survey_render.rated(payload["number"], Rating(payload["rating"]), payload["summary"])
    return Outgoing(text)


async def _render_alert(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    with use_language(rt.settings.team.language):
        text = survey_render.alert(
            payload["number"],
            payload["summary"],
            payload["customer"],
            _pair(payload["agent"]),
            [_pair(manager) for manager in payload["managers"]],
        )
    return Outgoing(text)


async def _render_comment(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    with use_language(rt.settings.team.language):
        text = survey_render.comment(
            payload["number"], payload["comment"], payload["customer"], _pair(payload["agent"])
        )
    return Outgoing(text)


async def _render_undeliverable(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    with use_language(rt.settings.team.language):
        text = survey_render.undeliverable(payload["number"], payload["summary"])
    return Outgoing(text)


def _pair(value: list[Any]) -> tuple[int, str]:
    user_id, name = value
    return int(user_id), str(name)


NOTICES = (
    Notice(
        surveys.KIND_SURVEY,
        render=_render_question,
        sent=_question_sent,
        refused=_question_refused,
    ),
    Notice(surveys.KIND_REMIND, render=_render_reminder),
    Notice(surveys.KIND_CLOSE, render=_render_close),
    Notice(surveys.KIND_RATED, render=_render_rated),
    Notice(surveys.KIND_ALERT, render=_render_alert),
    Notice(surveys.KIND_COMMENT, render=_render_comment),
    Notice(surveys.KIND_UNDELIVERABLE, render=_render_undeliverable),
)
