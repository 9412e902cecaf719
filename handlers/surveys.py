"""The customer's side of the satisfaction survey: a tap on a rating, and the comment after it."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, MessageHandler, filters

from bot.i18n import _, normalise, use_language
from bot.services import surveys
from bot.services.errors import KefuError
from handlers import survey_render
from handlers.common import Context, answer_button, button, identify, refusal_text, reply, runtime

log = logging.getLogger(__name__)


async def rate(update: Update, context: Context) -> None:
    """A rating button: record it once, thank the customer, and take the buttons away."""
    query = update.callback_query
    caller = await identify(update, context)  # also sets the presser's language
    if query is None or caller is None:
        await answer_button(update, context)  # a button of an inline message: nothing to rate
        return
    rt = runtime(context)
    assert rt.settings.token is not None
    parsed = survey_render.parse_button(rt.settings.token, query.data or "")
    if parsed is None:
        log.warning("forged or stale survey button %r from user %s", query.data, caller.user_id)
        await answer_button(update, context, _("This button is not valid."))
        return
    survey_id, rating = parsed
    message = query.message
    try:
        done = await surveys.answer(
            rt.db,
            survey_id=survey_id,
            rating=rating,
            presser_id=caller.user_id,
            tapped_message_id=message.message_id if message else None,
            settings=rt.settings.survey,
        )
    except KefuError as refusal:
        await answer_button(update, context, refusal_text(refusal))
        return
    await answer_button(update, context, _("Thank you!"))
    # The thanks replaces the question, so it speaks the question's language.
    with use_language(normalise(done.customer_language, rt.settings.team.language)):
        text = survey_render.answered(done.number, done.rating, invite_comment=done.comment_invited)
    try:
        await query.edit_message_text(text, reply_markup=None)
    except TelegramError as exc:
        # The rating is recorded; a stale keyboard only earns "already answered" on a re-tap.
        log.warning("survey %s answered, but the message could not be edited: %s", survey_id, exc)


async def comment(update: Update, context: Context) -> None:
    """After a "dissatisfied", the customer's next private message is their comment."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.text:
        return
    rt = runtime(context)
    taken = await surveys.take_comment(rt.db, customer_id=user.id, text=message.text)
    if taken is None:
        return
    with use_language(normalise(taken.customer_language, rt.settings.team.language)):
        await reply(update, survey_render.comment_received())


def register(app: Application) -> None:
    app.add_handler(button(rate, survey_render.BUTTON_PATTERN))
    # Group 1: runs beside the ticket flow's text handler in group 0 rather than competing.
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, comment),
        group=1,
    )
