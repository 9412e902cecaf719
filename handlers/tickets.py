"""The ticket conversation: log, list, show, note, assign, resolve, reopen."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, MessageHandler, filters
from telegram.helpers import create_deep_linked_url

from bot import clock
from bot.i18n import N_, _
from bot.models import Category, Role
from bot.outbox.notices import Notice, Outgoing
from bot.process.runtime import Runtime
from bot.process.sending import transient
from bot.services import conversation, flows, tickets
from bot.services.errors import Conflict, InvalidInput
from bot.services.team import SeenUser
from bot.services.tickets import NewTicket, Scope, TicketView
from handlers import conversation_render, customers, markup, parse, render
from handlers.common import (
    Caller,
    Context,
    Where,
    answer_button,
    button,
    command,
    command_handler,
    drop_keyboard,
    handled_with_work,
    named_member,
    replied_user,
    reply,
    runtime,
)
from handlers.markup import esc
from handlers.observe import log_fields

log = logging.getLogger(__name__)

TICKET_FLOW = "ticket"


def _customer_from_reply(update: Update, caller: Caller) -> SeenUser | None:
    """`/ticket` sent as a reply in a group links the person replied to."""
    if caller.private:
        return None
    author = replied_user(update)
    if author is None or author.user_id == caller.user_id:
        return None
    return author


async def _log(
    update: Update, context: Context, caller: Caller, new: NewTicket, customer: SeenUser | None
) -> None:
    """Log the ticket, the update counting as handled in the same transaction; then say so."""
    created = await tickets.create(
        runtime(context).db,
        creator_id=caller.user_id,
        new=new,
        customer=customer,
        origin_chat_id=caller.chat_id,
        update_id=update.update_id,
    )
    handled_with_work(context)
    await _logged(update, context, created)


async def _logged(update: Update, context: Context, ticket: TicketView) -> None:
    log.info("ticket #%s logged", ticket.number, extra=log_fields(update, ticket=ticket.number))
    link = create_deep_linked_url(context.bot.username, ticket.link_token)
    if ticket.customer_linked:
        text = _("Ticket #%(number)s logged (%(category)s) and linked to %(customer)s.")
    else:
        text = _(
            "Ticket #%(number)s logged (%(category)s).\n"
            "Forward this link to the customer so they can follow the ticket and rate the service:\n%(link)s"
        )
    text %= {
        "number": ticket.number,
        "category": markup.category_name(ticket.category),
        "customer": esc(ticket.customer_name or ""),
        "link": link,
    }
    try:
        await reply(update, text)
    except TelegramError as error:
        fields = log_fields(update, ticket=ticket.number)
        if not transient(error):  # refused (blocked, removed from the chat): final
            log.warning(
                "ticket #%s logged, but Telegram refused its acknowledgement (%s)",
                ticket.number,
                error,
                extra=fields,
            )
            raise
        # Retried in place already (bot/process/sending.py). Without this message the agent
        # never sees the link and logs the ticket again: the outbox keeps at it for hours,
        # or says why not, naming the ticket.
        log.warning(
            "ticket #%s logged, but its acknowledgement failed (%s); queued to send again",
            ticket.number,
            error,
            extra=fields,
        )
        message = update.effective_message
        if message is not None:
            await tickets.queue_acknowledgement(
                runtime(context).db,
                number=ticket.number,
                update_id=update.update_id,
                chat_id=message.chat_id,
                text=text,
            )


async def _render_acknowledgement(rt: Runtime, payload: dict[str, Any]) -> Outgoing:
    return Outgoing(payload["text"])  # rendered in the team's language when it was logged


# Logged also in a customer's group, as a reply to the customer's message (links them).
@command(
    "ticket",
    N_("log a ticket: /ticket text order:… cat:… received:YYYY-MM-DD"),
    role=Role.AGENT,
    where=Where.ANYWHERE,
)
async def ticket(update: Update, context: Context, caller: Caller) -> None:
    """Log a ticket: /ticket <description> [order:REF] [cat:…] [customer:NAME] [received:DATE]."""
    rt = runtime(context)
    text = " ".join(context.args or [])
    customer = _customer_from_reply(update, caller)
    if not text.strip():
        await flows.start(
            rt.db,
            chat_id=caller.chat_id,
            user_id=caller.user_id,
            name=TICKET_FLOW,
            step="description",
        )
        if customer is not None:
            await flows.advance(
                rt.db,
                chat_id=caller.chat_id,
                user_id=caller.user_id,
                step="description",
                customer=customer.__dict__,
            )
        await reply(
            update, _("New ticket. What is the problem? Describe it in one message (or /cancel).")
        )
        return
    await _log(update, context, caller, parse.new_ticket(text, rt.settings.team.tz), customer)


@command("cancel", N_("leave the guided ticket flow"), role=Role.AGENT, where=Where.ANYWHERE)
async def cancel(update: Update, context: Context, caller: Caller) -> None:
    """Leave the guided ticket flow."""
    finished = await flows.finish(
        runtime(context).db, chat_id=caller.chat_id, user_id=caller.user_id
    )
    await reply(
        update, _("Cancelled; nothing was saved.") if finished else _("There is nothing to cancel.")
    )


def _category_buttons() -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton(
            markup.category_name(category), callback_data=f"flow:cat:{category.value}"
        )
        for category in Category
    ]
    return InlineKeyboardMarkup(
        [row[:2], row[2:], [InlineKeyboardButton(_("Skip"), callback_data="flow:cat:skip")]]
    )


def _skip_order_button() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("Skip"), callback_data="flow:order:skip")]]
    )


async def flow_text(update: Update, context: Context) -> None:
    """A plain message continues a guided ticket flow, if the sender has one going."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None or not message.text:
        return
    rt = runtime(context)
    flow = await flows.current(rt.db, chat_id=chat.id, user_id=user.id)
    if flow is None or flow.name != TICKET_FLOW:
        return
    await _flow_message(update, context)


