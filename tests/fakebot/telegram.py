"""In-memory fake of the Telegram Bot API, independent of any transport.

`FakeTelegram.handle()` answers one Bot API call with the HTTP status and JSON body the real
server would send; `FakeRequest` (in process) and `FakeBotApiServer` (real HTTP) put a
transport in front of it. Everything the bot sends is recorded for assertions, and faults
(errors, 429 flood control, blocked users, slow answers, dropped connections) can be injected.
"""

from __future__ import annotations

import copy
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

JSON = dict[str, Any]

BOT_ID = 777000001
BOT_USERNAME = "kefu_test_bot"
BOT_FIRST_NAME = "Kefu"

_TOKEN_RE = re.compile(r"^\d+:[\w-]+$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")

# Form-encoded / multipart fields arrive as strings. PTB JSON-encodes every non-string value,
# so everything is decoded with json.loads except fields whose Bot API type is String (a text
# "123" must stay a string).
_STRING_FIELD_NAMES = (
    "text caption parse_mode callback_query_id url data description short_description "
    "name title language_code secret_token inline_message_id business_connection_id "
    "action emoji message_effect_id ip_address custom_title photo document video audio "
    "voice animation sticker thumbnail"
)
STRING_FIELDS = frozenset(_STRING_FIELD_NAMES.split())

# Methods that create a message: the ones flood control, blocks and "left chat" apply to.
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
# Methods that fail when the user blocked the bot or the bot left the group.
_CHAT_METHODS = _SEND_METHODS | {"editMessageText", "editMessageReplyMarkup", "sendChatAction"}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class UploadedFile:
    """A file uploaded with multipart/form-data (or resolved from an earlier file_id)."""

    filename: str
    content: bytes
    mime_type: str | None = None


@dataclass
class SentMessage:
    """A message sent by the bot; `result` is the Message object the API returned."""

    method: str
    chat_id: int
    message_id: int
    text: str | None  # text of sendMessage, caption of media messages
    reply_markup: JSON | None
    parse_mode: str | None
    params: JSON
    result: JSON
    caption: str | None = None
    filename: str | None = None
    file_bytes: bytes | None = None
    mime_type: str | None = None
    file_id: str | None = None
    deleted: bool = False

    @property
    def buttons(self) -> list[list[JSON]]:
        """Inline keyboard rows (empty if there is none)."""
        return (self.reply_markup or {}).get("inline_keyboard", [])


@dataclass
class Edit:
    """An editMessageText / editMessageReplyMarkup call that succeeded."""

    method: str
    chat_id: int | None
    message_id: int | None
    inline_message_id: str | None
    text: str | None
    reply_markup: JSON | None
    parse_mode: str | None
    params: JSON


@dataclass
class CallbackAnswer:
    """An answerCallbackQuery call."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass
class Call:
    """Any Bot API call as received, with the status it was answered with (0: dropped)."""

    method: str
    params: JSON
    token: str
    status: int = 0
    response: JSON | None = None


@dataclass
class Fault:
    """An injected failure; `times=None` means forever."""

    method: str | None
    status: int
    description: str
    retry_after: int | None
    times: int | None
    chat_id: int | None
    drop: bool = False


@dataclass
class Delay:
    """An injected slow answer; `executed`: whether Telegram still performs the call."""

    method: str | None
    seconds: float
    times: int | None
    chat_id: int | None
    executed: bool = True


class ConnectionDropped(Exception):
    """Raised by `handle()` when a drop fault fires: the transport must answer nothing."""


class ApiError(Exception):
    """Internal: an error answer of the Bot API."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


def decode_form(fields: dict[str, str]) -> JSON:
    """Decode form / multipart text fields as PTB encodes them (JSON for non-string values)."""
    params: JSON = {}
    for key, value in fields.items():
        if key in STRING_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value  # e.g. chat_id="@channel"
    return params


