"""The Bot API over aiohttp (bot/process/transport.py), against the fake Bot API served over HTTP."""

from __future__ import annotations

import datetime as dtm

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.process.transport import AiohttpRequest
from tests.fakebot import FakeBotApiServer, UpdateFactory
from tests.harness import TOKEN

USER_ID = 5550001


@pytest.mark.parametrize("keep_alive", [True, False], ids=["keep-alive", "close"])
async def test_calls_uploads_and_faults_over_http(
    keep_alive: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    payload = bytes(range(256)) + b"\r\n--boundary-like\r\n"
    with FakeBotApiServer(keep_alive=keep_alive) as server:
        fake = server.telegram
        request = AiohttpRequest(read_timeout=0.5)
        async with Bot(TOKEN, base_url=server.base_url, request=request) as bot:
            assert bot.username == "kefu_test_bot"  # getMe, on initialize

            # One JSON body: values keep their types, text that looks like a number stays text.
            keyboard = InlineKeyboardMarkup.from_column(
                [
                    InlineKeyboardButton("是", callback_data="y:1"),
                    InlineKeyboardButton("no", url="https://t.me/x"),
                ]
            )
            await bot.send_message(USER_ID, "42", reply_markup=keyboard, disable_notification=True)
            [call] = fake.calls("sendMessage")
            assert call.params["chat_id"] == USER_ID and call.params["text"] == "42"
            assert call.params["disable_notification"] is True
            assert call.params["reply_markup"] == {
                "inline_keyboard": [
                    [{"text": "是", "callback_data": "y:1"}],
                    [{"text": "no", "url": "https://t.me/x"}],
                ]
            }

            # A file goes as multipart/form-data: bytes, a name with quotes and a backslash
            # (aiohttp escapes them as quoted pairs), and the text fields beside it.
            name = 'chart "May" \\ 五月.png'
            photo = await bot.send_photo(
                USER_ID, payload, filename=name, caption="07", parse_mode="HTML"
            )
            assert photo.photo and photo.caption == "07"  # a string field stays a string
            upload = fake.last_to(USER_ID)
            assert upload is not None and upload.method == "sendPhoto"
            assert (upload.filename, upload.file_bytes) == (name, payload)
            assert upload.params["parse_mode"] == "HTML"

            # Error statuses become PTB's exceptions; transport failures its network errors.
            fake.fail("sendMessage", status=429, retry_after=3)
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(USER_ID, "x")
            assert info.value.retry_after == dtm.timedelta(seconds=3)
            fake.fail("sendMessage", status=400, description="Bad Request: chat not found")
            with pytest.raises(BadRequest, match="Chat not found"):
                await bot.send_message(USER_ID, "x")
            fake.drop("sendMessage")
            with pytest.raises(NetworkError):
                await bot.send_message(USER_ID, "x")
            fake.delay("sendMessage", 1.5, times=1, executed=False)
            with pytest.raises(TimedOut):
                await bot.send_message(USER_ID, "x")
            # The connection pool recovers from the dropped and timed-out connections.
            await bot.send_message(USER_ID, "after")
            # Nothing is retried underneath: each failure was one call (the timed-out one
            # never reached the fake's books: `executed=False`).
            assert [c.status for c in fake.calls("sendMessage")] == [200, 429, 400, 0, 200]
            assert [m.text for m in fake.sent_to(USER_ID)] == ["42", "07", "after"]


async def test_long_polling_over_http() -> None:
    with FakeBotApiServer(keep_alive=True) as server:
        updates = UpdateFactory(server.telegram)
        user = UpdateFactory.user(USER_ID, "Ann")
        async with Bot(
            TOKEN,
            base_url=server.base_url,
            request=AiohttpRequest(),
            get_updates_request=AiohttpRequest(connection_pool_size=1),
        ) as bot:
            server.telegram.push_update(updates.message(user, USER_ID, "/ticket hello"))
            [update] = await bot.get_updates(timeout=5)
            assert update.message is not None and update.message.text == "/ticket hello"
            assert update.message.from_user is not None and update.message.from_user.id == USER_ID
            # Confirmed: an empty long poll answers after its timeout, not at once, not never.
            assert await bot.get_updates(offset=update.update_id + 1, timeout=1) == ()


async def test_an_uninitialised_transport_says_so() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:9/bot", "POST")


def test_proxies_come_from_the_environment_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    request = AiohttpRequest()
    assert request._proxy("https://api.telegram.org/bot1:x/sendMessage") == (
        "http://proxy.internal:3128"
    )
    assert request._proxy("http://127.0.0.1:8081/bot1:x/sendMessage") is None
    # Looked up once: a change of environment later does not reach a running bot.
    monkeypatch.setenv("HTTPS_PROXY", "http://other:1")
    assert request._proxy("https://api.telegram.org/bot1:x/getMe") == "http://proxy.internal:3128"
