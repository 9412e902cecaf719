"""When an open ticket is overdue: one rule for the follow-ups, `/tickets overdue` and the digest.

A ticket open for more than `remind_after_days` is overdue (its agent is reminded, the digest
counts it in "over N days"); more than `escalate_after_days`, it is escalated to the managers.
"More than" is strict: a ticket open exactly 5 days is not over 5 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

REMIND_AFTER_DAYS = 3.0
ESCALATE_AFTER_DAYS = 5.0


@dataclass(frozen=True)
class OverdueRule:
    remind_after_days: float = REMIND_AFTER_DAYS
    escalate_after_days: float = ESCALATE_AFTER_DAYS

    def __post_init__(self) -> None:
        if not self.remind_after_days > 0:
            raise ValueError("remind_after_days must be positive")
        if self.escalate_after_days <= self.remind_after_days:
            raise ValueError("escalate_after_days must be greater than remind_after_days")

    @property
    def remind_after(self) -> timedelta:
        return timedelta(days=self.remind_after_days)

    @property
    def escalate_after(self) -> timedelta:
        return timedelta(days=self.escalate_after_days)

    def is_overdue(self, age: timedelta) -> bool:
        return age > self.remind_after

    def is_escalated(self, age: timedelta) -> bool:
        return age > self.escalate_after
