"""Extract the translatable strings of the code, so the catalogues can be checked and updated.

python -m bot.locales.catalog            # prints a .pot of every msgid in bot/ and handlers/
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("bot", "handlers")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    catalog = Catalog(project="kefu")
    for source in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            catalog.add(message, locations=[(f"{source}/{filename}", lineno)])
    return catalog


if __name__ == "__main__":
    write_po(sys.stdout.buffer, extract(), width=100, omit_header=True)
