"""The paper forms' spreadsheet: the template staff fill in (a sheet of rows, a sheet that
explains the columns and every group's questions with their numbered options), and
reading a filled one back (openpyxl, read-only: rows are streamed). flows.paper checks
the rows; storage.paper writes them."""

from __future__ import annotations

import io
from pathlib import Path

from flows.criteria import CriteriaSet, pick
from flows.lang import Lang
from flows.paper import GENDER_WORDS, MAX_ROWS, PERSON_COLUMNS, header

SHEET = "Danh sách"  # the rows' sheet, as the template names it (read first if present)
TEMPLATE_NAME = "mau-phieu-giay-cdht.xlsx"
MAX_UPLOAD = 5 * 1024 * 1024  # bytes: a sheet of 20,000 rows is about 1 MB
# Unpacked, the same sheet is about 11 MB; a small file can unpack to gigabytes (and
# openpyxl parses a whole row, however many cells, before keeping MAX_COLUMNS of them).
MAX_UNPACKED = 16 * 1024 * 1024


def template_xlsx(criteria: CriteriaSet, t: Lang) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    ws.append(header(criteria))
    for n, cell in enumerate(ws[1], 1):
        cell.font, cell.alignment = bold, wrap
        ws.column_dimensions[get_column_letter(n)].width = (
            (26, 10, 10, 8, 22, 14)[n - 1] if n <= 6 else 12
        )
    ws.row_dimensions[1].height = 45
    ws.freeze_panes = "B2"
    for row in range(2, 1002):  # the phone as text: Excel keeps its leading 0
        ws.cell(row=row, column=PERSON_COLUMNS.index("Điện thoại") + 1).number_format = "@"

    guide = wb.create_sheet(t._("Guide"))
    guide.column_dimensions["A"].width = 24
    guide.column_dimensions["B"].width = 90
    lines: list[tuple[str, str]] = [
        (t._("How to fill in"), ""),
        (
            "",
            t._(
                "One row per person, from row 2 of the sheet “{sheet}”. Do not change the "
                "first row. Answers: the number of the option ticked on the paper form (1 "
                "for the first), for every indicator, or leave all of them empty if the "
                "person only registers."
            ).format(sheet=SHEET),
        ),
        ("Họ và tên", t._("Full name, in letters, e.g. Nguyễn Văn An")),
        ("Năm sinh", t._("Year of birth, 4 digits, e.g. 1958")),
        ("Giới tính", t._("One of: {words}").format(words=GENDER_WORDS)),
        (
            "Nhóm",
            t._("The group's number: {groups}").format(
                groups="; ".join(pick(g.name, "vi") for g in criteria.groups)
            ),
        ),
        ("Thôn, tổ dân phố", t._("Village or residential group (may be empty)")),
        ("Điện thoại", t._("10 digits starting with 0 (may be empty)")),
        (
            "1.1 … 3.2",
            t._("For each indicator, the number of the option ticked (see below, by group)"),
        ),
    ]
    for label, text in lines:
        guide.append([label, text])
    for group in criteria.groups:
        guide.append([])
        guide.append([pick(group.name, "vi")])
        for question in group.questions:
            indicator = criteria.indicator(question.indicator)
            guide.append(
                [f"{indicator.code} {pick(indicator.name, 'vi')}", pick(question.text, "vi")]
            )
            for n, option in enumerate(question.options, 1):
                guide.append(
                    [
                        "",
                        t._("{n}. {text} ({points} points)").format(
                            n=n, text=pick(option.text, "vi"), points=option.points
                        ),
                    ]
                )
    for row in guide.iter_rows():
        for cell in row:
            cell.alignment = wrap
        if row[0].value and not row[1].value:
            row[0].font = bold
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_bytes(data: bytes) -> tuple[tuple[object, ...], ...] | None:
    """The rows of a spreadsheet (sent in chat, or a file's bytes); None if it is not an
    xlsx the bot can read, or larger than MAX_UPLOAD."""
    from zipfile import BadZipFile, ZipFile

    from openpyxl.utils.exceptions import InvalidFileException

    if len(data) > MAX_UPLOAD:
        return None
    try:
        with ZipFile(io.BytesIO(data)) as archive:  # what it unpacks to, before unpacking
            if sum(entry.file_size for entry in archive.infolist()) > MAX_UNPACKED:
                return None
        return tuple(tuple(row) for row in read_xlsx(io.BytesIO(data)))
    except (BadZipFile, InvalidFileException, KeyError, ValueError, OSError, EOFError):
        return None


MAX_COLUMNS = 40  # the template has 16; a few more are ignored, not read by the thousand


def read_xlsx(path: Path | io.BytesIO) -> list[list[object]]:
    """The rows of the sheet “Danh sách” (or the first sheet), as values: at most one row
    more than flows.paper takes (so it can say the file is too long) and MAX_COLUMNS
    columns, whatever size the sheet claims (a small file can claim millions of cells)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True)
        return [list(row) for row in rows]
    finally:
        book.close()
