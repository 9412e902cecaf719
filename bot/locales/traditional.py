"""Keep the Traditional Chinese (zh_TW) catalogues beside the Simplified ones.

    python -m bot.locales.traditional          # fill in zh_TW for every zh_CN string it lacks
    python -m bot.locales.traditional --check  # exit 1 when a zh_CN string has no zh_TW yet

A dev-time tool (OpenCC comes with the test extras, never at run time): a string new in
`zh_CN/<feature>.po` is converted with OpenCC's `s2twp` (Taiwan characters and Taiwan
vocabulary) into `zh_TW/<feature>.po`. A zh_TW translation already there is kept as it is, so a
reviewed wording is never overwritten; strings gone from zh_CN leave zh_TW too.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).parent
SOURCE, TARGET = "zh_CN", "zh_TW"

# Where OpenCC's Taiwan wording still reads as mainland usage in a support chat, the words a
# Taiwanese shop team uses instead (applied after the conversion, in this order).
GLOSSARY = (
    ("鏈接", "連結"),
    ("最多隻", "最多只"),
    ("回復", "回覆"),
    ("質量", "品質"),
    ("配置檔案", "設定檔"),
    ("文本", "文字"),
    ("遮蔽", "封鎖"),
    ("響應", "回應"),
    ("發送", "傳送"),
    ("支援", "支持"),
    ("當前", "目前"),
    ("命令", "指令"),
    ("私聊", "私訊"),
    ("平臺", "平台"),
    ("“", "「"),
    ("”", "」"),
)
GROUP_CHAT = re.compile("群(?!組)")


def _read(path: Path, locale: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=locale)
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def to_traditional(text: str, convert: Callable[[str], str]) -> str:
    """OpenCC's s2twp, then the glossary, then "群" (a group chat) as Taiwan says it, "群組"."""
    text = convert(text)
    for mainland, taiwan in GLOSSARY:
        text = text.replace(mainland, taiwan)
    return GROUP_CHAT.sub("群組", text)


def _converted(text: str | tuple[str, ...], convert: Callable[[str], str]) -> str | tuple[str, ...]:
    if isinstance(text, tuple):
        return tuple(to_traditional(part, convert) for part in text)
    return to_traditional(text, convert)


def sync(*, check: bool = False) -> list[str]:
    """Bring zh_TW in step with zh_CN; return the msgids that were (or, with check, would be) added."""
    converter = None
    added: list[str] = []
    for source_path in sorted((LOCALES / SOURCE).glob("*.po")):
        target_path = LOCALES / TARGET / source_path.name
        source = _read(source_path, SOURCE)
        existing = _read(target_path, TARGET)
        target = Catalog(
            locale=TARGET,
            project=source.project,
            version=source.version,
            last_translator=source.last_translator,
            language_team="zh_TW <LL@li.org>",
            # Kept from the existing file, so a run that adds nothing changes nothing.
            creation_date=(existing if target_path.exists() else source).creation_date,
            revision_date=(existing if target_path.exists() else source).revision_date,
            fuzzy=False,
        )
        for message in source:
            if not message.id:
                continue
            kept = existing.get(message.id)
            if kept is not None and kept.string and any(kept.string):
                string = kept.string
            else:
                added.append(message.id if isinstance(message.id, str) else message.id[0])
                if check:
                    continue
                if converter is None:
                    import opencc  # the test extras bring it; runtime never needs it

                    converter = opencc.OpenCC("s2twp")
                string = _converted(message.string, converter.convert)  # type: ignore[arg-type]
            target.add(
                message.id,
                string,
                locations=message.locations,
                flags=message.flags,
                auto_comments=message.auto_comments,
            )
        if not check:
            target_path.parent.mkdir(exist_ok=True)
            with target_path.open("wb") as handle:
                write_po(handle, target, width=100)
    return added


if __name__ == "__main__":
    checking = "--check" in sys.argv[1:]
    missing = sync(check=checking)
    for msgid in missing:
        print(("missing: " if checking else "converted: ") + msgid)
    sys.exit(1 if checking and missing else 0)
