"""Paper forms (phiếu giấy): people without a phone, whose forms commune staff enter.

A spreadsheet of the template (`cdht import --template`) has a row per person: name,
year of birth, gender, group, village, phone, and each indicator's answer as the number of
the option ticked on the paper form (1 for the first). This module reads the rows and
says what is wrong with each, as the criteria loader does (row, column, what, how to fix
it); nothing here reads files or the database. Every answer given, or none (the person is
then only registered); a form with all of them is a submitted self-assessment, scored by
flows.scoring like any other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flows.criteria import CriteriaSet, pick
from flows.lang import N_, Lang, Problem
from flows.registration import MAX_NAME, MAX_VILLAGE, normalise_phone
from flows.text import fold, tidy

# The columns of the template, in order, as the header row names them (Vietnamese: the
# forms and the staff are); the indicators' columns follow, each headed by its code.
NAME, BIRTH_YEAR, GENDER, GROUP, VILLAGE, PHONE = (
    "Họ và tên",
    "Năm sinh",
    "Giới tính",
    "Nhóm",
    "Thôn, tổ dân phố",
    "Điện thoại",
)
PERSON_COLUMNS = (NAME, BIRTH_YEAR, GENDER, GROUP, VILLAGE, PHONE)
GENDERS = {"nam": "male", "nu": "female", "khac": "other", "male": "male", "female": "female"}
GENDER_WORDS = "Nam, Nữ, Khác"
MAX_ROWS = 20_000


@dataclass(frozen=True)
class PaperForm:
    """One person's form, as read and checked."""

    row: int  # the spreadsheet's row number (1 is the header)
    name: str
    birth_year: int
    gender: str
    group: str
    village: str | None
    phone: str | None
    answers: Mapping[str, int] = field(default_factory=dict)  # indicator → option index


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    problem: Problem

    def text(self, t: Lang) -> str:
        return t._("Row {row}, column “{column}”: {problem}").format(
            row=self.row, column=self.column, problem=self.problem.text(t)
        )


def check_name(text: str) -> str | None:
    """A full name (letters and spaces, with . ' - inside), at most MAX_NAME, tidied; None
    if it is not one. Stricter than what a person types about themself: staff copy names
    from paper, and a spreadsheet cell may hold anything ("=HYPERLINK(...)")."""
    name = tidy(text)
    if len(name) > MAX_NAME or sum(ch.isalpha() for ch in name) < 2:
        return None
    if not all(ch.isalpha() or ch in " .'-" for ch in name) or not name[0].isalpha():
        return None
    return name


def header(criteria: CriteriaSet, lang: str = "vi") -> list[str]:
    """The template's header row."""
    return [*PERSON_COLUMNS, *(f"{i.code} {pick(i.name, lang)}" for i in criteria.indicators)]


