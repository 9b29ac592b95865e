"""Every user-facing message has a Vietnamese (and English) translation with the same
placeholders; a message added to the code without one fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "n_": (1, 2)}  # N_: translated where shown (Problem)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def source_messages() -> set[str]:
    found: set[str] = set()
    for folder in ("flows", "bot"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.update([message] if isinstance(message, str) else message)
    return found


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_message_is_translated(lang):
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    translations = {m.id: m.string for m in catalog if m.id}
    messages = source_messages()
    assert len(messages) > 80
    missing = sorted(m for m in messages if not translations.get(m))
    assert not missing, (
        f"{lang}: no translation for {missing} (run `make messages`, then translate)"
    )
    for message in messages:
        assert set(PLACEHOLDER.findall(message)) == set(
            PLACEHOLDER.findall(translations[message])
        ), message


def test_vietnamese_is_really_vietnamese():
    with (ROOT / "locales" / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="vi")
    same = [m.id for m in catalog if m.id and m.string == m.id and "{" not in m.id]
    assert same == [], same
