"""Self-tests: the fake Bot API driven by a real python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from telegram import (
    Bot,
    BotCommandScopeAllPrivateChats,
    ChatMemberAdministrator,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from tests.fakebot import FakeBotApiServer, FakeRequest, FakeTelegram, UpdateFactory

TOKEN = "123:ABC"
USER_ID = 4242
GROUP_ID = -1001234567890


# --------------------------------------------------------------------- a tiny bot
async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = " ".join(context.args or []) or "empty"
    button = InlineKeyboardButton("Again", callback_data=f"again:{text}")
    await update.effective_message.reply_text(text, reply_markup=InlineKeyboardMarkup([[button]]))


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_document(
        b"agent,score\r\nli,97\n", filename="kpi.csv", caption="KPI"
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer("Done", show_alert=True)
    await query.edit_message_text(f"You pressed {query.data}")


def add_handlers(app: Application) -> Application:
    app.add_handler(CommandHandler("echo", echo))
    app.add_handler(CommandHandler("report", report))
    app.add_handler(CallbackQueryHandler(on_button))
    return app


def build_app(fake: FakeTelegram, read_timeout: float = 5.0) -> Application:
    builder = Application.builder().token(TOKEN)
    builder = builder.request(FakeRequest(fake, read_timeout=read_timeout))
    return add_handlers(builder.get_updates_request(FakeRequest(fake)).build())


async def eventually(predicate: Callable[[], object], within: float = 10.0) -> None:
    """Wait (bounded) until predicate() is truthy."""
    for _ in range(int(within / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def updates(fake: FakeTelegram) -> UpdateFactory:
    return UpdateFactory(fake)


@pytest.fixture
def user(updates: UpdateFactory) -> dict:
    return updates.user(USER_ID, "Li", username="li_agent")


@pytest.fixture
async def app(fake: FakeTelegram) -> AsyncIterator[Application]:
    application = build_app(fake, read_timeout=0.3)
    await application.initialize()
    yield application
    await application.shutdown()


async def feed(app: Application, update: dict) -> None:
    await app.process_update(UpdateFactory.to_update(update, app.bot))


# --------------------------------------------------------------------- in process
async def test_get_me(app: Application) -> None:
    assert (app.bot.id, app.bot.username, app.bot.first_name) == (
        777000001,
        "kefu_test_bot",
        "Kefu",
    )
    assert app.bot.can_join_groups and not app.bot.supports_inline_queries


async def test_echo_command_reply_and_markup(
    app: Application, fake: FakeTelegram, updates: UpdateFactory, user: dict
) -> None:
    incoming = updates.message(user, USER_ID, "/echo hello world")
    assert incoming["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 5}]
    await feed(app, incoming)

    sent = fake.last_to(USER_ID)
    assert sent is not None and sent.method == "sendMessage"
    assert sent.text == "hello world"
    assert sent.buttons == [[{"text": "Again", "callback_data": "again:hello world"}]]
    assert sent.result["chat"]["type"] == "private"
    assert sent.result["from"]["id"] == 777000001
    # Ids are shared by user and bot within a chat, as on Telegram.
    assert sent.message_id == incoming["message"]["message_id"] + 1
    assert [c.method for c in fake.calls()] == ["getMe", "sendMessage"]


async def test_group_command_with_bot_username(
    app: Application, fake: FakeTelegram, updates: UpdateFactory, user: dict
) -> None:
    updates.group_chat(GROUP_ID, "After-sales")
    incoming = updates.command(user, GROUP_ID, "echo", "hi")
    assert incoming["message"]["text"] == "/echo@kefu_test_bot hi"
    await feed(app, incoming)

    sent = fake.last_to(GROUP_ID)
    assert sent is not None and sent.text == "hi"
    assert sent.result["chat"] == {"id": GROUP_ID, "type": "supergroup", "title": "After-sales"}
    # PTB quotes in groups; the fake knows the incoming message, so the reply carries it.
    assert sent.result["reply_to_message"]["text"] == "/echo@kefu_test_bot hi"


async def test_callback_answer_and_edit(
    app: Application, fake: FakeTelegram, updates: UpdateFactory, user: dict
) -> None:
    await feed(app, updates.message(user, USER_ID, "/echo hi"))
    sent = fake.last_to(USER_ID)
    assert sent is not None
    press = updates.callback(user, sent, "again:hi", USER_ID)
    await feed(app, press)

    answer = fake.callback_answers[press["callback_query"]["id"]]
    assert (answer.text, answer.show_alert) == ("Done", True)
    [edit] = fake.edits
    assert (edit.chat_id, edit.message_id, edit.text) == (
        USER_ID,
        sent.message_id,
        "You pressed again:hi",
    )
    current = fake.message(USER_ID, sent.message_id)
    assert current is not None and current.text == "You pressed again:hi"
    assert current.reply_markup is None and "edit_date" in current.result  # keyboard removed
    assert fake.sent[-1].text == "hi"  # `sent` keeps what was sent
    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_text("You pressed again:hi", USER_ID, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await app.bot.edit_message_text("x", USER_ID, 999)
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_callback_query(press["callback_query"]["id"])


async def test_send_document_records_bytes(
    app: Application, fake: FakeTelegram, updates: UpdateFactory, user: dict
) -> None:
    await feed(app, updates.message(user, USER_ID, "/report"))
    sent = fake.last_to(USER_ID)
    assert sent is not None and sent.method == "sendDocument"
    assert (sent.filename, sent.file_bytes, sent.text) == (
        "kpi.csv",
        b"agent,score\r\nli,97\n",
        "KPI",
    )
    assert sent.result["document"]["file_name"] == "kpi.csv"

    again = await app.bot.send_document(USER_ID, sent.file_id)  # re-send by file_id
    assert again.document is not None and again.document.file_id == sent.file_id
    assert fake.sent[-1].file_bytes == sent.file_bytes

    photo = await app.bot.send_photo(USER_ID, b"\x89PNG fake", caption="chart")
    assert photo.photo and photo.caption == "chart"
    assert fake.sent[-1].method == "sendPhoto" and fake.sent[-1].file_bytes == b"\x89PNG fake"


async def test_copy_message_and_forum_topics(
    app: Application, fake: FakeTelegram, updates: UpdateFactory, user: dict
) -> None:
    incoming = updates.media(user, USER_ID, "voice", caption="listen")
    await feed(app, incoming)
    copied = await app.bot.copy_message(-100, USER_ID, incoming["message"]["message_id"])
    assert fake.sent[-1].method == "copyMessage" and fake.sent[-1].chat_id == -100
    assert fake.sent[-1].result["voice"]["file_id"] == incoming["message"]["voice"]["file_id"]
    assert fake.sent[-1].result["caption"] == "listen"
    assert copied.message_id == fake.sent[-1].message_id
    await app.bot.copy_message(-100, USER_ID, incoming["message"]["message_id"], caption="new")
    assert fake.sent[-1].result["caption"] == "new"
    sticker = updates.media(user, USER_ID, "sticker")
    with pytest.raises(BadRequest, match=r"(?i)copied with a caption"):
        await app.bot.copy_message(-100, USER_ID, sticker["message"]["message_id"], caption="x")
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await app.bot.copy_message(-100, USER_ID, 99999)
    fake.blocked(-100)
    with pytest.raises(Forbidden):
        await app.bot.copy_message(-100, USER_ID, incoming["message"]["message_id"])
    fake.unblock(-100)

    with pytest.raises(BadRequest, match=r"(?i)not a forum"):
        await app.bot.create_forum_topic(-100, "#1")
    updates.group_chat(-200, "Team", forum=True)
    topic = await app.bot.create_forum_topic(-200, "#1 Chen")
    thread = topic.message_thread_id
    sent = await app.bot.send_message(-200, "in the topic", message_thread_id=thread)
    assert sent.message_thread_id == thread and sent.is_topic_message
    with pytest.raises(BadRequest, match=r"(?i)thread not found"):
        await app.bot.send_message(-200, "nowhere", message_thread_id=thread + 100)
    assert await app.bot.close_forum_topic(-200, thread)
    assert fake.topics[(-200, thread)]["closed"] is True
    with pytest.raises(BadRequest, match=r"(?i)topic_not_modified"):
        await app.bot.close_forum_topic(-200, thread)
    assert await app.bot.reopen_forum_topic(-200, thread)
    assert fake.topics[(-200, thread)] == {"name": "#1 Chen", "closed": False}


@pytest.mark.parametrize(
    ("status", "error", "match"),
    [
        (403, Forbidden, "bot was blocked by the user"),
        (400, BadRequest, "Injected failure"),
        (500, NetworkError, "Internal Server Error"),
        (502, NetworkError, "Bad Gateway"),
    ],
)
async def test_injected_errors(
    app: Application, fake: FakeTelegram, status: int, error: type[TelegramError], match: str
) -> None:
    fake.fail("sendMessage", status=status)
    with pytest.raises(error, match=match):
        await app.bot.send_message(USER_ID, "hello")
    assert fake.sent == [] and fake.calls("sendMessage")[0].status == status
    await app.bot.send_message(USER_ID, "hello")  # times=1: the next call succeeds
    assert len(fake.sent) == 1


async def test_retry_after(
    app: Application, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # avoid PTB's int deprecation warning
    fake.fail("sendMessage", status=429, retry_after=7, times=2, chat_id=USER_ID)
    await app.bot.send_message(USER_ID + 1, "other chats are unaffected")
    for _ in range(2):
        with pytest.raises(RetryAfter) as info:
            await app.bot.send_message(USER_ID, "hello")
        assert info.value.retry_after == dtm.timedelta(seconds=7)
    await app.bot.send_message(USER_ID, "hello")
    assert [m.chat_id for m in fake.sent] == [USER_ID + 1, USER_ID]


async def test_blocked_user_is_forbidden_until_unblocked(
    app: Application, fake: FakeTelegram
) -> None:
    fake.blocked(USER_ID)
    for _ in range(3):
        with pytest.raises(Forbidden, match="blocked by the user"):
            await app.bot.send_message(USER_ID, "hello")
    fake.unblock(USER_ID)
    await app.bot.send_message(USER_ID, "hello")
    assert len(fake.sent) == 1 and len(fake.calls("sendMessage")) == 4


async def test_drop_and_delay(app: Application, fake: FakeTelegram) -> None:
    fake.drop("sendMessage")
    with pytest.raises(NetworkError, match="dropped"):
        await app.bot.send_message(USER_ID, "lost")
    assert fake.sent == []

    fake.delay("sendMessage", 0.05, times=1)  # below the 0.3 s read timeout: just slow
    await app.bot.send_message(USER_ID, "slow")
    fake.delay("sendMessage", 1.0, times=1)  # the client times out, Telegram still delivers
    with pytest.raises(TimedOut):
        await app.bot.send_message(USER_ID, "timed out but delivered")
    fake.delay("sendMessage", 1.0, times=1, executed=False)
    with pytest.raises(TimedOut):
        await app.bot.send_message(USER_ID, "never delivered")
    assert [m.text for m in fake.sent] == ["slow", "timed out but delivered"]


async def test_rate_limits() -> None:
    now = [0.0]
    fake = FakeTelegram(clock=lambda: now[0])
    fake.rate_limits()

    def send(chat_id: int) -> int:
        return fake.handle(TOKEN, "sendMessage", {"chat_id": chat_id, "text": "x"})[0]

    assert [send(USER_ID), send(USER_ID)] == [200, 429]  # 1 message per chat per second
    status, body = fake.handle(TOKEN, "sendMessage", {"chat_id": USER_ID, "text": "x"})
    assert body["parameters"] == {"retry_after": 1} and fake.too_many_requests_count == 2
    now[0] = 1.0
    assert send(USER_ID) == 200
    assert [send(chat) for chat in range(1, 31)].count(429) == 1  # 30 per second overall
    for i in range(20):  # 20 messages per minute in a group
        now[0] = 2.0 + i * 1.5
        assert send(GROUP_ID) == 200
    now[0] = 40.0
    status, body = fake.handle(TOKEN, "sendMessage", {"chat_id": GROUP_ID, "text": "x"})
    assert status == 429 and body["parameters"]["retry_after"] == 22  # 2 + 60 - 40
    assert fake.too_many_requests_count == 4
    assert len(fake.calls("sendMessage")) == 55 and len(fake.sent) == 51


async def test_rate_limits_through_ptb(
    app: Application, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.rate_limits(per_chat_per_second=1)
    await app.bot.send_message(USER_ID, "one")
    with pytest.raises(RetryAfter):
        await app.bot.send_message(USER_ID, "two")
    assert fake.too_many_requests_count == 1


async def test_get_updates_offsets_and_webhook(fake: FakeTelegram, updates: UpdateFactory) -> None:
    user = updates.user(1, "A")
    for text in ("a", "b", "c"):
        fake.push_update(updates.message(user, 1, text))

    def ids(**params: int) -> list[int]:
        status, body = fake.handle(TOKEN, "getUpdates", params)
        assert status == 200
        return [u["update_id"] for u in body["result"]]

    assert ids() == [1, 2, 3] and ids(limit=1) == [1]
    assert ids(offset=2) == [2, 3] and ids() == [2, 3]  # update 1 confirmed and forgotten
    assert ids(offset=-1) == [3] and ids() == [3]
    async with Bot(TOKEN, request=FakeRequest(fake), get_updates_request=FakeRequest(fake)) as bot:
        assert (await bot.get_webhook_info()).pending_update_count == 1
        await bot.set_webhook("https://example.invalid/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates(timeout=0) == ()


async def test_unknown_method_and_tokens(fake: FakeTelegram) -> None:
    assert fake.handle(TOKEN, "fooBar", {}) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    assert fake.handle("not-a-token", "getMe", {})[0] == 404
    assert fake.handle(TOKEN, "getme", {})[0] == 200  # method names are case-insensitive
    strict = build_app(FakeTelegram(token="999:OTHER"))
    with pytest.raises(InvalidToken):
        await strict.initialize()


async def test_telegram_validation(app: Application, fake: FakeTelegram) -> None:
    bot = app.bot
    with pytest.raises(BadRequest, match='unsupported start tag "ticket"'):
        await bot.send_message(USER_ID, "Hi <ticket>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"character '\.' is reserved"):
        await bot.send_message(USER_ID, "Refund rate 3.5%", parse_mode="MarkdownV2")
    await bot.send_message(USER_ID, "<b>Refund</b> &lt;3", parse_mode="HTML")
    await bot.send_message(
        USER_ID, r"*Refund* rate 3\.5% [doc](http://x.y/a.b)", parse_mode="MarkdownV2"
    )
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
        await bot.send_message(USER_ID, "too long data", reply_markup=markup)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER_ID, " ")
    assert len(fake.sent) == 2


async def test_commands_chat_info_and_leave(app: Application, fake: FakeTelegram) -> None:
    bot = app.bot
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands([("echo", "Echo text"), ("report", "KPI report")], scope=scope)
    assert [c["command"] for c in fake.commands['{"type": "all_private_chats"}']] == [
        "echo",
        "report",
    ]
    assert [c.command for c in await bot.get_my_commands(scope=scope)] == ["echo", "report"]
    assert await bot.get_my_commands() == ()
    await bot.delete_my_commands(scope=scope)
    assert fake.commands == {}
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Echo", "uppercase is rejected")])

    chat = await bot.get_chat(GROUP_ID)
    assert (chat.type, chat.title) == ("supergroup", f"Group {GROUP_ID}")
    assert (await bot.get_chat(USER_ID)).type == "private"
    fake.set_member(GROUP_ID, USER_ID, "administrator")
    assert isinstance(await bot.get_chat_member(GROUP_ID, USER_ID), ChatMemberAdministrator)
    assert (await bot.get_chat_member(GROUP_ID, 5)).status == "member"
    assert await bot.send_chat_action(GROUP_ID, "typing")
    assert await bot.delete_message(GROUP_ID, (await bot.send_message(GROUP_ID, "x")).message_id)
    assert await bot.leave_chat(GROUP_ID)
    with pytest.raises(Forbidden, match="not a member"):
        await bot.send_message(GROUP_ID, "still here?")


async def test_polling_in_process(fake: FakeTelegram, updates: UpdateFactory, user: dict) -> None:
    app = build_app(fake)
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake.push_update(updates.message(user, USER_ID, "/echo polled"))
        await eventually(lambda: fake.last_to(USER_ID))
        await app.updater.stop()
        await app.stop()
    assert fake.last_to(USER_ID).text == "polled"


# --------------------------------------------------------------------- over HTTP
async def test_http_polling_echo() -> None:
    with FakeBotApiServer() as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
        app = add_handlers(Application.builder().token(TOKEN).base_url(server.base_url).build())
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            updates = UpdateFactory()
            user = updates.user(USER_ID, "Li")
            server.telegram.push_update(updates.message(user, USER_ID, "/echo over http"))
            await eventually(lambda: server.telegram.last_to(USER_ID))
            await app.updater.stop()
            await app.stop()
        sent = server.telegram.last_to(USER_ID)
        assert sent is not None and sent.text == "over http"
        assert sent.buttons == [[{"text": "Again", "callback_data": "again:over http"}]]
        assert "getUpdates" in {c.method for c in server.telegram.calls()}


async def test_http_multipart_form_and_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    payload = bytes(range(256)) + b"\r\n--boundary-like\r\n"
    with FakeBotApiServer() as server:
        fake = server.telegram
        request = HTTPXRequest(read_timeout=0.5)
        async with Bot(TOKEN, base_url=server.base_url, request=request) as bot:
            msg = await bot.send_document(
                USER_ID, payload, filename='报表 "Q1".csv', caption="123", reply_to_message_id=7
            )
            assert msg.document is not None and msg.document.file_size == len(payload)
            sent = fake.last_to(USER_ID)
            assert sent is not None
            assert (sent.filename, sent.file_bytes, sent.caption) == (
                '报表 "Q1".csv',
                payload,
                "123",
            )
            assert sent.params["reply_parameters"] == {"message_id": 7}

            await bot.send_message(
                USER_ID,
                "42",
                reply_markup=InlineKeyboardMarkup.from_button(
                    InlineKeyboardButton("ok", callback_data="1")
                ),
            )
            sent = fake.last_to(USER_ID)
            assert sent is not None and sent.text == "42"  # form fields: strings stay strings
            assert sent.reply_markup == {
                "inline_keyboard": [[{"text": "ok", "callback_data": "1"}]]
            }

            fake.fail("sendMessage", status=429, retry_after=3)
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(USER_ID, "x")
            assert info.value.retry_after == dtm.timedelta(seconds=3)
            fake.drop("sendMessage")
            with pytest.raises(NetworkError):
                await bot.send_message(USER_ID, "x")
            fake.delay("sendMessage", 1.0, executed=False)
            with pytest.raises(TimedOut):
                await bot.send_message(USER_ID, "x")
            assert len(fake.sent) == 2


async def test_http_long_poll_json_bodies_and_loopback() -> None:
    with FakeBotApiServer() as server:
        assert server.port > 0 and server._server.server_address[0] == "127.0.0.1"
        url = f"{server.base_url}{TOKEN}"
        async with httpx.AsyncClient(timeout=5) as client:
            # A pending long poll must not block other requests, and must wake up on push.
            poll = asyncio.create_task(client.post(f"{url}/getUpdates", json={"timeout": 5}))
            await asyncio.sleep(0.1)
            sent = await client.post(f"{url}/sendMessage", json={"chat_id": 7, "text": "123"})
            assert sent.json()["result"]["text"] == "123" and not poll.done()
            server.telegram.push_update(
                {"message": {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}}}
            )
            assert [u["update_id"] for u in (await poll).json()["result"]] == [1]

            empty = await client.post(f"{url}/getUpdates", data={"offset": "2", "timeout": "0.2"})
            assert empty.json() == {"ok": True, "result": []}
            assert (await client.get(f"{url}/getMe")).json()["result"][
                "username"
            ] == "kefu_test_bot"
            missing = await client.get(f"http://127.0.0.1:{server.port}/nothing")
            assert missing.status_code == 404 and missing.json()["description"] == "Not Found"
