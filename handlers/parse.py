"""Turning what people type into values, with a clear refusal for everything else."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.i18n import N_
from bot.models import Category
from bot.services.errors import InvalidInput
from bot.services.tickets import NewTicket
from scoring.months import month_from_text

CATEGORY_WORDS: dict[str, Category] = {
    "product": Category.PRODUCT,
    "商品": Category.PRODUCT,
    "logistics": Category.LOGISTICS,
    "物流": Category.LOGISTICS,
    "service": Category.SERVICE,
    "服务": Category.SERVICE,
    "服務": Category.SERVICE,
    "售后": Category.SERVICE,
    "售後": Category.SERVICE,
    "other": Category.OTHER,
    "其他": Category.OTHER,
}

# `key:value` options anywhere in the text; the full-width colon is what Chinese keyboards type.
_OPTION = re.compile(r"(?<!\S)(order|cat|customer|received)[:：](\S+)", re.IGNORECASE)
_NUMBER = re.compile(r"^#?(\d{1,9})$")
MAX_TICKET_NUMBER = 2_000_000_000
EARLIEST_YEAR = 2000


def ticket_number(text: str | None) -> int:
    """`12` or `#12` → 12."""
    match = _NUMBER.match((text or "").strip())
    if not match or not 0 < int(match.group(1)) < MAX_TICKET_NUMBER:
        raise InvalidInput(
            N_("“%(text)s” is not a ticket number; write it as 12 or #12."), text=_clip(text or "")
        )
    return int(match.group(1))


def category(word: str) -> Category:
    found = CATEGORY_WORDS.get(word.strip().lower())
    if found is None:
        raise InvalidInput(
            N_("Unknown category “%(word)s”; use product, logistics, service or other."),
            word=_clip(word),
        )
    return found


def received_at(text: str, tz: ZoneInfo) -> datetime:
    """`received:` — `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` in the team's time zone."""
    return moment(text, tz, key="received")


def moment(text: str, tz: ZoneInfo, *, key: str) -> datetime:
    """The value of a `key:` date option, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, in the team's
    time zone (a day alone is its midnight)."""
    try:
        if "T" in text or " " in text:
            moment = datetime.fromisoformat(text.replace(" ", "T"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
        else:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=tz)
    except ValueError:
        raise InvalidInput(
            N_("“%(text)s” is not a date; write %(key)s:YYYY-MM-DD or %(key)s:YYYY-MM-DDTHH:MM."),
            text=_clip(text),
            key=key,
        ) from None
    # Year 1 cannot even be turned into UTC for storage; nothing after-sales is that old.
    if moment.year < EARLIEST_YEAR:
        raise InvalidInput(
            N_("“%(text)s” is too long ago for a ticket; check the year."), text=_clip(text)
        )
    return moment


def new_ticket(text: str, tz: ZoneInfo) -> NewTicket:
    """`/ticket <description> [order:REF] [cat:CATEGORY] [customer:NAME] [received:DATE]`."""
    options: dict[str, str] = {}
    for match in _OPTION.finditer(text):
        key = match.group(1).lower()
        if key in options:
            raise InvalidInput(N_("“%(key)s:” is given twice."), key=key)
        options[key] = match.group(2)
    description = " ".join(_OPTION.sub(" ", text).split())
    return NewTicket(
        description=description,
        category=category(options["cat"]) if "cat" in options else Category.OTHER,
        order_ref=options.get("order"),
        customer_name=options.get("customer"),
        received_at=received_at(options["received"], tz) if "received" in options else None,
    )


def _clip(text: str, limit: int = 40) -> str:
    text = "".join(ch if ch.isprintable() else "�" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def month(text: str) -> date:
    """`YYYY-MM` → the first day of that month."""
    found = month_from_text(text)
    if found is None:
        raise InvalidInput(
            N_("“%(text)s” is not a month; write it as YYYY-MM, e.g. 2026-03."),
            text=text.strip()[:40],
        )
    return found
