"""Who is on the team, which chat is the team chat, and the one-time setup code."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import clock
from bot.db import Database
from bot.i18n import N_
from bot.models import Person, Role, TeamSetting
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.sql import insert_if_missing

log = logging.getLogger(__name__)

TEAM_CHAT_KEY = "team_chat_id"
# Where Telegram moved a chat (a group upgraded to a supergroup): old id → new id.
_MOVED_KEY = "chat_moved:{chat_id}"
# ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
_USER_ID = re.compile(r"^-?[0-9]+$")
SETUP_CODE_KEY = "setup_code_sha256"


@dataclass(frozen=True)
class SeenUser:
    """What an update tells us about a Telegram user."""

    user_id: int
    full_name: str
    username: str | None = None
    language_code: str | None = None
    private_chat: bool = False


@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    username: str | None
    role: Role | None
    has_private_chat: bool

    @property
    def mention(self) -> str:
        return f"@{self.username}" if self.username else self.name


def display_name(person: Person) -> str:
    """How a person is named in messages: their Telegram name, else @username, else their id."""
    return person.full_name or person.username or str(person.user_id)


def _member(person: Person) -> Member:
    return Member(
        user_id=person.user_id,
        name=display_name(person),
        username=person.username,
        role=Role(person.role) if person.role else None,
        has_private_chat=person.has_private_chat,
    )


async def _person(session: AsyncSession, user_id: int) -> Person:
    """The person's row, created when missing."""
    # INSERT … ON CONFLICT, not get-then-add: replicas starting together (or seeing a new user
    # at once) would otherwise both insert, and one would fail on the primary key.
    await insert_if_missing(
        session,
        Person,
        user_id=user_id,
        full_name="",
        has_private_chat=False,
        updated_at=clock.now(),
    )
    person = await session.get(Person, user_id)
    assert person is not None
    return person


async def _upsert(session: AsyncSession, user: SeenUser) -> Person:
    person = await _person(session, user.user_id)
    person.full_name = user.full_name[:256]
    if user.username:
        # Usernames move between accounts; the newest holder keeps it.
        await _release_username(session, user.username, user.user_id)
    person.username = user.username
    person.language_code = user.language_code
    person.has_private_chat = person.has_private_chat or user.private_chat
    person.updated_at = clock.now()
    return person


async def _release_username(session: AsyncSession, username: str, keeper: int) -> None:
    stale = await session.exec(
        select(Person).where(
            func.lower(Person.username) == username.lower(), Person.user_id != keeper
        )
    )
    for other in stale:
        other.username = None


async def record_seen(db: Database, user: SeenUser) -> None:
    """Remember a user's name, handle and language so they can be named later."""
    async with db.transaction() as session:
        await _upsert(session, user)


async def role_of(db: Database, user_id: int) -> Role | None:
    async with db.transaction() as session:
        person = await session.get(Person, user_id)
        return Role(person.role) if person and person.role else None


async def role_and_team_chat(db: Database, user_id: int) -> tuple[Role | None, int | None]:
    """What every command needs to know first (the redelivery claim usually brought it)."""
    async with db.transaction() as session:
        person = await session.get(Person, user_id)
        chat_id = await team_chat_in(session)
    role = Role(person.role) if person and person.role else None
    return role, chat_id


async def get_member(db: Database, user_id: int) -> Member | None:
    async with db.transaction() as session:
        person = await session.get(Person, user_id)
        return _member(person) if person else None


async def members(db: Database) -> list[Member]:
    async with db.transaction() as session:
        rows = await session.exec(
            select(Person)
            .where(col(Person.role).is_not(None))
            .order_by(col(Person.role), col(Person.user_id))
        )
        return [_member(person) for person in rows]


async def managers(db: Database) -> list[Member]:
    return [m for m in await members(db) if m.role is Role.MANAGER]


async def find_person(db: Database, ref: str) -> Member:
    """A user named by numeric id or by an @username the bot has seen."""
    ref = ref.strip()
    async with db.transaction() as session:
        if _USER_ID.match(ref):
            # Telegram ids have at most 52 significant bits; a longer number is nobody, and
            # would overflow the database's 64-bit column.
            person = await session.get(Person, int(ref)) if len(ref) <= 16 else None
            if person is None:
                raise NotFound(
                    N_("I have not seen user %(ref)s yet; ask them to send me a message first."),
                    ref=ref,
                )
            return _member(person)
        if not ref.startswith("@") or len(ref) < 2:
            raise InvalidInput(
                N_("Name a person by user id, by @username, or reply to their message.")
            )
        rows = await session.exec(
            select(Person).where(func.lower(Person.username) == ref[1:].lower())
        )
        person = rows.first()
        if person is None:
            raise NotFound(
                N_("I have not seen %(ref)s yet; ask them to send me a message first."), ref=ref
            )
        return _member(person)


