"""Telegram's overall flood limit: `[telegram] messages_per_second`, kept over any one second."""

from __future__ import annotations

import time

from tests.harness import Kefu, Person, settings_for

TEAM = [Person(6100 + n, f"Agent {n}", f"agent_{n}") for n in range(12)]


async def test_replies_keep_to_the_configured_rate_over_any_second(db_url: str) -> None:
    # Five a second, as a bot might be told; Telegram (the fake) refuses the sixth in any
    # one second with a 429. PTB's leaky bucket would let nine through in the first second.
    settings = settings_for(
        db_url,
        telegram={"messages_per_second": 5},
        team={"agents": [p.user_id for p in TEAM]},
    )
    kefu = await Kefu(settings).start()
    try:
        kefu.telegram.rate_limits(
            per_second_overall=5, per_chat_per_second=None, per_group_per_minute=None
        )
        burst = [
            kefu.updates.message(who.json, who.user_id, f"/ticket Parcel {n} broken")
            for n, who in enumerate(TEAM)
        ]
        start = time.monotonic()
        sent = await kefu.burst(burst)
        seconds = time.monotonic() - start
    finally:
        await kefu.stop()

    answered = {m.chat_id for m in sent if (m.text or "").startswith("Ticket #")}
    assert answered == {p.user_id for p in TEAM}
    assert kefu.telegram.too_many_requests_count == 0
    # Twelve at five a second: five at once, five a window later, two a window after that.
    assert seconds >= 2 * 1.0
