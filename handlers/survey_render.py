"""How the satisfaction survey reads in chat, and the signed data its buttons carry.

Button data is `sv:<survey id>:<rating>:<mac>`, the mac an HMAC of the rest keyed by the bot
token: a crafted payload naming another survey or rating is refused before the database is
asked. The mac is a second lock only; the first is that only the ticket's customer may answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import SurveyTexts
from bot.i18n import N_, _
from bot.services.surveys import Outcome, Rating, SurveyState, SurveyStatus
from handlers.markup import esc, mention, team_time

BUTTON_PREFIX = "sv:"
BUTTON_PATTERN = r"^sv:"
_BUTTON = re.compile(r"^sv:(\d{1,12}):(\d{1,2}):([0-9a-f]{20})$")
_MAC_CHARS = 20  # 80 bits; the whole payload stays far below Telegram's 64 bytes

RATING_NAMES = {
    Rating.VERY_SATISFIED: N_("very satisfied"),
    Rating.SATISFIED: N_("satisfied"),
    Rating.DISSATISFIED: N_("dissatisfied"),
}
RATING_LABELS = {
    Rating.VERY_SATISFIED: N_("Very satisfied"),
    Rating.SATISFIED: N_("Satisfied"),
    Rating.DISSATISFIED: N_("Dissatisfied"),
}


def rating_name(rating: Rating) -> str:
    return _(RATING_NAMES[rating])


# ---------------------------------------------------------------- the buttons


def _mac(secret: str, survey_id: int, rating: int) -> str:
    message = f"survey:{survey_id}:{rating}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:_MAC_CHARS]


def button_data(secret: str, survey_id: int, rating: Rating) -> str:
    return f"{BUTTON_PREFIX}{survey_id}:{int(rating)}:{_mac(secret, survey_id, int(rating))}"


def parse_button(secret: str, data: str) -> tuple[int, Rating] | None:
    """The survey and rating a button names, or None if it was not made by this bot."""
    match = _BUTTON.match(data)
    if match is None:
        return None
    survey_id, rating = int(match.group(1)), int(match.group(2))
    if not hmac.compare_digest(match.group(3), _mac(secret, survey_id, rating)):
        return None
    try:
        return survey_id, Rating(rating)
    except ValueError:
        return None


def _label(rating: Rating, texts: SurveyTexts | None) -> str:
    own = getattr(texts, rating.name.lower()) if texts else None
    return own or _(RATING_LABELS[rating])


def buttons(secret: str, survey_id: int, texts: SurveyTexts | None = None) -> InlineKeyboardMarkup:
    """The three answers, one per row so the Chinese labels never get cut, in domain order;
    labels in the team's own words where `[survey.texts.<language>]` sets them."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _label(r, texts), callback_data=button_data(secret, survey_id, r)
                )
            ]
            for r in (Rating.VERY_SATISFIED, Rating.SATISFIED, Rating.DISSATISFIED)
        ]
    )


# ---------------------------------------------------------------- to the customer


def _question(texts: SurveyTexts | None) -> str:
    if texts and texts.question:
        return esc(texts.question)
    return _("How satisfied are you with our service?")


def question(number: int, summary: str, texts: SurveyTexts | None = None) -> str:
    resolved = _("Your after-sales ticket #%(number)s (“%(summary)s”) has been resolved.") % {
        "number": number,
        "summary": esc(one_line(summary)),
    }
    return f"{resolved}\n{_question(texts)}"


def reminder(number: int, summary: str, texts: SurveyTexts | None = None) -> str:
    resolved = _(
        "A gentle reminder: your ticket #%(number)s (“%(summary)s”) has been resolved."
    ) % {
        "number": number,
        "summary": esc(one_line(summary)),
    }
    tap = _("%(question)s One tap is all it takes.") % {"question": _question(texts)}
    return f"{resolved}\n{tap}"


