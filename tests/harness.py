"""Kefu in memory: the real Application, a real database, and a fake Telegram to talk to.

A test says what a person types and reads back what each chat received, in the spirit of
Errbot's `testbot`:

    sent = await kefu.say(AGENT, "/ticket Parcel broken order:A1", chat=TEAM_CHAT)
    assert "Ticket #1 logged" in sent[0].text
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings
from bot.outbox.dispatcher import deliver_due
from bot.process.runtime import Runtime
from tests.fakebot import FakeRequest, FakeTelegram, SentMessage, UpdateFactory

TOKEN = "123456:TEST-token-abcdefghijklmnopqrstuvwxyz"
TEAM_CHAT = -1001000000001
OTHER_GROUP = -1001000000999


@dataclass(frozen=True)
class Person:
    user_id: int
    first_name: str
    username: str | None
    language_code: str | None = "en"

    @property
    def json(self) -> dict[str, Any]:
        return UpdateFactory.user(self.user_id, self.first_name, self.username, self.language_code)


MANAGER = Person(1001, "Mia", "mia_manager")
AGENT = Person(2001, "Alex", "alex_agent")
AGENT2 = Person(2002, "Bo", "bo_agent")
CUSTOMER = Person(3001, "Chen", "chen_customer", "zh-hans")
CUSTOMER_EN = Person(3002, "Dana", "dana_customer", "en")
STRANGER = Person(4001, "Eve", "eve_stranger")


def settings_for(db_url: str, **sections: dict[str, Any]) -> Settings:
    """Settings for a test team: one manager, two agents, the team chat configured."""
    base: dict[str, Any] = {
        "telegram": {"token": TOKEN},
        "database": {"url": db_url},
        "team": {
            "chat_id": TEAM_CHAT,
            "managers": [MANAGER.user_id],
            "agents": [AGENT.user_id, AGENT2.user_id],
        },
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return Settings(**base)


class Kefu:
    """One running bot under test."""

    def __init__(self, settings: Settings, telegram: FakeTelegram | None = None) -> None:
        self.settings = settings
        self.telegram = telegram or FakeTelegram()
        self.updates = UpdateFactory(self.telegram)
        self.updates.group_chat(TEAM_CHAT, "After-sales team")
        self.app: Application = build_application(settings, request=FakeRequest(self.telegram))  # type: ignore[type-arg]

    @property
    def runtime(self) -> Runtime:
        return self.app.bot_data["runtime"]

    async def start(self) -> Kefu:
        await self.app.initialize()
        assert self.app.post_init is not None
        await self.app.post_init(self.app)
        return self

    async def stop(self) -> None:
        await self.app.shutdown()
        assert self.app.post_shutdown is not None
        await self.app.post_shutdown(self.app)

    async def process(self, update: dict[str, Any]) -> list[SentMessage]:
        """Feed one update through the Application, deliver what it queued, return what was sent."""
        before = len(self.telegram.sent)
        await self.app.process_update(UpdateFactory.to_update(update, self.app.bot))
        await self.deliver()
        return self.telegram.sent[before:]

    async def burst(self, updates: list[dict[str, Any]]) -> list[SentMessage]:
        """Feed updates through the update queue of the started Application, the way the
        poller and the webhook do (side by side, as `kefu run` handles them); wait until all
        are finished, deliver what they queued, and return everything that was sent."""
        before = len(self.telegram.sent)
        await self.app.start()
        try:
            for update in updates:
                await self.app.update_queue.put(UpdateFactory.to_update(update, self.app.bot))
            await self.app.update_queue.join()
        finally:
            await self.app.stop()
        await self.deliver()
        return self.telegram.sent[before:]

    async def deliver(self) -> int:
        """Run the outbox once, as the scheduler would."""
        return await deliver_due(self.app.bot, self.runtime)

    async def run_job(self, name: str) -> None:
        """Run a scheduled job once, now, as the JobQueue would; its errors reach the test."""
        assert self.app.job_queue is not None
        [job] = self.app.job_queue.get_jobs_by_name(name)
        await job.callback(self.app.context_types.context.from_job(job, self.app))

    async def say(
        self,
        who: Person,
        text: str,
        *,
        chat: int | None = None,
        reply_to: dict[str, Any] | SentMessage | None = None,
        topic: dict[str, Any] | None = None,
    ) -> list[SentMessage]:
        """`who` types `text` in `chat` (their private chat by default), in a forum `topic`
        (an update from `kefu.updates.forum_topic`) when given."""
        chat_id = who.user_id if chat is None else chat
        update = self.updates.message(who.json, chat_id, text, reply_to=reply_to, topic=topic)
        self.last_incoming = update["message"]
        return await self.process(update)

    async def press(self, who: Person, message: SentMessage, data: str) -> list[SentMessage]:
        """`who` taps the button carrying `data` on a message the bot sent."""
        return await self.process(self.updates.callback(who.json, message, data))

    async def press_label(self, who: Person, message: SentMessage, label: str) -> list[SentMessage]:
        """Tap a button by its visible label."""
        for row in message.buttons:
            for button in row:
                if button["text"] == label:
                    return await self.press(who, message, button["callback_data"])
        labels = [button["text"] for row in message.buttons for button in row]
        raise AssertionError(f"no button {label!r} on the message; it has {labels}")

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return self.telegram.sent_to(chat_id)

    def texts_to(self, chat_id: int) -> list[str]:
        return [m.text or "" for m in self.telegram.sent_to(chat_id)]

    def last_answer(self) -> str | None:
        answers = list(self.telegram.callback_answers.values())
        return answers[-1].text if answers else None


def only(messages: list[SentMessage]) -> SentMessage:
    assert len(messages) == 1, f"expected one message, got {[m.text for m in messages]}"
    return messages[0]
