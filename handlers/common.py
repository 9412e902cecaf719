"""What every handler shares: the runtime, who is asking, the role check, the error replies."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from enum import Enum
from typing import Any

from telegram import Chat, Message, Update, User
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.i18n import N_, _, normalise, set_language
from bot.models import Role
from bot.process.runtime import Runtime
from bot.services import team
from bot.services.errors import InvalidInput, KefuError
from bot.services.team import SeenUser
from handlers.markup import esc

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE


class Where(Enum):
    """Where a command may be used."""

    ANYWHERE = "anywhere"
    # Team data is shown only in private chats and the team chat, never in a customer group.
    PRIVATE_OR_TEAM = "private_or_team"
    GROUP = "group"
    PRIVATE = "private"


@dataclass(frozen=True)
class Caller:
    """The person behind an update, as Kefu sees them."""

    user: SeenUser
    role: Role | None
    chat_id: int
    private: bool
    team_chat: bool

    @property
    def user_id(self) -> int:
        return self.user.user_id

    @property
    def is_manager(self) -> bool:
        return self.role is Role.MANAGER


def runtime(context: Context) -> Runtime:
    return context.application.bot_data["runtime"]


def seen_user(user: User, chat: Chat | None) -> SeenUser:
    return SeenUser(
        user_id=user.id,
        full_name=user.full_name,
        username=user.username,
        language_code=user.language_code,
        private_chat=chat is not None and chat.type == Chat.PRIVATE,
    )


def replied_message(message: Message | None) -> Message | None:
    """The message `message` really answers, or None: the one way Kefu reads "a reply to".

    In a forum topic Telegram sets `reply_to_message` to the topic's creation message on
    every message that answers nothing in particular; only a reply to another message of the
    topic points at a person.
    """
    replied = message.reply_to_message if message is not None else None
    if replied is None or message is None:
        return None
    topic_root = replied.forum_topic_created is not None or (
        replied.message_id == message.message_thread_id
    )
    return None if message.is_topic_message and topic_root else replied


def replied_user(update: Update) -> SeenUser | None:
    """The human author of the message this one replies to (how people point at someone)."""
    replied = replied_message(update.effective_message)
    if replied is None or replied.from_user is None or replied.from_user.is_bot:
        return None
    return seen_user(replied.from_user, None)


async def named_member(update: Update, rt: Runtime, ref: str | None) -> team.Member:
    """The person a command is about: a user id, an @username, or the author replied to."""
    if ref is not None:
        return await team.find_person(rt.db, ref)
    author = replied_user(update)
    if author is not None:
        await team.record_seen(rt.db, author)
        member = await team.get_member(rt.db, author.user_id)
        if member is not None:
            return member
    raise InvalidInput(N_("Name the agent: a user id, an @username, or reply to their message."))


def language_for(rt: Runtime, role: Role | None, user: SeenUser) -> str:
    """Team members read the team's language; customers their own Telegram language."""
    if role is not None:
        return rt.settings.team.language
    return normalise(user.language_code, rt.settings.team.language)


# Telegram shows a chat action for about 5 seconds, or until the bot's next message.
_ACTION_REPEAT_SECONDS = 4.0


@contextlib.asynccontextmanager
async def working(update: Update, action: str) -> AsyncIterator[None]:
    """Show the chat, at once and until the block ends, that an answer is on its way
    ("typing…", "sending a photo…"): a long answer must not look like no answer."""
    chat = update.effective_chat
    if chat is None:
        yield
        return

    async def keep_showing() -> None:
        while True:
            try:
                await chat.send_action(action)
            except TelegramError as exc:  # only a courtesy: never worth failing the answer
                log.debug("chat action %s in %s not shown: %s", action, chat.id, exc)
            await asyncio.sleep(_ACTION_REPEAT_SECONDS)

    showing = asyncio.create_task(keep_showing())
    try:
        yield
    finally:
        showing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await showing


async def reply(update: Update, text: str, **kwargs: Any) -> Message | None:
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_text(text, do_quote=False, **kwargs)


# The redelivery guard reads the sender's role in its own transaction and leaves it on the
# update's context (one per update, shared by every handler group) for `identify`.
_LOOKUP = "kefu_caller_lookup"


def remember_lookup(
    context: Context, user_id: int, role: Role | None, team_chat: int | None
) -> None:
    setattr(context, _LOOKUP, (user_id, role, team_chat))


# Set when the update's work marked its inbox claim handled in its own transaction
# (`/ticket`): the end of the update need not write it again.
_HANDLED = "kefu_update_handled"


def handled_with_work(context: Context) -> None:
    setattr(context, _HANDLED, True)


def was_handled_with_work(context: Context) -> bool:
    return getattr(context, _HANDLED, False)


async def identify(update: Update, context: Context) -> Caller | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    rt = runtime(context)
    known: tuple[int, Role | None, int | None] | None = getattr(context, _LOOKUP, None)
    if known is not None and known[0] == user.id:
        role, team_chat = known[1], known[2]
    else:
        role, team_chat = await team.role_and_team_chat(rt.db, user.id)
    caller = Caller(
        user=seen_user(user, chat),
        role=role,
        chat_id=chat.id,
        private=chat.type == Chat.PRIVATE,
        team_chat=team_chat is not None and chat.id == team_chat,
    )
    set_language(language_for(rt, role, caller.user))
    return caller


