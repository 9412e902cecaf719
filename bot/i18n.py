"""Translations: English source strings; Simplified (zh_CN) and Traditional (zh_TW) Chinese
catalogues in `bot/locales/`.

The language in force is a context variable, so a handler sets it once for the person it
answers and every `_()` below it follows. Catalogues are `.po` files compiled in memory at
first use: one file per feature keeps them readable and free of merge churn.
"""

from __future__ import annotations

import contextvars
import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Literal, get_args

LOCALES = Path(__file__).parent / "locales"
Language = Literal["en", "zh_CN", "zh_TW"]
SUPPORTED: tuple[str, ...] = get_args(Language)
# Telegram reports a BCP 47 tag; these Chinese ones are written in Traditional characters
# (Taiwan, Hong Kong, Macau, or the script named outright). Any other Chinese is Simplified.
_TRADITIONAL = ("zh_hant", "zh_tw", "zh_hk", "zh_mo")
DEFAULT_LANGUAGE = "en"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


def normalise(code: str | None, fallback: str = DEFAULT_LANGUAGE) -> str:
    """Map a Telegram language_code ("zh-hans", "zh-hant", "zh", "en-US") onto a supported language."""
    if not code:
        return fallback
    code = code.replace("-", "_").lower()
    if code.startswith(_TRADITIONAL):
        return "zh_TW"
    if code.startswith("zh"):
        return "zh_CN"
    if code.startswith("en"):
        return "en"
    return fallback


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    # Babel's catalogue reader costs an English `kefu` command 20 ms it never needs.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    merged: gettext.NullTranslations = gettext.NullTranslations()
    for po_file in sorted((LOCALES / language).glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        compiled = gettext.GNUTranslations(buffer)
        compiled.add_fallback(merged)
        merged = compiled
    return merged


def current_language() -> str:
    return _language.get()


def set_language(language: str) -> None:
    _language.set(language if language in SUPPORTED else DEFAULT_LANGUAGE)


@contextmanager
def use_language(language: str) -> Iterator[None]:
    token = _language.set(language if language in SUPPORTED else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


def _(message: str) -> str:
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message