async def _flow_step(update: Update, context: Context, caller: Caller, answer: str | None) -> None:
    rt = runtime(context)
    where = {"chat_id": caller.chat_id, "user_id": caller.user_id}
    flow = await flows.current(rt.db, **where)
    if flow is None or flow.name != TICKET_FLOW:
        await reply(update, _("That ticket draft is gone; start again with /ticket."))
        return
    if flow.step == "description":
        if not answer or not answer.strip():
            await reply(update, _("Please describe the problem in words (or /cancel)."))
            return
        tickets.check_description(answer)
        await flows.advance(rt.db, step="category", description=answer.strip(), **where)
        await reply(update, _("Which category?"), reply_markup=_category_buttons())
    elif flow.step == "category":
        await reply(
            update,
            _("Please choose a category with the buttons (or /cancel)."),
            reply_markup=_category_buttons(),
        )
    elif flow.step == "order":
        done = await flows.finish(rt.db, **where)
        if done is None:
            return
        customer = SeenUser(**done.data["customer"]) if "customer" in done.data else None
        new = NewTicket(
            description=done.data["description"],
            category=Category(done.data.get("category") or Category.OTHER),
            order_ref=answer.strip() if answer else None,
        )
        await _log(update, context, caller, new, customer)


@command(role=Role.AGENT, where=Where.ANYWHERE)
async def _flow_message(update: Update, context: Context, caller: Caller) -> None:
    message = update.effective_message
    await _flow_step(update, context, caller, message.text if message else None)


@command(role=Role.AGENT, where=Where.ANYWHERE)
async def flow_button(update: Update, context: Context, caller: Caller) -> None:
    """Category and skip buttons of the guided flow."""
    query = update.callback_query
    assert query is not None and query.data is not None
    rt = runtime(context)
    where = {"chat_id": caller.chat_id, "user_id": caller.user_id}
    _prefix, field, value = query.data.split(":", 2)
    flow = await flows.current(rt.db, **where)
    if flow is None or flow.name != TICKET_FLOW:
        raise Conflict(N_("This ticket draft is no longer open."))
    await answer_button(update, context)
    if field == "cat" and flow.step == "category":
        chosen = None if value == "skip" else Category(value)
        await flows.advance(rt.db, step="order", category=chosen.value if chosen else None, **where)
        await drop_keyboard(update)
        await reply(
            update, _("Order reference? Send it, or press Skip."), reply_markup=_skip_order_button()
        )
    elif field == "order" and flow.step == "order":
        await drop_keyboard(update)
        await _flow_step(update, context, caller, None)