def _cell(value: object) -> str:
    """A cell as text: numbers without ".0", empty as ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _columns(head: Sequence[object], criteria: CriteriaSet) -> tuple[dict[str, int], list[str]]:
    """Where each column is, by its header (folded, so accents and case do not matter; an
    indicator's by the code it starts with), and the columns that are missing."""
    found: dict[str, int] = {}
    wanted = {fold(c): c for c in PERSON_COLUMNS}
    codes = {i.code for i in criteria.indicators}
    for n, value in enumerate(head):
        text = _cell(value)
        code = text.split(" ", 1)[0] if text else ""
        if code in codes:
            found.setdefault(code, n)
        elif fold(text) in wanted:
            found.setdefault(wanted[fold(text)], n)
    missing = [
        c for c in (*PERSON_COLUMNS, *(i.code for i in criteria.indicators)) if c not in found
    ]
    return found, missing


def read_forms(
    rows: Sequence[Sequence[object]], criteria: CriteriaSet, this_year: int
) -> tuple[list[PaperForm], list[RowError]]:
    """The forms of a sheet whose first row is the header, and what is wrong with the
    others (every problem of every row, so one round of fixes is enough). Empty rows
    are skipped. Raises Problem for a file that is not the template, or too long, or
    has no forms."""
    where, missing = _columns(rows[0] if rows else [], criteria)
    if missing:
        raise Problem(
            N_(
                "the first row lacks the columns {columns}: keep the template's first row "
                "as it is (cdht import --template, or /paperform template in chat)"
            ),
            columns=", ".join(f"“{c}”" for c in missing),
        )
    if len(rows) - 1 > MAX_ROWS:
        raise Problem(N_("at most {n} rows in one file: split it into several"), n=MAX_ROWS)
    forms, errors = [], []
    for number, row in enumerate(rows[1:], start=2):
        values = {key: _cell(row[n]) if n < len(row) else "" for key, n in where.items()}
        if not any(values.values()):
            continue
        form, problems = _form(number, values, criteria, this_year)
        errors += problems
        if form is not None:
            forms.append(form)
    seen: dict[tuple[str, int, str | None, str], int] = {}
    unique = []
    for form in forms:  # the same person twice in one file: the second is a mistake
        key = (fold(form.name), form.birth_year, form.phone, fold(form.village or ""))
        if key in seen:
            errors.append(
                RowError(
                    form.row,
                    NAME,
                    Problem(
                        N_("the same person as row {row} (name, year of birth, village and phone)"),
                        row=seen[key],
                    ),
                )
            )
        else:
            seen[key] = form.row
            unique.append(form)
    if not unique and not errors:
        raise Problem(N_("the file has no forms: fill in the template from row 2"))
    return unique, sorted(errors, key=lambda e: e.row)


def _form(
    row: int, values: Mapping[str, str], criteria: CriteriaSet, this_year: int
) -> tuple[PaperForm | None, list[RowError]]:
    errors: list[RowError] = []

    def wrong(column: str, message: str, **fields: object) -> None:
        errors.append(RowError(row, column, Problem(message, **fields)))

    name = check_name(values[NAME])
    if not values[NAME]:
        wrong(NAME, N_("the name is empty"))
    elif name is None:
        wrong(
            NAME,
            N_("“{text}”: write the full name in letters, e.g. Nguyễn Văn An"),
            text=values[NAME],
        )
    low, high = this_year - 100, this_year - 6
    year_text = values[BIRTH_YEAR]
    birth_year = int(year_text) if re.fullmatch(r"\d{4}", year_text) else None
    if not year_text:
        wrong(BIRTH_YEAR, N_("the year of birth is empty: write 4 digits, e.g. 1958"))
    elif birth_year is None or not low <= birth_year <= high:
        wrong(
            BIRTH_YEAR,
            N_("“{text}” is not a year of birth: write 4 digits, from {low} to {high}"),
            text=year_text,
            low=low,
            high=high,
        )
    gender = GENDERS.get(fold(values[GENDER]))
    if gender is None:
        wrong(GENDER, N_("“{text}”: write one of {words}"), text=values[GENDER], words=GENDER_WORDS)
    group_text = re.sub(r"^nhom\s*", "", fold(values[GROUP]))
    group = criteria.group(group_text)
    if group is None:
        wrong(
            GROUP,
            N_("“{text}”: write the group's number, one of {groups}"),
            text=values[GROUP],
            groups=", ".join(g.code for g in criteria.groups),
        )
    village = tidy(values[VILLAGE]) or None
    if village is not None and len(village) > MAX_VILLAGE:
        wrong(VILLAGE, N_("at most {n} characters"), n=MAX_VILLAGE)
    phone_text = values[PHONE]
    if re.fullmatch(r"\d{9}", phone_text):  # Excel drops the leading 0 of a number
        phone_text = "0" + phone_text
    phone = normalise_phone(phone_text) if phone_text else None
    if phone_text and phone is None:
        wrong(
            PHONE,
            N_("“{text}”: a phone number has 10 digits and starts with 0, e.g. 0912345678"),
            text=values[PHONE],
        )
    answers: dict[str, int] = {}
    given = [i for i in criteria.indicators if values[i.code]]
    if given and len(given) < len(criteria.indicators):
        empty = [i.code for i in criteria.indicators if not values[i.code]]
        wrong(
            empty[0],
            N_(
                "answer every indicator, or none (the person is then only registered): "
                "{codes} empty"
            ),
            codes=", ".join(empty),
        )
    elif given and group is not None:
        for indicator in criteria.indicators:
            options = group.question(indicator.code).options
            text = values[indicator.code]
            number = int(text) if re.fullmatch(r"\d{1,2}", text) else 0
            if not 1 <= number <= len(options):
                wrong(
                    indicator.code,
                    N_("“{text}”: write the number of the option ticked, 1 to {n}"),
                    text=text,
                    n=len(options),
                )
            else:
                answers[indicator.code] = number - 1
    if errors:
        return None, errors
    assert name and birth_year is not None and gender is not None and group is not None
    return PaperForm(row, name, birth_year, gender, group.code, village, phone, answers), []
