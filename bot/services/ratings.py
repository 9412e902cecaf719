"""A manager's judgements: an agent's skill rating and the override of a ticket's quality."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from bot import clock
from bot.db import Database
from bot.i18n import N_
from bot.models import Person, Role, SkillRating
from bot.services.access import load_ticket, require_manager, ticket_event
from bot.services.errors import InvalidInput, NotFound
from bot.services.team import display_name
from scoring import QUALITY_SCORES, SKILL_SCORES


@dataclass(frozen=True)
class SkillChange:
    agent_id: int
    agent_name: str
    rating: int
    previous: int | None


@dataclass(frozen=True)
class QualityChange:
    number: int
    quality: int
    previous: int | None


def parse_skill(text: str) -> int:
    """10 (solves everything alone), 8 (average, needs help), 5 (poor) or 0 (unqualified)."""
    text = text.strip()
    # isascii: "²" passes isdigit() but not int().
    if not (text.isascii() and text.isdigit() and int(text) in SKILL_SCORES):
        raise InvalidInput(
            N_("Skill is rated 10, 8, 5 or 0; “%(text)s” is not one of them."), text=text[:20]
        )
    return int(text)


def parse_quality(text: str) -> int:
    """10 (root cause fixed at once), 8 (not found or slow) or 5 (sloppy, or it came back)."""
    text = text.strip()
    # isascii: "²" passes isdigit() but not int().
    if not (text.isascii() and text.isdigit() and int(text) in QUALITY_SCORES):
        raise InvalidInput(
            N_("Quality is scored 10, 8 or 5; “%(text)s” is not one of them."), text=text[:20]
        )
    return int(text)


async def rate_skill(db: Database, *, actor_id: int, agent_id: int, rating: int) -> SkillChange:
    """Rate an agent's skill; the newest rating applies from now until changed."""
    if rating not in SKILL_SCORES:
        raise InvalidInput(
            N_("Skill is rated 10, 8, 5 or 0; “%(text)s” is not one of them."), text=rating
        )
    async with db.transaction() as session:
        await require_manager(session, actor_id)
        agent = await session.get(Person, agent_id)
        if agent is None:
            raise NotFound(
                N_("I have not seen user %(ref)s yet; ask them to send me a message first."),
                ref=agent_id,
            )
        name = display_name(agent)
        if agent.role != Role.AGENT:
            raise InvalidInput(
                N_("%(name)s is not an agent; skill is rated for agents only."), name=name
            )
        previous = (
            await session.exec(
                select(SkillRating.rating)
                .where(SkillRating.agent_id == agent_id)
                .order_by(col(SkillRating.rated_at).desc(), col(SkillRating.id).desc())
                .limit(1)
            )
        ).first()
        session.add(
            SkillRating(agent_id=agent_id, rating=rating, rated_by=actor_id, rated_at=clock.now())
        )
        return SkillChange(agent_id=agent_id, agent_name=name, rating=rating, previous=previous)


async def override_quality(
    db: Database, *, actor_id: int, number: int, quality: int
) -> QualityChange:
    """Set a ticket's quality; resolving it later keeps the manager's score (a reopen resets)."""
    if quality not in QUALITY_SCORES:
        raise InvalidInput(
            N_("Quality is scored 10, 8 or 5; “%(text)s” is not one of them."), text=quality
        )
    async with db.transaction() as session:
        await require_manager(session, actor_id)
        ticket = await load_ticket(session, number, lock=True)
        previous = ticket.quality
        ticket.quality = quality
        ticket.quality_overridden = True
        session.add(ticket_event(number, actor_id, "quality", str(quality)))
        return QualityChange(number=number, quality=quality, previous=previous)
