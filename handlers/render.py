"""How tickets and their fields read in chat."""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.i18n import _
from bot.services.tickets import TicketView
from handlers.markup import category_name, duration, esc, status_name, team_time
from handlers.survey_render import state_line


def summary(ticket: TicketView, limit: int = 60) -> str:
    text = (
        ticket.description
        if len(ticket.description) <= limit
        else ticket.description[: limit - 1] + "…"
    )
    return esc(text)


def line(ticket: TicketView, now: datetime) -> str:
    """One line of a ticket list."""
    return _("#%(number)s · %(status)s · %(age)s · %(agent)s — %(summary)s") % {
        "number": ticket.number,
        "status": status_name(ticket.status),
        "age": duration(ticket.age(now)),
        "agent": esc(ticket.agent_name),
        "summary": summary(ticket, 50),
    }


def card(ticket: TicketView, now: datetime, tz: tzinfo, *, with_notes: bool = True) -> str:
    """The full ticket, as /show answers it, its times in the team's zone `tz`."""
    customer = esc(ticket.customer_name) if ticket.customer_name else _("unknown")
    linked = _("linked") if ticket.customer_linked else _("not linked yet")
    lines = [
        _("<b>Ticket #%(number)s</b> · %(status)s · %(category)s")
        % {
            "number": ticket.number,
            "status": status_name(ticket.status),
            "category": category_name(ticket.category),
        },
        esc(ticket.description),
        _("Customer: %(customer)s (%(linked)s)") % {"customer": customer, "linked": linked},
        _("Order: %(order)s") % {"order": esc(ticket.order_ref) if ticket.order_ref else "—"},
        _("Agent: %(agent)s") % {"agent": esc(ticket.agent_name)},
        _("Received: %(when)s (%(age)s)")
        % {"when": team_time(ticket.received_at, tz), "age": duration(ticket.age(now))},
    ]
    if ticket.quality is not None:
        lines.append(_("Quality: %(quality)s") % {"quality": ticket.quality})
    if ticket.survey is not None:
        lines.append(state_line(ticket.survey, customer_linked=ticket.customer_linked, tz=tz))
    if with_notes and ticket.notes:
        lines.append(_("Notes:"))
        lines.extend(f"• {esc(note.author)}: {esc(note.text)}" for note in ticket.notes)
    return "\n".join(lines)
