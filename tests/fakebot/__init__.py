"""A local fake of the Telegram Bot API for testing bots built on python-telegram-bot."""

from .request import FakeRequest
from .server import FakeBotApiServer
from .telegram import (
    BOT_FIRST_NAME,
    BOT_ID,
    BOT_USERNAME,
    Call,
    CallbackAnswer,
    ConnectionDropped,
    Edit,
    FakeTelegram,
    SentMessage,
    UploadedFile,
)
from .updates import UpdateFactory, command_entities

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USERNAME",
    "Call",
    "CallbackAnswer",
    "ConnectionDropped",
    "Edit",
    "FakeBotApiServer",
    "FakeRequest",
    "FakeTelegram",
    "SentMessage",
    "UpdateFactory",
    "UploadedFile",
    "command_entities",
]
