"""Team set-up in chat: /setup, /agent add|remove, /agents."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from bot.i18n import N_, _
from bot.models import Role
from bot.services import team
from bot.services.errors import InvalidInput
from bot.services.team import SeenUser
from handlers.common import (
    Caller,
    Context,
    Where,
    command,
    command_handler,
    replied_user,
    reply,
    runtime,
)
from handlers.markup import esc
from handlers.menu import refresh_commands


@command("setup", role=None, where=Where.GROUP)
async def setup(update: Update, context: Context, caller: Caller) -> None:
    """Claim this group as the team chat with the one-time code `kefu run` printed."""
    code = (context.args or [""])[0]
    if not code:
        raise InvalidInput(N_("Send /setup CODE with the code `kefu run` printed."))
    rt = runtime(context)
    manager = await team.complete_setup(rt.db, code=code, user=caller.user, chat_id=caller.chat_id)
    await refresh_commands(context.bot, rt)
    await reply(
        update,
        _(
            "Set-up complete. This group is now the team chat and %(name)s is a manager.\n"
            "Add agents with /agent add (reply to their message, or give their @username)."
        )
        % {"name": esc(manager.name)},
    )


@command("agent", N_("add or remove an agent: /agent add|remove"), role=Role.MANAGER)
async def agent(update: Update, context: Context, caller: Caller) -> None:
    """Add or remove an agent: /agent add|remove (reply to them, or give a user id / @username)."""
    rt = runtime(context)
    args = context.args or []
    action = args[0].lower() if args else ""
    if action not in ("add", "remove"):
        raise InvalidInput(
            N_("Use /agent add or /agent remove, replying to the person or naming them.")
        )
    target: SeenUser | str | None = args[1] if len(args) > 1 else replied_user(update)
    if target is None:
        raise InvalidInput(N_("Name a person by user id, by @username, or reply to their message."))
    if isinstance(target, str):
        target = (await team.find_person(rt.db, target)).user_id  # type: ignore[assignment]
    role = Role.AGENT if action == "add" else None
    member = await team.set_role(rt.db, actor_id=caller.user_id, target=target, role=role)  # type: ignore[arg-type]
    await refresh_commands(context.bot, rt)
    text = _("%(name)s is no longer an agent.") if role is None else _("%(name)s is now an agent.")
    await reply(update, text % {"name": esc(member.name)})


@command("agents", N_("list the team"), role=Role.AGENT, where=Where.PRIVATE_OR_TEAM)
async def agents(update: Update, context: Context, caller: Caller) -> None:
    """List the team."""
    found = await team.members(runtime(context).db)
    names = {Role.MANAGER: _("manager"), Role.AGENT: _("agent")}
    lines = [_("<b>The team</b>")]
    lines += [
        f"• {esc(m.name)}{' (@' + esc(m.username) + ')' if m.username else ''} — {names[m.role]} · {m.user_id}"
        for m in found
        if m.role is not None
    ]
    await reply(update, "\n".join(lines))


def register(app: Application) -> None:
    app.add_handler(command_handler(setup))
    app.add_handler(command_handler(agents))
    app.add_handler(command_handler(agent))
