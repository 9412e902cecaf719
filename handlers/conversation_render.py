"""How the conversation reads in chat: relayed messages, answers, confirmations, nudges."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import N_, _
from bot.models import Direction
from bot.outbox.notices import Outgoing
from bot.services.conversation import MAX_CAPTION, MAX_TEXT, Choice, Line, Page, Relayed, Waiting
from handlers.markup import duration, esc, mention

PICK_PREFIX = "conv:pick:"
PICK_PATTERN = r"^conv:pick:\d{1,9}$"
TAKE_PREFIX = "conv:take:"
TAKE_PATTERN = r"^conv:take:\d{1,9}$"
OLDER_PREFIX = "conv:older:"
OLDER_PATTERN = r"^conv:older:\d{1,9}:\d{1,12}$"
# Kinds whose copy can carry a caption (stickers and round videos cannot).
CAPTIONED = frozenset({"photo", "document", "voice", "video", "audio", "animation"})
KIND_NAMES = {
    "text": N_("text"),
    "photo": N_("photo"),
    "document": N_("document"),
    "voice": N_("voice message"),
    "video": N_("video"),
    "audio": N_("audio"),
    "animation": N_("animation"),
    "video_note": N_("video message"),
    "sticker": N_("sticker"),
}


def kind_name(kind: str) -> str:
    return _(KIND_NAMES.get(kind, kind))


def _with_body(
    heading: str,
    relay: Relayed,
    thread_id: int | None = None,
    buttons: InlineKeyboardMarkup | None = None,
) -> Outgoing:
    """A heading plus the message: one text, or the copy captioned with the heading."""
    body = esc(relay.text) if relay.text else ""
    joined = f"{heading}\n{body}" if body else heading
    if relay.kind == "text":
        if len(joined) <= MAX_TEXT:
            return Outgoing(joined, thread_id=thread_id, reply_markup=buttons)
        return Outgoing(heading, copy_from=relay.source, thread_id=thread_id, reply_markup=buttons)
    fits = relay.kind in CAPTIONED and len(joined) <= MAX_CAPTION
    return Outgoing(
        joined if fits else heading,
        copy_from=relay.source,
        as_caption=fits,
        thread_id=thread_id,
        reply_markup=buttons,
    )


def relayed_to_team(relay: Relayed, thread_id: int | None) -> Outgoing:
    """A customer's message as the team sees it, headed #N and the customer's name."""
    # Language-free: a number and a name.
    heading = f"<b>#{relay.number}</b> · {esc(relay.customer_name)}"
    if relay.after_resolution:
        heading += " · " + _("<i>ticket already resolved</i>")
    buttons = None
    if relay.unassigned:
        heading += " · " + _("<i>new ticket, not taken yet</i>")
        label = _("Take #%(number)s") % {"number": relay.number}
        buttons = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=f"{TAKE_PREFIX}{relay.number}")]]
        )
    return _with_body(heading, relay, thread_id, buttons)


def answer_to_customer(relay: Relayed, *, signed: bool) -> Outgoing:
    """An agent's answer as the customer sees it: the ticket number, the name if signed."""
    if signed and relay.author_name:
        heading = f"<b>#{relay.number} · {esc(relay.author_name)}</b>"
    else:
        heading = f"<b>#{relay.number}</b>"
    if relay.kind not in CAPTIONED and relay.kind != "text" and not signed:
        return Outgoing("", copy_from=relay.source)
    return _with_body(heading, relay)


def delivered(relay: Relayed, reply_to: int | None) -> Outgoing:
    text = _("Delivered to %(customer)s (#%(number)s).") % {
        "customer": esc(relay.customer_name),
        "number": relay.number,
    }
    return Outgoing(text, reply_to=reply_to)


def undelivered(relay: Relayed, reason: str, reply_to: int | None) -> Outgoing:
    if "block" in reason.lower():
        text = _(
            "Could not deliver your answer on #%(number)s to %(customer)s: the customer has "
            "blocked the bot. The answer is kept on the ticket."
        )
    else:
        text = _(
            "Could not deliver your answer on #%(number)s to %(customer)s (Telegram refused it). "
            "The answer is kept on the ticket."
        )
    return Outgoing(
        text % {"number": relay.number, "customer": esc(relay.customer_name)}, reply_to=reply_to
    )


