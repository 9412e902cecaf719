"""Customers and agents talking through the bot: the relay both ways, and choosing a ticket.

A customer's private message goes to their ticket's agent (or the team chat); an agent answers
by replying to the relayed message, by writing in the ticket's topic, or with /reply N. Nothing
else said in the team chat ever reaches a customer.
"""

from __future__ import annotations

import logging
import re

from telegram import Message, Update
from telegram.ext import Application, MessageHandler, filters

from bot.i18n import N_, _
from bot.models import Role
from bot.services import conversation
from bot.services.conversation import Content, Outcome
from bot.services.errors import InvalidInput, KefuError
from handlers import conversation_render as render
from handlers import parse
from handlers.common import (
    Caller,
    Context,
    Where,
    button,
    command,
    command_handler,
    drop_keyboard,
    identify,
    refusal_text,
    refuse,
    replied_message,
    reply,
    role_allows,
    runtime,
)
from handlers.observe import log_fields
from handlers.surveys import comment_taken

log = logging.getLogger(__name__)

# After the ticket flow (0) and the survey comment (1), which stops the update when it takes it.
CUSTOMER_GROUP = 2
AGENT_GROUP = 3
_REPLY_CAPTION = re.compile(r"^/reply(@\w+)?(\s+|$)", re.IGNORECASE)
_MEDIA = (
    filters.PHOTO
    | filters.Document.ALL
    | filters.VOICE
    | filters.VIDEO
    | filters.AUDIO
    | filters.ANIMATION
    | filters.VIDEO_NOTE
    | filters.Sticker.ALL
)
# New messages only: an edit must not be relayed a second time.
_RELAYABLE = filters.UpdateType.MESSAGE & ((filters.TEXT & ~filters.COMMAND) | _MEDIA)


def content_of(message: Message, text: str | None = None) -> Content | None:
    """What a message carries, as the conversation stores it; None for kinds not relayed."""
    size: int | None = None
    if message.text is not None:
        kind = "text"
    elif message.photo:
        kind, size = "photo", message.photo[-1].file_size
    elif message.animation is not None:
        kind, size = "animation", message.animation.file_size
    elif message.document is not None:
        kind, size = "document", message.document.file_size
    elif message.voice is not None:
        kind, size = "voice", message.voice.file_size
    elif message.video is not None:
        kind, size = "video", message.video.file_size
    elif message.audio is not None:
        kind, size = "audio", message.audio.file_size
    elif message.video_note is not None:
        kind, size = "video_note", message.video_note.file_size
    elif message.sticker is not None:
        kind = "sticker"
    else:
        return None
    if text is None:
        text = message.text if kind == "text" else message.caption
    return Content(
        chat_id=message.chat_id,
        message_id=message.message_id,
        kind=kind,
        text=text,
        file_size=size,
        sent_at=message.date,
    )


@command(role=None, where=Where.PRIVATE)
async def customer_writes(update: Update, context: Context, caller: Caller) -> None:
    """A customer's private message: stored on their ticket and relayed to the team."""
    message = update.effective_message
    if caller.role is not None or message is None:
        return  # team members talk to the bot with commands, not as customers
    if comment_taken(context):
        return  # the survey's comment, already forwarded to the team
    content = content_of(message)
    if content is None:
        return
    rt = runtime(context)
    result = await conversation.customer_message(
        rt.db, rt.settings, customer=caller.user, content=content
    )
    log.info(
        "customer message: %s", result.outcome.value, extra=log_fields(update, ticket=result.number)
    )
    if result.outcome is Outcome.NO_TICKET:
        await reply(update, render.no_ticket())
    elif result.outcome is Outcome.INTAKE:
        assert result.number is not None
        await reply(update, render.intake_opened(result.number))
    elif result.outcome is Outcome.ASK:
        text, buttons = render.choose(result.choices)
        await reply(update, text, reply_markup=buttons)
    elif result.outcome is Outcome.RELAYED:
        assert result.number is not None
        if result.slowed:
            await reply(update, render.slow_down())
        elif result.after_resolution:
            await reply(update, render.after_resolution(result.number))


@command(role=None, where=Where.PRIVATE)
async def pick(update: Update, context: Context, caller: Caller) -> None:
    """A customer's choice of ticket: held messages go there, and later ones too."""
    query = update.callback_query
    assert query is not None and query.data is not None
    number = int(query.data.removeprefix(render.PICK_PREFIX))
    rt = runtime(context)
    picked = await conversation.pick_ticket(
        rt.db, rt.settings, customer_id=caller.user_id, number=number
    )
    await drop_keyboard(update)
    await reply(update, render.picked(picked.number, picked.relayed))


