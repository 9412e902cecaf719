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

            # JSON body: values keep their types; strings that look like numbers stay text.
            await bot.send_message(
                USER_ID,
                "42",
                reply_markup=InlineKeyboardMarkup.from_button(
                    InlineKeyboardButton("ok", callback_data="1")
                ),
            )
            sent = fake.last_to(USER_ID)
            assert sent is not None and sent.text == "42"
            assert sent.reply_markup == {
                "inline_keyboard": [[{"text": "ok", "callback_data": "1"}]]
            }
            assert fake.calls("sendMessage")[-1].params["chat_id"] == USER_ID

            # A file goes as multipart/form-data, bytes and name intact.
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
            assert [m.text for m in fake.sent_to(USER_ID)] == ["42", "123", "after"]


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
