"""Text as the chat shows it: escaped HTML, mentions, times, ages, days, the names of a
ticket's status and category.

Nothing here imports Telegram, so what renders a digest or a report for the command line
(`kefu digest`, `kefu demo`) does not pay python-telegram-bot's import.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta, tzinfo

from bot.i18n import N_, _
from bot.models import Category, TicketStatus


def esc(value: object) -> str:
    """User text inside our HTML messages."""
    return html.escape(str(value), quote=False)


def mention(user_id: int, name: str) -> str:
    return f'<a href="tg://user?id={user_id}">{esc(name)}</a>'


def team_time(moment: datetime, tz: tzinfo, *, year: bool = True) -> str:
    """A moment as the team reads it, in the team's zone: every time shown goes through here."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M" if year else "%m-%d %H:%M")


STATUS_NAMES = {
    TicketStatus.OPEN: N_("open"),
    TicketStatus.RESOLVED: N_("resolved"),
    TicketStatus.CLOSED: N_("closed"),
}
CATEGORY_NAMES = {
    Category.PRODUCT: N_("product"),
    Category.LOGISTICS: N_("logistics"),
    Category.SERVICE: N_("service"),
    Category.OTHER: N_("other"),
}


def status_name(status: TicketStatus) -> str:
    return _(STATUS_NAMES[status])


def category_name(category: Category) -> str:
    return _(CATEGORY_NAMES[category])


def days(value: float) -> str:
    """A configured number of days as people write it: 3, 2.5."""
    return f"{value:g}"


def duration(delta: timedelta) -> str:
    """A short age such as "4d 3h" or "35m"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)sd %(hours)sh") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)sh %(minutes)sm") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)sm") % {"minutes": minutes}
