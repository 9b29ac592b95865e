"""A person's language: gettext lookups plus Vietnamese/English number and date formats.

The catalogs are loaded by the shell (bot/i18n.py) and handed in; nothing here reads files.
"""

from __future__ import annotations

import gettext
from datetime import date, datetime

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from flows.localtime import LOCAL_TZ

LANGUAGES = ("vi", "en")


class Lang:
    """Translations and formats for one language. Methods are named so pybabel extracts
    `t._("...")` and `t.n_("...", "...", n)` calls."""

    def __init__(self, code: str, translations: gettext.NullTranslations | None = None) -> None:
        self.code = code
        self._tr = translations or gettext.NullTranslations()

    def _(self, message: str) -> str:
        return self._tr.gettext(message)

    def n_(self, singular: str, plural: str, n: int) -> str:
        return self._tr.ngettext(singular, plural, n)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.code)

    def percent(self, value: float) -> str:
        return format_percent(value, locale=self.code, format="#,##0.#%")

    def date(self, value: date) -> str:
        return format_date(value, "dd/MM/yyyy", locale=self.code)

    def datetime(self, value: datetime) -> str:
        """Always shown in Vietnam's time zone, whatever the server's."""
        return format_datetime(value, "HH:mm dd/MM/yyyy", tzinfo=LOCAL_TZ, locale=self.code)


def N_(message: str) -> str:
    """Marks a message for extraction that is translated later, where it is shown."""
    return message


class Problem(ValueError):
    """A mistake in what someone wrote (an area, a date on the command line), said in the
    reader's language: `message` is a msgid marked with N_ and `{fields}` filled in when
    shown (`text`); str() gives it untranslated. A field may be a Problem itself."""

    def __init__(self, message: str, **fields: object) -> None:
        self.message, self.fields = message, fields
        super().__init__(message.format(**fields))

    def text(self, t: Lang) -> str:
        return t._(self.message).format(
            **{k: v.text(t) if isinstance(v, Problem) else v for k, v in self.fields.items()}
        )
