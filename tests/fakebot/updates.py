"""Builders for incoming Bot API updates (plain dicts, or `telegram.Update` via `to_update`)."""

from __future__ import annotations

import copy
import itertools
import re
import time
from typing import Any

from telegram import Bot, Update

from .telegram import BOT_USERNAME, JSON, FakeTelegram, SentMessage, chat_member

# A poll as a Bot API server older than python-telegram-bot sends it: its options lack a
# field the library requires (`persistent_id`), so Update.de_json fails on the whole update.
OLD_API_POLL: JSON = {
    "id": "5301",
    "question": "Which courier?",
    "options": [{"text": "SF", "voter_count": 1}, {"text": "YTO", "voter_count": 0}],
    "total_voter_count": 1,
    "is_closed": False,
    "is_anonymous": True,
    "type": "regular",
    "allows_multiple_answers": False,
}
# The user Telegram shows as the sender of what a chat (not a person) says.
GROUP_ANONYMOUS_BOT = 1087968824
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[JSON]:
    """The `bot_command` entity Telegram attaches to a leading /command[@bot]."""
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]


def _with(target: JSON, **optional: Any) -> JSON:
    """`target` with the optional fields that have a value (Telegram omits the others)."""
    target.update({key: value for key, value in optional.items() if value is not None})
    return target


def _message_dict(message: JSON | SentMessage) -> JSON:
    """Accept a SentMessage, a Message dict or an update dict holding a message."""
    if isinstance(message, SentMessage):
        return copy.deepcopy(message.result)
    return copy.deepcopy(message.get("message", message))