def answered(number: int, rating: Rating, *, invite_comment: bool = False) -> str:
    text = _("Thank you for rating ticket #%(number)s: <b>%(rating)s</b>.") % {
        "number": number,
        "rating": rating_name(rating),
    }
    if invite_comment:
        text += "\n\n" + _(
            "We are sorry we let you down. Please tell us what went wrong: "
            "just write it in your next message here and the team will read it."
        )
    return text


def closed(number: int, outcome: Outcome, rating: Rating | None) -> str:
    """The text that replaces a survey message whose buttons are no longer valid."""
    if outcome is Outcome.ANSWERED and rating is not None:
        return answered(number, rating)
    if outcome is Outcome.VOID:
        return _(
            "Ticket #%(number)s has been reopened, so this survey is withdrawn. "
            "We will ask again once it is resolved."
        ) % {"number": number}
    return _("The survey for ticket #%(number)s has closed. Thank you for your support.") % {
        "number": number
    }


def comment_received() -> str:
    return _("Thank you. Your comment has been passed to the after-sales team.")


# ---------------------------------------------------------------- to the team


def rated(number: int, rating: Rating, summary: str) -> str:
    return _("#%(number)s rated by the customer: <b>%(rating)s</b> — %(summary)s") % {
        "number": number,
        "rating": rating_name(rating),
        "summary": esc(summary),
    }


def alert(
    number: int,
    summary: str,
    customer: str,
    agent: tuple[int, str],
    managers: list[tuple[int, str]],
) -> str:
    return _(
        "⚠️ <b>Dissatisfied customer</b> on #%(number)s: %(summary)s\n"
        "Customer: %(customer)s\n"
        "Agent: %(agent)s · Managers: %(managers)s\n"
        "Please respond at once: apologise to the customer and find the cause."
    ) % {
        "number": number,
        "summary": esc(summary),
        "customer": esc(customer) if customer else "—",
        "agent": mention(*agent),
        "managers": ", ".join(mention(*m) for m in managers) or "—",
    }


def comment(number: int, text: str, customer: str, agent: tuple[int, str]) -> str:
    return _("💬 Comment from %(customer)s on #%(number)s (agent %(agent)s):\n%(comment)s") % {
        "number": number,
        "customer": esc(customer) if customer else _("the customer"),
        "agent": mention(*agent),
        "comment": esc(text),
    }


def undeliverable(number: int, summary: str) -> str:
    return _(
        "#%(number)s (%(summary)s): the satisfaction survey could not be delivered — the "
        "customer has blocked the bot or never started it. The ticket is closed unrated."
    ) % {"number": number, "summary": esc(summary)}


# ---------------------------------------------------------------- in /show


def state_line(state: SurveyState, *, customer_linked: bool, tz: tzinfo) -> str:
    """e.g. "Survey: sent 11-25 10:00, reminded 11-26 10:00, answered 11-26 12:00: satisfied"."""

    def at(moment: datetime | None) -> str:
        return team_time(moment, tz, year=False) if moment else "?"

    parts: list[str] = []
    if state.status is SurveyStatus.PENDING:
        parts.append(
            _("queued") if customer_linked else _("not sent: the customer has not linked yet")
        )
    elif state.status is SurveyStatus.UNDELIVERABLE:
        parts.append(_("undeliverable (the customer blocked the bot)"))
    if state.sent_at is not None:
        parts.append(_("sent %(when)s") % {"when": at(state.sent_at)})
    if state.reminded_at is not None:
        parts.append(_("reminded %(when)s") % {"when": at(state.reminded_at)})
    if state.status is SurveyStatus.ANSWERED and state.rating is not None:
        parts.append(
            _("answered %(when)s: %(rating)s")
            % {"when": at(state.answered_at), "rating": rating_name(state.rating)}
        )
    elif state.status is SurveyStatus.EXPIRED:
        parts.append(_("expired %(when)s, unrated") % {"when": at(state.expired_at)})
    elif state.status is SurveyStatus.VOID:
        parts.append(_("withdrawn (ticket reopened)"))
    line = _("Survey: %(state)s") % {"state": ", ".join(parts)}
    if state.comment:
        line += "\n" + _("Customer comment: %(comment)s") % {"comment": esc(state.comment)}
    return line


def one_line(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