async def set_role(
    db: Database, *, actor_id: int, target: SeenUser | int, role: Role | None
) -> Member:
    """Add (`role` given) or remove (`None`) a team member. Managers only."""
    async with db.transaction() as session:
        actor = await session.get(Person, actor_id)
        if actor is None or actor.role != Role.MANAGER:
            raise NotAllowed(N_("Only managers can change the team."))
        if isinstance(target, SeenUser):
            person = await _upsert(session, target)
        else:
            person = await session.get(Person, target)  # type: ignore[assignment]
            if person is None:
                raise NotFound(
                    N_("I have not seen user %(ref)s yet; ask them to send me a message first."),
                    ref=target,
                )
        if role is None and person.role == Role.MANAGER:
            raise NotAllowed(
                N_("%(name)s is a manager; managers are changed in the config file."),
                name=person.full_name,
            )
        if role is Role.AGENT and person.role == Role.MANAGER:
            raise InvalidInput(N_("%(name)s is already a manager."), name=person.full_name)
        person.role = role.value if role else None
        person.updated_at = clock.now()
        return _member(person)


async def sync_config(
    db: Database, *, managers: list[int], agents: list[int], chat_id: int | None
) -> None:
    """Make the configured team members and team chat true in the database."""
    async with db.transaction() as session:
        for user_id, role in [
            *((a, Role.AGENT) for a in agents),
            *((m, Role.MANAGER) for m in managers),
        ]:
            person = await _person(session, user_id)
            person.role = role.value
        if chat_id is not None:
            current = await _where_now(session, chat_id)
            if current != chat_id:
                log.warning(
                    "[team] chat_id %s is a group Telegram upgraded to the supergroup %s, "
                    "which stays the team chat: set [team] chat_id = %s in the config",
                    chat_id,
                    current,
                    current,
                )
            await _put_setting(session, TEAM_CHAT_KEY, str(current))


async def _where_now(session: AsyncSession, chat_id: int) -> int:
    """The id `chat_id` has now, following every move Telegram announced."""
    for _hop in range(8):  # a group moves once; the bound only guards against a cycle
        moved = await session.get(TeamSetting, _MOVED_KEY.format(chat_id=chat_id))
        if moved is None:
            break
        chat_id = int(moved.value)
    return chat_id


async def follow_move(session: AsyncSession, *, old_chat_id: int, new_chat_id: int) -> bool:
    """Record that `old_chat_id` is now `new_chat_id`; the team chat follows. True when this
    call moved the team chat (a second report of the same move finds it moved already)."""
    await _put_setting(session, _MOVED_KEY.format(chat_id=old_chat_id), str(new_chat_id))
    setting = await session.get(TeamSetting, TEAM_CHAT_KEY, with_for_update=True)
    if setting is None or int(setting.value) != old_chat_id:
        return False
    setting.value = str(new_chat_id)
    return True


async def team_chat_id(db: Database) -> int | None:
    async with db.transaction() as session:
        return await team_chat_in(session)


async def team_chat_in(session: AsyncSession) -> int | None:
    """The team chat's id, read in the caller's transaction; None before /setup."""
    setting = await session.get(TeamSetting, TEAM_CHAT_KEY)
    return int(setting.value) if setting else None


async def _put_setting(session: AsyncSession, key: str, value: str) -> None:
    # Race-free like _person: two replicas may write the team chat at start.
    await insert_if_missing(session, TeamSetting, key=key, value=value)
    setting = await session.get(TeamSetting, key)
    assert setting is not None
    setting.value = value


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


async def issue_setup_code(db: Database) -> str | None:
    """A fresh one-time code while the team has no manager; None once it has one."""
    async with db.transaction() as session:
        count = await session.exec(
            select(func.count()).select_from(Person).where(Person.role == Role.MANAGER)
        )
        if count.one():
            return None
        code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
        await _put_setting(session, SETUP_CODE_KEY, _digest(code))
        return code


async def complete_setup(db: Database, *, code: str, user: SeenUser, chat_id: int) -> Member:
    """The sender becomes a manager and this chat the team chat; the code is spent."""
    async with db.transaction() as session:
        setting = await session.get(TeamSetting, SETUP_CODE_KEY)
        if setting is None:
            raise NotAllowed(N_("Set-up is already complete; ask a manager to add you."))
        if not hmac.compare_digest(setting.value, _digest(code)):
            raise InvalidInput(
                N_("That set-up code is not right. Check the code `kefu run` printed.")
            )
        await session.delete(setting)
        person = await _upsert(session, user)
        person.role = Role.MANAGER.value
        await _put_setting(session, TEAM_CHAT_KEY, str(chat_id))
        return _member(person)