@command(
    "tickets",
    N_("list tickets: mine, open, overdue, all or order:REF"),
    role=Role.AGENT,
    where=Where.PRIVATE_OR_TEAM,
)
async def list_tickets(update: Update, context: Context, caller: Caller) -> None:
    """List tickets: /tickets [mine|open|overdue|all] [page]."""
    rt = runtime(context)
    first = (context.args or [""])[0]
    if first.lower().startswith("order:") and len(first) > len("order:"):
        await customers.by_order(update, context, caller, first[len("order:") :])
        return
    asked = _list_request(context.args or [])
    if asked is None:
        await reply(
            update,
            _(
                "Use /tickets mine, /tickets open, /tickets overdue or /tickets all, "
                "and a page number for more, e.g. /tickets open 2."
            ),
        )
        return
    scope, page = asked
    rule = rt.settings.followup.overdue
    listed = await tickets.listing(
        rt.db, scope=scope, viewer_id=caller.user_id, overdue_after=rule.remind_after, page=page
    )
    found = listed.tickets
    if not found:
        if listed.total:
            await reply(
                update,
                _("There is no page %(page)s: %(total)s tickets fill %(pages)s pages.")
                % {"page": page, "total": listed.total, "pages": listed.pages},
            )
        else:
            await reply(update, _("No tickets here."))
        return
    now = clock.now()
    if scope is Scope.OVERDUE:
        escalated = [t for t in found if rule.is_escalated(t.age(now))]
        overdue = [t for t in found if not rule.is_escalated(t.age(now))]
        lines = [
            _("<b>Open over %(days)s days</b>") % {"days": markup.days(rule.escalate_after_days)}
        ]
        lines += [render.line(t, now) for t in escalated] or ["—"]
        lines.append(
            _("<b>Open over %(days)s days</b>") % {"days": markup.days(rule.remind_after_days)}
        )
        lines += [render.line(t, now) for t in overdue] or ["—"]
    else:
        lines = [render.line(t, now) for t in found]
    if listed.pages > 1:
        lines += ["", _page_footer(listed, scope)]
    await reply(update, "\n".join(lines))


def _list_request(args: list[str]) -> tuple[Scope, int] | None:
    """`[scope] [page]` in either order; None when a word is neither."""
    scope, page = Scope.OPEN, 1
    for word in args[:2]:
        # ASCII digits only: "²".isdigit() is true, yet int() refuses it.
        if word.isascii() and word.isdigit() and len(word) <= 6:
            page = int(word)
            continue
        try:
            scope = Scope(word.lower())
        except ValueError:
            return None
    return None if len(args) > 2 else (scope, page)


def _page_footer(listed: tickets.TicketPage, scope: Scope) -> str:
    """How many there are, and the command for the next page."""
    shown = {
        "first": listed.first,
        "last": listed.first + len(listed.tickets) - 1,
        "total": listed.total,
    }
    if listed.page >= listed.pages:
        return _("Tickets %(first)s–%(last)s of %(total)s (the last page).") % shown
    return _("Tickets %(first)s–%(last)s of %(total)s. Next: /tickets %(scope)s %(page)s") % {
        **shown,
        "scope": scope.value,
        "page": listed.page + 1,
    }


@command("show", N_("show a ticket: /show N"), role=Role.AGENT, where=Where.PRIVATE_OR_TEAM)
async def show(update: Update, context: Context, caller: Caller) -> None:
    """Show one ticket with its notes: /show N."""
    rt = runtime(context)
    number = parse.ticket_number(_first(context.args))
    found = await tickets.show(rt.db, number, viewer_id=caller.user_id)
    now, tz = clock.now(), rt.settings.team.tz
    text = render.card(found, now, tz)
    talk = await conversation.page(rt.db, number, viewer_id=caller.user_id)
    if talk.total or talk.customer_blocked:
        text += "\n\n" + conversation_render.conversation(talk, tz, now)
    await reply(update, text, reply_markup=conversation_render.older_button(number, talk.older))


@command("note", N_("add a note: /note N text"), role=Role.AGENT)
async def note(update: Update, context: Context, caller: Caller) -> None:
    """Add a note: /note N text."""
    args = context.args or []
    number = parse.ticket_number(_first(args))
    await tickets.add_note(
        runtime(context).db, number, actor_id=caller.user_id, text=" ".join(args[1:])
    )
    await reply(update, _("Note added to #%(number)s.") % {"number": number})


