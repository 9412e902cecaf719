"""Every string a user can see exists in Simplified and Traditional Chinese, with the same
placeholders."""

from __future__ import annotations

import re

import pytest

from bot.i18n import _, normalise, translations, use_language
from bot.locales.catalog import extract
from bot.locales.traditional import LOCALES, sync

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _msgids() -> list[str | tuple[str, str]]:
    return [message.id for message in extract() if message.id]


@pytest.mark.parametrize("language", ["zh_CN", "zh_TW"])
def test_every_message_is_translated_with_matching_placeholders(language: str) -> None:
    zh = translations(language)
    missing, mismatched = [], []
    for msgid in _msgids():
        singular = msgid[0] if isinstance(msgid, tuple) else msgid
        translated = (
            zh.ngettext(msgid[0], msgid[1], 2) if isinstance(msgid, tuple) else zh.gettext(msgid)
        )
        if translated == singular and not singular.startswith("#%("):
            missing.append(singular)
        elif set(PLACEHOLDER.findall(translated)) != set(PLACEHOLDER.findall(singular)):
            mismatched.append(singular)
    assert not missing, f"untranslated: {missing}"
    assert not mismatched, f"placeholders differ: {mismatched}"


def test_language_follows_the_context() -> None:
    with use_language("zh_CN"):
        assert _("open") == "处理中"
    with use_language("zh_TW"):
        assert _("open") == "處理中"
    with use_language("en"):
        assert _("open") == "open"


def test_telegram_language_codes_map_to_supported_languages() -> None:
    assert normalise("zh-hans") == "zh_CN"
    assert normalise("zh") == "zh_CN"
    assert normalise("zh-CN") == "zh_CN"
    for traditional in ("zh-hant", "zh-TW", "zh-hk", "zh-Hant-HK", "zh-mo"):
        assert normalise(traditional) == "zh_TW", traditional
    assert normalise("en-US") == "en"
    assert normalise("de", fallback="zh_CN") == "zh_CN"
    assert normalise(None) == "en"


def test_traditional_catalogues_follow_the_simplified_ones() -> None:
    """Each zh_CN feature file has its zh_TW twin, and no zh_CN string lacks a zh_TW one
    (`python -m bot.locales.traditional` fills them in)."""
    cn = sorted(p.name for p in (LOCALES / "zh_CN").glob("*.po"))
    tw = sorted(p.name for p in (LOCALES / "zh_TW").glob("*.po"))
    assert cn == tw
    assert sync(check=True) == []
