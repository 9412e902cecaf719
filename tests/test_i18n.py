"""Every string a user can see exists in Simplified Chinese, with the same placeholders."""

from __future__ import annotations

import re

from bot.i18n import _, normalise, translations, use_language
from bot.locales.catalog import extract

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _msgids() -> list[str | tuple[str, str]]:
    return [message.id for message in extract() if message.id]


def test_every_message_is_translated_with_matching_placeholders() -> None:
    zh = translations("zh_CN")
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
    with use_language("en"):
        assert _("open") == "open"


def test_telegram_language_codes_map_to_supported_languages() -> None:
    assert normalise("zh-hans") == "zh_CN"
    assert normalise("zh-TW") == "zh_CN"
    assert normalise("en-US") == "en"
    assert normalise("de", fallback="zh_CN") == "zh_CN"
    assert normalise(None) == "en"