def reminder(found: Waiting, *, in_team_chat: bool) -> str:
    if not found.taken:
        return _unclaimed(found)
    text = _(
        "%(customer)s has been waiting %(waited)s for an answer on #%(number)s. Reply to their "
        "message, or /reply %(number)s followed by your answer."
    ) % {
        "customer": esc(found.customer_name),
        "waited": duration(found.waited),
        "number": found.number,
    }
    if in_team_chat:
        text = mention(found.agent.user_id, found.agent.name) + ": " + text
    return text


def _unclaimed(found: Waiting) -> str:
    return _(
        "%(customer)s has been waiting %(waited)s for an answer on #%(number)s, which nobody "
        "has taken yet."
    ) % {
        "customer": esc(found.customer_name),
        "waited": duration(found.waited),
        "number": found.number,
    }


def escalation(found: Waiting) -> str:
    if not found.taken:
        return _unclaimed(found)
    return _(
        "No answer yet: %(customer)s has waited %(waited)s on #%(number)s (agent: %(agent)s)."
    ) % {
        "customer": esc(found.customer_name),
        "waited": duration(found.waited),
        "number": found.number,
        "agent": mention(found.agent.user_id, found.agent.name),
    }


def choose(
    choices: tuple[Choice, ...] | list[Choice], *, first: bool = True
) -> tuple[str, InlineKeyboardMarkup]:
    """Which ticket is this about? One button per open ticket."""
    text = (
        _("You have several open tickets. Which one is your message about?")
        if first
        else _("Which ticket are you writing about?")
    )
    rows = [
        [
            InlineKeyboardButton(
                f"#{choice.number} {_short(choice.description)}",
                callback_data=f"{PICK_PREFIX}{choice.number}",
            )
        ]
        for choice in choices
    ]
    return text, InlineKeyboardMarkup(rows)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def picked(number: int, relayed: int) -> str:
    text = _("Thank you. Your messages now go to ticket #%(number)s.") % {"number": number}
    if relayed:
        text += " " + _("I passed on what you sent.")
    return text + "\n" + _("To write about another ticket, send /switch.")


def after_resolution(number: int) -> str:
    return _(
        "Your ticket #%(number)s is already resolved; I passed your message on to the team."
    ) % {"number": number}


def slow_down() -> str:
    return _(
        "You are sending messages quickly. I have kept all of them and will pass them on in a "
        "minute; there is no need to send them again."
    )


def intake_opened(number: int) -> str:
    return _("Thank you. We opened ticket #%(number)s for you; an agent will answer you here.") % {
        "number": number
    }


def taken(number: int, agent: str, *, already: bool) -> str:
    if already:
        return _("#%(number)s was already taken by %(agent)s.") % {
            "number": number,
            "agent": esc(agent),
        }
    return _("#%(number)s is now assigned to %(agent)s.") % {"number": number, "agent": esc(agent)}


def no_ticket() -> str:
    return _(
        "Hello! To reach our after-sales team, please open the ticket link your agent sent you. "
        "If you have not received one, contact the shop's customer service first."
    )


def conversation(page: Page, tz: tzinfo, now: datetime) -> str:
    """The conversation part of /show: the latest messages, first response, waiting now."""
    lines = [_("<b>Conversation</b> (%(count)s messages)") % {"count": page.total}]
    if page.first_response_minutes is not None:
        lines.append(
            _("First response: %(time)s")
            % {"time": duration(timedelta(minutes=page.first_response_minutes))}
        )
    if page.waiting_since is not None:
        lines.append(
            _("⏳ The customer is waiting for an answer (%(waited)s).")
            % {"waited": duration(now - page.waiting_since)}
        )
    elif page.total:
        lines.append(_("Nobody is waiting for an answer."))
    if page.customer_blocked:
        lines.append(_("⚠️ The customer has blocked the bot; answers cannot reach them."))
    lines.extend(message_line(line, tz) for line in page.lines)
    return "\n".join(lines)


def message_line(line: Line, tz: tzinfo) -> str:
    arrow = "←" if line.direction is Direction.IN else "→"
    when = line.at.astimezone(tz).strftime("%m-%d %H:%M")
    body = esc(_short(line.text, 200)) if line.text else ""
    if line.kind != "text":
        body = f"[{kind_name(line.kind)}] {body}".strip()
    mark = " ✗" if line.status == "undeliverable" else ""
    return f"{arrow} {when} {esc(line.author)}: {body}{mark}"


def older_button(number: int, before: int | None) -> InlineKeyboardMarkup | None:
    if before is None:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Older messages"), callback_data=f"{OLDER_PREFIX}{number}:{before}"
                )
            ]
        ]
    )
