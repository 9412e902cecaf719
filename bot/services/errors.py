"""Failures a user can act on. The message is an untranslated msgid; handlers translate it."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_


class KefuError(Exception):
    """A refusal with a reason the user should read."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class NotFound(KefuError):
    pass


class InvalidInput(KefuError):
    pass


class NotAllowed(KefuError):
    pass


class Conflict(KefuError):
    pass


def ticket_not_found(number: int) -> NotFound:
    return NotFound(N_("There is no ticket #%(number)s."), number=number)