@command(role=Role.AGENT, where=Where.PRIVATE_OR_TEAM)
async def take(update: Update, context: Context, caller: Caller) -> None:
    """ "Take #N" under a new customer's ticket: it becomes the presser's."""
    query = update.callback_query
    assert query is not None and query.data is not None
    number = int(query.data.removeprefix(render.TAKE_PREFIX))
    done = await conversation.take(runtime(context).db, number, agent_id=caller.user_id)
    if not done.already:
        await drop_keyboard(update)
    await reply(update, render.taken(done.number, done.agent_name, already=done.already))


@command(
    "switch",
    N_("choose which of your tickets you are writing about"),
    role=None,
    where=Where.PRIVATE,
)
async def switch(update: Update, context: Context, caller: Caller) -> None:
    """Choose which of your open tickets your messages are about."""
    found = await conversation.choices(runtime(context).db, customer_id=caller.user_id)
    if not found:
        await reply(update, render.no_ticket())
        return
    text, buttons = render.choose(found, first=False)
    await reply(update, text, reply_markup=buttons)


async def agent_answers(update: Update, context: Context) -> None:
    """A team member answers a customer: a Telegram reply to their relayed message, or any
    message in the ticket's forum topic. Everything else said among the team stays there."""
    message = update.effective_message
    if message is None:
        return
    caller = await identify(update, context)
    if caller is None or not role_allows(Role.AGENT, caller.role):
        return  # customers replying to the bot in their own chat are relayed, not answered
    rt = runtime(context)
    number: int | None = None
    replied = replied_message(message)
    if replied is not None:
        number = await conversation.ticket_of_relay(
            rt.db, chat_id=message.chat_id, message_id=replied.message_id
        )
    if number is None and message.is_topic_message and caller.team_chat:
        assert message.message_thread_id is not None
        number = await conversation.ticket_of_topic(rt.db, thread_id=message.message_thread_id)
    if number is None:
        return
    await _answer(update, context, caller, number, content_of(message))


async def _answer(
    update: Update, context: Context, caller: Caller, number: int, content: Content | None
) -> None:
    """Queue an agent's answer; the delivery confirmation follows once it has reached them."""
    if content is None:
        await reply(update, _("This kind of message cannot be passed on to the customer."))
        return
    rt = runtime(context)
    try:
        await conversation.answer(
            rt.db, rt.settings, agent_id=caller.user_id, number=number, content=content
        )
    except KefuError as refusal:
        await refuse(update, context, refusal_text(refusal))
        return
    log.info("answer queued", extra=log_fields(update, ticket=number))


@command(
    "reply",
    N_("answer a ticket's customer: /reply N text"),
    role=Role.AGENT,
    where=Where.PRIVATE_OR_TEAM,
)
async def reply_command(update: Update, context: Context, caller: Caller) -> None:
    """/reply N text — or a photo, file or voice captioned "/reply N text"."""
    message = update.effective_message
    if message is None:
        return
    raw = message.text if message.text is not None else message.caption or ""
    head, _sep, text = _REPLY_CAPTION.sub("", raw, count=1).strip().partition(" ")
    if not head:
        raise InvalidInput(
            N_("Write /reply N followed by your answer, e.g. /reply 12 Your parcel left today.")
        )
    number = parse.ticket_number(head)
    await _answer(update, context, caller, number, content_of(message, text.strip()))


@command(role=Role.AGENT, where=Where.PRIVATE_OR_TEAM)
async def older(update: Update, context: Context, caller: Caller) -> None:
    """Page back through a ticket's conversation from /show."""
    query = update.callback_query
    assert query is not None and query.data is not None
    number, before = (int(part) for part in query.data.removeprefix(render.OLDER_PREFIX).split(":"))
    rt = runtime(context)
    found = await conversation.page(rt.db, number, viewer_id=caller.user_id, before=before)
    lines = [render.message_line(line, rt.settings.team.tz) for line in found.lines]
    await reply(
        update,
        "\n".join(lines) or _("No older messages."),
        reply_markup=render.older_button(number, found.older),
    )


def register(app: Application) -> None:
    # In the order of the menu and /help (handlers/menu.py).
    app.add_handler(command_handler(reply_command))
    app.add_handler(command_handler(switch))
    app.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & _MEDIA & filters.CaptionRegex(_REPLY_CAPTION),
            reply_command,
        )
    )
    app.add_handler(button(pick, render.PICK_PATTERN))
    app.add_handler(button(older, render.OLDER_PATTERN))
    app.add_handler(button(take, render.TAKE_PATTERN))
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & _RELAYABLE, customer_writes),
        group=CUSTOMER_GROUP,
    )
    app.add_handler(
        MessageHandler(
            _RELAYABLE
            & (filters.REPLY | filters.IS_TOPIC_MESSAGE)
            & ~filters.CaptionRegex(_REPLY_CAPTION),
            agent_answers,
        ),
        group=AGENT_GROUP,
    )
