"""Loads the gettext catalogs under locales/ straight from the .po files (compiled in
memory with Babel), so there is no compiled .mo file to forget to rebuild."""

from __future__ import annotations

import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from flows.lang import LANGUAGES, Lang

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def load_translations(lang: str, locales_dir: Path = LOCALES_DIR) -> gettext.GNUTranslations:
    po = locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def load_langs(locales_dir: Path = LOCALES_DIR) -> dict[str, Lang]:
    return {code: Lang(code, load_translations(code, locales_dir)) for code in LANGUAGES}