@command("assign", N_("hand a ticket over: /assign N @agent"), role=Role.AGENT)
async def assign(update: Update, context: Context, caller: Caller) -> None:
    """Hand a ticket to another agent: /assign N @agent (or reply to their message)."""
    rt = runtime(context)
    args = context.args or []
    number = parse.ticket_number(_first(args))
    agent = await named_member(update, rt, args[1] if len(args) > 1 else None)
    moved = await tickets.assign(rt.db, number, actor_id=caller.user_id, agent_id=agent.user_id)
    await reply(
        update,
        _("#%(number)s is now assigned to %(agent)s.")
        % {"number": number, "agent": esc(moved.agent_name)},
    )


def _resolve_buttons(number: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Root cause found and fixed"), callback_data=f"resolve:{number}:root"
                )
            ],
            [
                InlineKeyboardButton(
                    _("Root cause not found"), callback_data=f"resolve:{number}:noroot"
                )
            ],
        ]
    )


@command("resolve", N_("resolve: /resolve N [root|noroot]"), role=Role.AGENT)
async def resolve(update: Update, context: Context, caller: Caller) -> None:
    """Resolve a ticket: /resolve N [root|noroot]."""
    args = context.args or []
    number = parse.ticket_number(_first(args))
    if len(args) < 2:
        await reply(
            update,
            _("Was the root cause of #%(number)s found and fixed?") % {"number": number},
            reply_markup=_resolve_buttons(number),
        )
        return
    word = args[1].lower()
    if word not in ("root", "noroot"):
        raise InvalidInput(
            N_("Write /resolve N root (root cause found and fixed) or /resolve N noroot.")
        )
    await _resolve(update, context, caller, number, root=word == "root")


@command(role=Role.AGENT)
async def resolve_button(update: Update, context: Context, caller: Caller) -> None:
    """The two buttons /resolve N asks with."""
    query = update.callback_query
    assert query is not None and query.data is not None  # the pattern saw the data
    _prefix, number, word = query.data.split(":")
    # The work first: taking the buttons away is cosmetic and may fail (a double tap, an
    # old message); a second tap is refused as "already resolved".
    await _resolve(update, context, caller, int(number), root=word == "root")
    await drop_keyboard(update)


async def _resolve(
    update: Update, context: Context, caller: Caller, number: int, *, root: bool
) -> None:
    done = await tickets.resolve(
        runtime(context).db, number, actor_id=caller.user_id, root_cause_found=root
    )
    log.info("ticket #%s resolved", number, extra=log_fields(update, ticket=number))
    if _customer_group(caller):
        await reply(update, _("#%(number)s resolved.") % {"number": number})
        return
    text = _("#%(number)s resolved (quality %(quality)s).") % {
        "number": number,
        "quality": done.quality,
    }
    if not done.customer_linked:
        text += "\n" + _(
            "The customer has not opened the ticket link, so no survey can be sent yet."
        )
    await reply(update, text)


@command("reopen", N_("reopen a ticket: /reopen N"), role=Role.AGENT)
async def reopen(update: Update, context: Context, caller: Caller) -> None:
    """Reopen a resolved ticket: /reopen N (quality becomes 5)."""
    number = parse.ticket_number(_first(context.args))
    await tickets.reopen(runtime(context).db, number, actor_id=caller.user_id)
    log.info("ticket #%s reopened", number, extra=log_fields(update, ticket=number))
    if _customer_group(caller):
        await reply(update, _("#%(number)s reopened.") % {"number": number})
        return
    await reply(update, _("#%(number)s reopened; its quality is now 5.") % {"number": number})


def _customer_group(caller: Caller) -> bool:
    """A group other than the team chat: customers may read along, so no KPI talk there."""
    return not caller.private and not caller.team_chat


def _first(args: list[str] | None) -> str:
    if not args:
        raise InvalidInput(N_("Give the ticket number, e.g. 12 or #12."))
    return args[0]


NOTICES = (Notice(tickets.ACKNOWLEDGEMENT_KIND, render=_render_acknowledgement),)


def register(app: Application) -> None:
    # In the order of the menu and /help (handlers/menu.py).
    app.add_handler(command_handler(ticket))
    app.add_handler(command_handler(list_tickets))
    app.add_handler(command_handler(show))
    app.add_handler(command_handler(note))
    app.add_handler(command_handler(assign))
    app.add_handler(command_handler(resolve))
    app.add_handler(command_handler(reopen))
    app.add_handler(command_handler(cancel))
    app.add_handler(button(resolve_button, r"^resolve:\d{1,9}:(root|noroot)$"))
    app.add_handler(
        button(flow_button, r"^flow:(cat:(product|logistics|service|other|skip)|order:skip)$")
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, flow_text))