Handler = Callable[[Update, Context, Caller], Awaitable[None]]
# A coroutine function, as python-telegram-bot's handler types ask for.
Guarded = Callable[[Update, Context], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class CommandSpec:
    """A command's one statement: its name, what /help and the menu say of it, who may run it
    and where."""

    name: str
    # An N_()-marked msgid; None keeps the command out of the menu and /help (/setup).
    help: str | None
    role: Role | None
    where: Where


_SPECS: dict[Guarded, CommandSpec] = {}
# Every command in the order the Application registers it: the order of the menu and /help.
REGISTERED: dict[str, CommandSpec] = {}


def command(
    name: str | None = None,
    help: str | None = None,
    *,
    role: Role | None = Role.AGENT,
    where: Where | None = None,
) -> Callable[[Handler], Guarded]:
    """Guard a handler: identify the caller, check role and chat, turn refusals into replies.

    `role=None` lets anyone in; AGENT lets agents and managers in; MANAGER only managers.
    Without `where`, a team command (AGENT or MANAGER) answers only in the team chat and in
    private chats, since its answers name tickets, agents or scores; a command open to
    everyone answers anywhere. A command used elsewhere says so (`where=Where.ANYWHERE`).
    With a `name` the handler is the command `/name` (`command_handler` registers it); without,
    it is the guard of a button.
    """
    place = where if where is not None else default_place(role)

    def wrap(handler: Handler) -> Guarded:
        @functools.wraps(handler)
        async def guarded(update: Update, context: Context) -> None:
            caller = await identify(update, context)
            if caller is None:
                # A button of an inline message has no chat to act in: stop its spinner.
                await answer_button(update, context)
                return
            if not role_allows(role, caller.role):
                await refuse(update, context, _refusal(role))
                return
            if not _place_allows(place, caller):
                await refuse(update, context, _wrong_place(place))
                return
            try:
                await handler(update, context, caller)
            except KefuError as refusal:
                await refuse(update, context, refusal_text(refusal))
                return
            await answer_button(update, context)

        if name is not None:
            _SPECS[guarded] = CommandSpec(name=name, help=help, role=role, where=place)
        return guarded

    return wrap


def default_place(role: Role | None) -> Where:
    """Where a command may be used when it does not say: team data stays with the team."""
    return Where.ANYWHERE if role is None else Where.PRIVATE_OR_TEAM


def command_handler(callback: Guarded) -> CommandHandler:
    """The Application's handler for a `@command(name, ...)` function, under that name."""
    spec = _SPECS[callback]
    REGISTERED.setdefault(spec.name, spec)
    return CommandHandler(spec.name, callback)


class _ButtonHandler(CallbackQueryHandler[Any, Any]):
    """A CallbackQueryHandler that never takes a press without data.

    Given a pattern, python-telegram-bot's own still matches a press with empty or absent
    data (and no game): the first button handler registered would get it and fail to parse.
    """

    def check_update(self, update: object) -> bool | object | None:
        if not isinstance(update, Update) or not (
            update.callback_query and update.callback_query.data
        ):
            return False
        return super().check_update(update)


def button(callback: Guarded, pattern: str) -> CallbackQueryHandler[Any, Any]:
    """The handler of the buttons whose data matches `pattern` (how every button is registered)."""
    return _ButtonHandler(callback, pattern=pattern)


# Set on the update's context once its button press is answered: Telegram takes one answer.
_ANSWERED = "kefu_button_answered"
# Telegram's limit for the text of a callback answer.
ANSWER_LIMIT = 200


async def answer_button(
    update: Update, context: Context, text: str | None = None, *, alert: bool = False
) -> None:
    """Answer the button press of `update` once (Telegram's spinner waits for it)."""
    query = update.callback_query
    if query is None or getattr(context, _ANSWERED, False):
        return
    setattr(context, _ANSWERED, True)
    if text is not None and len(text) > ANSWER_LIMIT:
        text = text[: ANSWER_LIMIT - 1] + "…"
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as exc:
        # Too late (a slow update) or already answered: what the press did is done anyway.
        log.warning("could not answer button press %s: %s", query.id, exc)


async def refuse(update: Update, context: Context, text: str) -> None:
    """Tell the person why nothing happened: in chat for a message, an alert for a button.

    A button may sit in a customer group: the refusal is for the presser, not the group.
    """
    if update.callback_query is not None:
        await answer_button(update, context, text, alert=True)
    else:
        await reply(update, esc(text))


async def drop_keyboard(update: Update) -> None:
    """Take the buttons off the pressed message: cosmetic, so a failure changes nothing.

    "Message is not modified" (a double tap), "message to edit not found" (deleted) and
    "message can't be edited" (too old) all leave the work the press did in place.
    """
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError as exc:
        log.info("buttons of message %s left in place: %s", query.message.message_id, exc)


def role_allows(required: Role | None, actual: Role | None) -> bool:
    """AGENT admits agents and managers; MANAGER only managers; None everyone."""
    if required is None:
        return True
    if required is Role.AGENT:
        return actual in (Role.AGENT, Role.MANAGER)
    return actual is Role.MANAGER


def _place_allows(where: Where, caller: Caller) -> bool:
    if where is Where.PRIVATE_OR_TEAM:
        return caller.private or caller.team_chat
    if where is Where.GROUP:
        return not caller.private
    if where is Where.PRIVATE:
        return caller.private
    return True


def _refusal(required: Role | None) -> str:
    if required is Role.MANAGER:
        return _("Sorry, only managers can use this command.")
    return _(
        "Sorry, this command is for the after-sales team. If you need help with an order, please contact the shop's customer service."
    )


def _wrong_place(where: Where) -> str:
    if where is Where.GROUP:
        return _("Please use this command in the team group.")
    if where is Where.PRIVATE:
        return _("Please use this command in a private chat with me.")
    return _("Team data is shown only in the team chat or a private chat with me.")


def refusal_text(refusal: KefuError) -> str:
    """The refusal in the reader's language, as plain text."""
    text = _(refusal.message)
    return text % refusal.params if refusal.params else text
