"""English is the source language: its catalog's msgstrs are the msgids themselves.

`scripts/i18n` runs this after `pybabel update`, so a new English message is complete the
moment it is extracted and only Korean needs a translator (`python -m commands.i18n.english PO`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

__all__ = ["fill_english"]


def fill_english(catalog: Catalog) -> int:
    """Give every untranslated (or fuzzy) message its msgid as msgstr; returns how many changed."""
    changed = 0
    for message in catalog:
        if not message.id:
            continue
        source = message.id
        if message.fuzzy or not message.string or (isinstance(message.string, tuple) and not all(message.string)):
            message.string = source if isinstance(source, str) else tuple(source)
            message.flags.discard("fuzzy")
            changed += 1
    return changed


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    changed = fill_english(catalog)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, include_previous=False)
    print(f"i18n: {changed} English message(s) filled in {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover - a build step
    raise SystemExit(main(sys.argv[1:]))