class UpdateFactory:
    """Makes realistic incoming updates with increasing update_id / message_id.

    Pass the `FakeTelegram` to share message ids with the bot's messages (as in real chats)
    and let it know about incoming messages, so replies to them carry `reply_to_message`.
    """

    def __init__(
        self,
        telegram: FakeTelegram | None = None,
        *,
        bot_username: str = BOT_USERNAME,
        first_update_id: int = 1,
    ) -> None:
        self.telegram = telegram
        self.bot_username = bot_username
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._chats: dict[int, JSON] = {}

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def _next_message_id(self, chat_id: int) -> int:
        if self.telegram is not None:
            return self.telegram.next_message_id(chat_id)
        return next(self._message_ids)

    @staticmethod
    def user(
        user_id: int,
        first_name: str,
        username: str | None = None,
        language_code: str | None = "en",
        *,
        last_name: str | None = None,
    ) -> JSON:
        """A (non-bot) User object."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        return _with(user, last_name=last_name, username=username, language_code=language_code)

    @staticmethod
    def private_chat(user: JSON) -> JSON:
        """The private Chat of `user` with the bot (chat id = user id)."""
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def group_chat(
        self, chat_id: int, title: str = "Kefu support team", chat_type: str = "supergroup"
    ) -> JSON:
        """A group Chat; registered so later messages to `chat_id` use it."""
        chat = {"id": chat_id, "type": chat_type, "title": title}
        self._chats[chat_id] = chat
        return dict(chat)

    def _chat(self, user: JSON, chat_id: int, chat_type: str | None) -> JSON:
        if chat_id in self._chats and chat_type in (None, self._chats[chat_id]["type"]):
            return dict(self._chats[chat_id])
        if (chat_type or ("private" if chat_id > 0 else "supergroup")) == "private":
            return {**self.private_chat(user), "id": chat_id}
        return self.group_chat(chat_id, f"Group {chat_id}", chat_type or "supergroup")

    def message(
        self,
        user: JSON,
        chat_id: int,
        text: str,
        *,
        chat_type: str | None = None,
        reply_to: JSON | SentMessage | None = None,
        date: int | None = None,
        topic: JSON | None = None,
    ) -> JSON:
        """An update with a text message; a leading /command gets its bot_command entity.

        `topic` (an update from `forum_topic`): sent in that forum topic, where Telegram makes
        the topic's creation message the `reply_to_message` unless `reply_to` names another.
        """
        msg: JSON = {
            "message_id": self._next_message_id(chat_id),
            "from": dict(user),
            "chat": self._chat(user, chat_id, chat_type),
            "date": date or int(time.time()),
            "text": text,
        }
        if entities := command_entities(text):
            msg["entities"] = entities
        if topic is not None:
            topic = _message_dict(topic)
            msg["chat"] = {**msg["chat"], "is_forum": True}
            msg["message_thread_id"] = topic["message_id"]
            msg["is_topic_message"] = True
            reply_to = reply_to if reply_to is not None else topic
        if reply_to is not None:
            replied = _message_dict(reply_to)
            replied.pop("reply_to_message", None)  # Telegram nests only one level
            msg["reply_to_message"] = replied
        return self._update("message", msg)

    def edit(self, update: JSON, text: str) -> JSON:
        """The `edited_message` update Telegram sends when the message of `update` is edited."""
        msg = copy.deepcopy(update["message"])
        msg["text"] = text
        msg["edit_date"] = msg["date"] + 30
        msg.pop("entities", None)
        if entities := command_entities(text):
            msg["entities"] = entities
        return self._update("edited_message", msg)

    def forum_topic(self, user: JSON, chat_id: int, name: str) -> JSON:
        """The update with the service message that opens a forum topic (its message id is
        the topic's thread id)."""
        chat = {**self._chat(user, chat_id, "supergroup"), "is_forum": True}
        message_id = self._next_message_id(chat_id)
        msg: JSON = {
            "message_id": message_id,
            "message_thread_id": message_id,
            "from": dict(user),
            "chat": chat,
            "date": int(time.time()),
            "forum_topic_created": {"name": name, "icon_color": 7322096},
        }
        return self._update("message", msg)

    def command(self, user: JSON, chat_id: int, command: str, *args: str, **kwargs: Any) -> JSON:
        """`/command args...`, addressed as /command@bot in groups (like Telegram clients)."""
        text = f"/{command.lstrip('/')}"
        if chat_id < 0 or kwargs.get("chat_type") not in (None, "private"):
            text += f"@{self.bot_username}"
        return self.message(user, chat_id, " ".join([text, *args]), **kwargs)

    def callback(
        self,
        user: JSON,
        message: JSON | SentMessage,
        data: str,
        chat_id: int | None = None,
    ) -> JSON:
        """An update with a button press on `message` (normally a bot message)."""
        msg = _message_dict(message)
        if chat_id is not None and msg["chat"]["id"] != chat_id:
            raise ValueError(f"message belongs to chat {msg['chat']['id']}, not {chat_id}")
        query = {
            "id": f"cbq-{next(self._query_ids)}",
            "from": dict(user),
            "chat_instance": f"ci{msg['chat']['id']}",
            "message": msg,
            "data": data,
        }
        return self._update("callback_query", query)

    def press(
        self,
        user: JSON,
        *,
        message: JSON | SentMessage | None = None,
        data: str | None = None,
        inline_message_id: str | None = None,
        game_short_name: str | None = None,
    ) -> JSON:
        """Any button press Telegram may send: on a chat message or an inline message (which
        carries no message, only its id), with data, empty data or a game's short name."""
        query: JSON = {"id": f"cbq-{next(self._query_ids)}", "from": dict(user)}
        if message is not None:
            msg = _message_dict(message)
            query["message"] = msg
            query["chat_instance"] = f"ci{msg['chat']['id']}"
        else:
            query["chat_instance"] = f"ci-inline-{user['id']}"
        _with(
            query,
            inline_message_id=inline_message_id,
            data=data,
            game_short_name=game_short_name,
        )
        return self._update("callback_query", query)

    def chat_migration(self, user: JSON, old_chat_id: int, new_chat_id: int) -> list[JSON]:
        """The two service messages of a group upgraded to a supergroup: in the old group
        (from the user who upgraded it) and the first message of the new supergroup (from
        Telegram's anonymous "Group" bot on behalf of the chat)."""
        old_chat = {**self._chat(user, old_chat_id, None), "type": "group"}
        new_chat = {"id": new_chat_id, "type": "supergroup", "title": old_chat.get("title", "")}
        self._chats[new_chat_id] = new_chat
        now = int(time.time())
        in_old: JSON = {
            "message_id": self._next_message_id(old_chat_id),
            "from": dict(user),
            "chat": old_chat,
            "date": now,
            "migrate_to_chat_id": new_chat_id,
        }
        in_new: JSON = {
            "message_id": self._next_message_id(new_chat_id),
            "from": {
                "id": GROUP_ANONYMOUS_BOT,
                "is_bot": True,
                "first_name": "Group",
                "username": "GroupAnonymousBot",
            },
            "sender_chat": dict(new_chat),
            "chat": dict(new_chat),
            "date": now,
            "migrate_from_chat_id": old_chat_id,
        }
        return [self._update("message", in_old), self._update("message", in_new)]

    def my_chat_member(
        self, chat_id: int, by: JSON, bot_user: JSON, *, old_status: str, new_status: str
    ) -> JSON:
        """Telegram telling the bot its own membership of `chat_id` changed (removed, added)."""
        chat = self._chats.get(chat_id) or {"id": chat_id, "type": "supergroup", "title": ""}
        return self._update(
            "my_chat_member",
            {
                "chat": dict(chat),
                "from": dict(by),
                "date": int(time.time()),
                "old_chat_member": chat_member(old_status, bot_user),
                "new_chat_member": chat_member(new_status, bot_user),
            },
        )

    def _update(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": self.next_update_id(), kind: payload}
        if self.telegram is not None:
            self.telegram.observe(update)
        return update

    @staticmethod
    def to_update(update: JSON, bot: Bot) -> Update:
        """Parse an update dict the way PTB parses what getUpdates returned."""
        parsed = Update.de_json(copy.deepcopy(update), bot)
        assert parsed is not None
        return parsed