class _HtmlCheck(HTMLParser):
    """Rejects what Telegram's HTML parse mode rejects: unknown and unbalanced tags."""

    _NAMES = "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji"
    TAGS = frozenset(_NAMES.split())

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.stack: list[str] = []
        self.error: str | None = None
        self.feed(text)
        self.close()
        if self.stack and not self.error:
            self.error = f'Can\'t find end tag corresponding to start tag "{self.stack[-1]}"'

    def _offset(self) -> int:
        line, col = self.getpos()
        lines = self.text.split("\n")
        return sum(len(x.encode()) + 1 for x in lines[: line - 1]) + len(
            lines[line - 1][:col].encode()
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.TAGS:
            self.error = self.error or (
                f'Unsupported start tag "{tag}" at byte offset {self._offset()}'
            )
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.error = self.error or f'Unsupported start tag "{tag}" at byte offset {self._offset()}'

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f"Unexpected end tag at byte offset {self._offset()}"
        else:
            self.stack.pop()


def _markdown_v2_error(text: str) -> str | None:
    """Telegram's most common MarkdownV2 rejection: unescaped reserved characters.

    Deliberately simplified (no entity balancing) so it never rejects valid text.
    """
    i, code, url = 0, None, False  # code: the open "`" / "```" delimiter
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if code:
            if text.startswith(code, i):
                i, code = i + len(code), None
                continue
        elif url:
            url = ch != ")"
        elif ch == "`":
            code = "```" if text.startswith("```", i) else "`"
            i += len(code)
            continue
        elif text.startswith("](", i):
            i, url = i + 2, True
            continue
        elif (
            ch in "#+-={}.()"
            or (ch == "!" and not text.startswith("![", i))
            or (ch == ">" and i > 0 and text[i - 1] != "\n")
        ):
            return f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
        i += 1
    return None


class FakeTelegram:
    """State of a fake Bot API server. Thread-safe (one lock) so HTTP handlers can share it."""

    def __init__(
        self,
        *,
        bot_id: int = BOT_ID,
        username: str = BOT_USERNAME,
        first_name: str = BOT_FIRST_NAME,
        token: str | None = None,
        strict: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`token`: if set, any other token gets 401. `strict`: validate texts, parse modes,
        button data and commands like Telegram does. `clock`: for rate-limit windows."""
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.token, self.strict, self.clock = token, strict, clock
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        # Server state (survives clear()).
        self._next_msg_id: dict[int, int] = {}
        self._live: dict[tuple[int, int], SentMessage] = {}
        self._messages: dict[tuple[int, int], JSON] = {}  # incoming + outgoing, for replies
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._members: dict[tuple[int, int], JSON] = {}
        self._files: dict[str, UploadedFile] = {}
        self._queue: list[JSON] = []
        self._last_update_id = 0
        self._commands: dict[str, list[JSON]] = {}
        self.webhook: JSON | None = None
        self.left_chats: set[int] = set()
        # Groups upgraded to supergroups: old id → new id (see `migrate`).
        self.migrated: dict[int, int] = {}
        self._file_seq = 0
        self._listeners: list[Callable[[], None]] = []
        self.clear()

    # ------------------------------------------------------------------ recording API
    def clear(self) -> None:
        """Forget recordings, faults and rate-limit state; keep messages, chats, updates."""
        with self.lock:
            self._sent: list[SentMessage] = []
            self._calls: list[Call] = []
            self._edits: list[Edit] = []
            self._answers: dict[str, CallbackAnswer] = {}
            self._faults: list[Fault] = []
            self._delays: list[Delay] = []
            self._blocked: set[int] = set()
            self._limits: tuple[int | None, int | None, int | None] | None = None
            self._windows: dict[tuple[str, int], deque[float]] = {}
            self.too_many_requests_count = 0

    @property
    def sent(self) -> list[SentMessage]:
        """Messages as sent, in order (edits do not change these; see `message()`)."""
        with self.lock:
            return list(self._sent)

    @property
    def edits(self) -> list[Edit]:
        with self.lock:
            return list(self._edits)

    @property
    def callback_answers(self) -> dict[str, CallbackAnswer]:
        with self.lock:
            return dict(self._answers)

    @property
    def commands(self) -> dict[str, list[JSON]]:
        """setMyCommands state keyed by scope JSON (sorted keys), plus "|<lang>" if given."""
        with self.lock:
            return copy.deepcopy(self._commands)

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def last_to(self, chat_id: int) -> SentMessage | None:
        msgs = self.sent_to(chat_id)
        return msgs[-1] if msgs else None

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """Current state of a bot message (edits applied, `deleted` set)."""
        with self.lock:
            return self._live.get((chat_id, message_id))

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call received (including failed ones), optionally of one method."""
        with self.lock:
            return [c for c in self._calls if method is None or c.method == method]

    # ------------------------------------------------------------------ fault injection
    def fail(
        self,
        method: str | None,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next `times` calls of `method` (None: any) [to `chat_id`] fail with `status`."""
        if status == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        description = description or _DEFAULT_DESCRIPTIONS.get(status, "Internal Server Error")
        with self.lock:
            self._faults.append(Fault(method, status, description, retry_after, times, chat_id))

    def drop(
        self, method: str | None = None, *, times: int | None = 1, chat_id: int | None = None
    ) -> None:
        """The next `times` matching calls get no answer at all (connection dropped)."""
        with self.lock:
            self._faults.append(Fault(method, 0, "", None, times, chat_id, drop=True))

    def blocked(self, chat_id: int) -> None:
        """Every send to `chat_id` answers 403 until `unblock()`."""
        with self.lock:
            self._blocked.add(chat_id)

    def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """The group `old_chat_id` became the supergroup `new_chat_id`: from now on every
        call to the old id answers 400 with `migrate_to_chat_id`, as Telegram does."""
        with self.lock:
            self.migrated[old_chat_id] = new_chat_id
            old = self._chats.get(old_chat_id, {"title": f"Group {old_chat_id}"})
            self._chats[new_chat_id] = {
                "id": new_chat_id,
                "type": "supergroup",
                "title": old.get("title", f"Group {old_chat_id}"),
            }

    def unblock(self, chat_id: int) -> None:
        with self.lock:
            self._blocked.discard(chat_id)

    def delay(
        self,
        method: str | None,
        seconds: float,
        *,
        times: int | None = None,
        chat_id: int | None = None,
        executed: bool = True,
    ) -> None:
        """Answer matching calls after `seconds`. If the client times out first, the call is
        still performed when `executed` (as on real Telegram, where a timed-out send may have
        been delivered)."""
        with self.lock:
            self._delays.append(Delay(method, seconds, times, chat_id, executed))

    def delays_pending(self) -> int:
        """Injected delays not used up yet (a test waits for a slow call to have begun)."""
        with self.lock:
            return len(self._delays)

    def take_delay(self, method: str, params: JSON) -> Delay | None:
        """Used by transports: the delay that applies to this call, consuming one use."""
        with self.lock:
            return self._take(self._delays, method, params)

    def rate_limits(
        self,
        per_second_overall: int | None = 30,
        per_chat_per_second: int | None = 1,
        per_group_per_minute: int | None = 20,
    ) -> None:
        """Enforce Telegram's documented send limits with 429 answers (None: no limit)."""
        with self.lock:
            self._limits = (per_second_overall, per_chat_per_second, per_group_per_minute)
            self._windows = {}

    def clear_faults(self) -> None:
        with self.lock:
            self._faults, self._delays, self._blocked, self._limits = [], [], set(), None

    # ------------------------------------------------------------------ incoming updates
    def push_update(self, update: JSON | Any) -> JSON:
        """Queue an update for getUpdates (a dict or telegram.Update); assigns update_id."""
        data = update.to_dict() if hasattr(update, "to_dict") else copy.deepcopy(update)
        with self._cond:
            if "update_id" not in data:
                data = {"update_id": self._last_update_id + 1, **data}
            self._last_update_id = max(self._last_update_id, data["update_id"])
            self.observe(data)
            self._queue.append(data)
            self._notify()
        return data

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from the pushing thread) whenever getUpdates may answer."""
        with self.lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        with self.lock:
            self._listeners.remove(callback)

    def _notify(self) -> None:
        self._cond.notify_all()
        for callback in self._listeners:
            callback()

    def observe(self, update: JSON) -> None:
        """Learn chats, users and message ids from an incoming update (no queueing)."""
        with self.lock:
            for key, value in update.items():
                if not isinstance(value, dict):
                    continue
                msg = value.get("message") if key == "callback_query" else value
                if isinstance(value.get("from"), dict):
                    self._users[value["from"]["id"]] = value["from"]
                if isinstance(msg, dict) and "message_id" in msg and "chat" in msg:
                    chat_id = msg["chat"]["id"]
                    self._chats[chat_id] = msg["chat"]
                    if key != "callback_query":
                        self._messages[(chat_id, msg["message_id"])] = msg
                    self._next_msg_id[chat_id] = max(
                        self._next_msg_id.get(chat_id, 0), msg["message_id"]
                    )

    def next_message_id(self, chat_id: int) -> int:
        """Allocate a message id in `chat_id` (ids are shared by users and the bot)."""
        with self.lock:
            self._next_msg_id[chat_id] = self._next_msg_id.get(chat_id, 0) + 1
            return self._next_msg_id[chat_id]

    def updates_ready(self, offset: int | None) -> bool:
        """Whether getUpdates with this offset would answer now."""
        with self.lock:
            return self.webhook is not None or any(
                u["update_id"] >= (offset or 0) for u in self._queue
            )

    def wait_for_updates(self, offset: int | None, timeout: float) -> bool:
        """Block (for threaded servers) until `updates_ready(offset)` or timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.updates_ready(offset), timeout)

    def set_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        """What getChatMember answers: creator, administrator, member, left or kicked."""
        member = chat_member(status, self._user(user_id))
        with self.lock:
            self._members[(chat_id, user_id)] = member

    # ------------------------------------------------------------------ dispatch
    def handle(self, token: str, method: str, params: JSON) -> tuple[int, JSON]:
        """Answer one Bot API call: (HTTP status, JSON body). Raises ConnectionDropped."""
        method = _METHODS.get(method.lower(), method)
        with self.lock:
            call = Call(method, dict(params), token)
            self._calls.append(call)
            fault = self._take(self._faults, method, params)
            if fault and fault.drop:
                raise ConnectionDropped(method)
            try:
                if fault:
                    extra = {"retry_after": fault.retry_after} if fault.retry_after else None
                    raise ApiError(fault.status, fault.description, extra)
                body: JSON = {"ok": True, "result": self._dispatch(token, method, params)}
                status = 200
                if method == "setWebhook":
                    body["description"] = "Webhook was set"
            except ApiError as err:
                status = err.status
                body = {"ok": False, "error_code": err.status, "description": err.description}
                if err.parameters:
                    body["parameters"] = err.parameters
            call.status, call.response = status, body
            return status, copy.deepcopy(body)

    def _dispatch(self, token: str, method: str, params: JSON) -> Any:
        if not _TOKEN_RE.match(token):
            raise ApiError(404, "Not Found")
        if self.token is not None and token != self.token:
            raise ApiError(401, "Unauthorized")
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found")
        if method in _CHAT_METHODS:
            chat_id = _opt_int(params.get("chat_id"))
            if chat_id in self._blocked:
                raise ApiError(403, _blocked_description(chat_id))
            if chat_id in self.left_chats:
                raise ApiError(403, "Forbidden: bot is not a member of the supergroup chat")
            if chat_id in self.migrated:
                raise ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": self.migrated[chat_id]},
                )
            if method in _SEND_METHODS and chat_id is not None:
                self._enforce_rate_limits(chat_id)
        return handler(params)

    def _take(self, items: list[Any], method: str, params: JSON) -> Any:
        chat_id = _opt_int(params.get("chat_id"))
        for item in items:
            if item.method not in (None, method) or item.chat_id not in (None, chat_id):
                continue
            if item.times is not None:
                item.times -= 1
                if item.times <= 0:
                    items.remove(item)
            return item
        return None

    def _enforce_rate_limits(self, chat_id: int) -> None:
        if self._limits is None:
            return
        overall, per_chat, per_group = self._limits
        now = self.clock()
        checks = [(("all", 0), overall, 1.0), (("chat", chat_id), per_chat, 1.0)]
        if chat_id < 0:
            checks.append((("group", chat_id), per_group, 60.0))
        wait = 0.0
        for key, limit, period in checks:
            if limit is None:
                continue
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - period:
                window.popleft()
            if len(window) >= limit:
                wait = max(wait, window[0] + period - now)
        if wait > 0:
            self.too_many_requests_count += 1
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        for key, limit, _ in checks:
            if limit is not None:
                self._windows[key].append(now)

    # ------------------------------------------------------------------ helpers
    def _user(self, user_id: int) -> JSON:
        if user_id == self.bot_user["id"]:
            return dict(self.bot_user)
        return dict(
            self._users.get(user_id)
            or {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        )

    def _chat(self, chat_id: int) -> JSON:
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id > 0:
            user = self._user(chat_id)
            return {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    def _check_text(self, text: Any, parse_mode: str | None, *, caption: bool) -> None:
        if not caption and not str(text or "").strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if not self.strict or text is None:
            return
        if len(str(text)) > (1024 if caption else 4096):
            what = "message caption is too long" if caption else "message is too long"
            raise ApiError(400, f"Bad Request: {what}")
        mode = (parse_mode or "").lower()
        error = _HtmlCheck(str(text)).error if mode == "html" else None
        error = _markdown_v2_error(str(text)) if mode == "markdownv2" else error
        if error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}")

    def _markup(self, params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if self.strict and markup:
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= 64:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _file(self, params: JSON, field_name: str) -> UploadedFile:
        value = params.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            return value
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return UploadedFile(value.rsplit("/", 1)[-1] or "file", b"")
        if value is None:
            raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _new_message(
        self,
        method: str,
        params: JSON,
        content: JSON,
        upload: UploadedFile | None = None,
        file_id: str | None = None,
    ) -> JSON:
        chat_id = _req_int(params, "chat_id")
        markup = self._markup(params)
        result: JSON = {
            "message_id": self.next_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        if markup and "inline_keyboard" in markup:  # Telegram echoes only inline keyboards
            result["reply_markup"] = markup
        reply = params.get("reply_parameters") or {}
        reply = json.loads(reply) if isinstance(reply, str) else reply
        reply_id = _opt_int(reply.get("message_id") or params.get("reply_to_message_id"))
        if reply_id and (chat_id, reply_id) in self._messages:
            replied = dict(self._messages[(chat_id, reply_id)])
            replied.pop("reply_to_message", None)  # Telegram nests only one level
            result["reply_to_message"] = replied
        sent = SentMessage(
            method=method,
            chat_id=chat_id,
            message_id=result["message_id"],
            text=params.get("text", params.get("caption")),
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
            params=dict(params),
            result=result,
            caption=params.get("caption"),
            filename=upload.filename if upload else None,
            file_bytes=upload.content if upload else None,
            mime_type=upload.mime_type if upload else None,
            file_id=file_id,
        )
        self._sent.append(sent)
        live = copy.deepcopy(sent)  # `sent` stays as sent; `live` follows edits
        self._live[(chat_id, sent.message_id)] = live
        self._messages[(chat_id, sent.message_id)] = live.result
        return copy.deepcopy(result)

    def _media(self, method: str, params: JSON, kind: str) -> JSON:
        self._req_chat(params)
        self._check_text(params.get("caption"), params.get("parse_mode"), caption=True)
        upload = self._file(params, kind)
        file_id = params.get(kind)
        if not isinstance(file_id, str) or file_id not in self._files:
            self._file_seq += 1
            file_id = f"FAKE-{kind}-{self._file_seq}"
            self._files[file_id] = upload  # so the bot can re-send it by file_id
        meta: JSON = {
            "file_id": file_id,
            "file_unique_id": f"U-{file_id}",
            "file_size": len(upload.content),
        }
        if kind == "photo":
            media: Any = [{**meta, "width": 320, "height": 320}]
        else:
            media = {**meta, "file_name": upload.filename}
            if upload.mime_type:
                media["mime_type"] = upload.mime_type
        content: JSON = {kind: media}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._new_message(method, params, content, upload, file_id)

    def _req_chat(self, params: JSON) -> int:
        if params.get("chat_id") in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        return _req_int(params, "chat_id")

    def _edit_target(self, params: JSON) -> SentMessage | None:
        if params.get("inline_message_id"):
            return None
        key = (self._req_chat(params), _req_int(params, "message_id"))
        live = self._live.get(key)
        if live is None or live.deleted:
            if key in self._messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return live

    def _record_edit(
        self, method: str, params: JSON, live: SentMessage | None, markup: JSON | None
    ) -> Any:
        self._edits.append(
            Edit(
                method=method,
                chat_id=live.chat_id if live else None,
                message_id=live.message_id if live else None,
                inline_message_id=params.get("inline_message_id"),
                text=params.get("text"),
                reply_markup=markup,
                parse_mode=params.get("parse_mode"),
                params=dict(params),
            )
        )
        if live is None:
            return True  # inline messages: the API answers True
        live.result["edit_date"] = int(time.time())
        live.reply_markup = markup
        if markup and "inline_keyboard" in markup:
            live.result["reply_markup"] = markup
        else:
            live.result.pop("reply_markup", None)
        return copy.deepcopy(live.result)

    # ------------------------------------------------------------------ Bot API methods
    def _api_getMe(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _api_sendMessage(self, params: JSON) -> JSON:
        self._req_chat(params)
        self._check_text(params.get("text"), params.get("parse_mode"), caption=False)
        return self._new_message("sendMessage", params, {"text": params["text"]})

    def _api_sendPhoto(self, params: JSON) -> JSON:
        return self._media("sendPhoto", params, "photo")

    def _api_sendDocument(self, params: JSON) -> JSON:
        return self._media("sendDocument", params, "document")

    def _api_editMessageText(self, params: JSON) -> Any:
        live = self._edit_target(params)
        self._check_text(params.get("text"), params.get("parse_mode"), caption=False)
        markup = self._markup(params)  # validate before changing anything
        if live is not None:
            if "text" not in live.result:
                raise ApiError(400, "Bad Request: there is no text in the message to edit")
            if live.result["text"] == params["text"] and live.reply_markup == markup:
                raise ApiError(400, _NOT_MODIFIED)
            live.text = live.result["text"] = params["text"]
            live.parse_mode = params.get("parse_mode")
        return self._record_edit("editMessageText", params, live, markup)

    def _api_editMessageReplyMarkup(self, params: JSON) -> Any:
        live = self._edit_target(params)
        markup = self._markup(params)
        if live is not None and live.reply_markup == markup:
            raise ApiError(400, _NOT_MODIFIED)
        return self._record_edit("editMessageReplyMarkup", params, live, markup)

    def _api_deleteMessage(self, params: JSON) -> bool:
        key = (self._req_chat(params), _req_int(params, "message_id"))
        live = self._live.get(key)
        if (live is None and key not in self._messages) or (live and live.deleted):
            raise ApiError(400, "Bad Request: message to delete not found")
        if live:
            live.deleted = True
        self._messages.pop(key, None)
        return True

    def _api_answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        text = params.get("text")
        if self.strict and (not query_id or query_id in self._answers):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if self.strict and text and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._answers[query_id] = CallbackAnswer(
            callback_query_id=query_id,
            text=text,
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        return True

    def _commands_key(self, params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        scope = json.loads(scope) if isinstance(scope, str) else scope
        key = json.dumps(scope, sort_keys=True)
        lang = params.get("language_code")
        return f"{key}|{lang}" if lang else key

    def _api_setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands") or []
        commands = json.loads(commands) if isinstance(commands, str) else commands
        for command in commands:
            if self.strict and not _COMMAND_RE.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if self.strict and not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty")
        self._commands[self._commands_key(params)] = list(commands)
        return True

    def _api_deleteMyCommands(self, params: JSON) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _api_getMyCommands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _api_getUpdates(self, params: JSON) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        if offset < 0:
            self._queue = self._queue[offset:]
        elif offset > 0:  # confirms (forgets) every update below offset
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        return copy.deepcopy(self._queue[:limit])

    def _api_setWebhook(self, params: JSON) -> bool:
        url = params.get("url") or ""
        self.webhook = {"url": url, **params} if url else None
        if params.get("drop_pending_updates"):
            self._queue = []
        self._notify()  # pending long polls must now answer 409
        return True

    def _api_deleteWebhook(self, params: JSON) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._queue = []
        return True

    def _api_getWebhookInfo(self, params: JSON) -> JSON:
        info: JSON = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook:
            info["max_connections"] = self.webhook.get("max_connections", 40)
        return info

    def _api_getChat(self, params: JSON) -> JSON:
        chat = self._chat(self._req_chat(params))
        gifts = "unlimited_gifts limited_gifts unique_gifts premium_subscription"
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(f"{gifts} gifts_from_channels".split(), True),
        }

    def _api_getChatMember(self, params: JSON) -> JSON:
        chat_id, user_id = self._req_chat(params), _req_int(params, "user_id")
        member = self._members.get((chat_id, user_id))
        return copy.deepcopy(member or {"status": "member", "user": self._user(user_id)})

    def _api_sendChatAction(self, params: JSON) -> bool:
        self._req_chat(params)
        return True

    def _api_leaveChat(self, params: JSON) -> bool:
        self.left_chats.add(self._req_chat(params))
        return True


def chat_member(status: str, user: JSON) -> JSON:
    """A ChatMember object: creator, administrator (with every right), member, left, kicked."""
    member: JSON = {"status": status, "user": dict(user)}
    if status in ("creator", "administrator"):
        member["is_anonymous"] = False
    if status == "administrator":
        rights = (
            "can_be_edited can_manage_chat can_delete_messages can_manage_video_chats "
            "can_restrict_members can_promote_members can_change_info can_invite_users "
            "can_post_stories can_edit_stories can_delete_stories"
        )
        member |= dict.fromkeys(rights.split(), True)
    if status == "kicked":
        member["until_date"] = 0
    return member


def _blocked_description(chat_id: int) -> str:
    if chat_id > 0:
        return "Forbidden: bot was blocked by the user"
    return "Forbidden: bot was kicked from the supergroup chat"


def _opt_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _req_int(params: JSON, name: str) -> int:
    value = _opt_int(params.get(name))
    if value is None:
        if name == "chat_id" and params.get(name):
            raise ApiError(400, "Bad Request: chat not found")
        raise ApiError(400, f"Bad Request: {name} is empty")
    return value


# Bot API method names are case-insensitive; map them to the canonical spelling.
_METHODS = {n[5:].lower(): n[5:] for n in dir(FakeTelegram) if n.startswith("_api_")}
