"""Paper forms (issue 21): the template, a spreadsheet of 300 forms with two bad rows
refused whole with a report that says where and how to fix, the fixed file imported,
importing it again adding nobody, and the digest and exports counting them as entered by
staff; matching on both databases."""

from __future__ import annotations

import dataclasses
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot import cli
from flows.lang import Problem
from flows.model import Event
from flows.paper import read_forms
from flows.places import Area
from storage import paper
from storage.models import Assessment, Person
from tests.chat import DispatchChat, register_async
from tests.test_admin import HA_NOI, HOAN_KIEM, make_admin

FAMILIES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
GIVEN = (
    "An Bình Chi Dũng Giang Hà Hải Hạnh Hiền Hoa Hùng Hương Khánh Lan Linh Long Mai Minh "
    "Nam Nga Ngọc Phúc Quang Sơn Tâm Thảo Thu Trang Tuấn Yến"
).split()


def forms(count: int = 300) -> list[list[object]]:
    rows = []
    for n in range(count):
        name = f"{FAMILIES[n % 10]} Thị {GIVEN[n // 10 % 30]}"
        answers = [1 + (n + k) % 3 for k in range(10)] if n % 5 else [None] * 10
        phone = f"09{n:08d}" if n % 2 else None
        rows.append([name, 1940 + n % 60, "Nữ", 1 + n % 4, f"Thôn {n % 7 + 1}", phone, *answers])
    return rows


def write(template, path, rows) -> None:
    """The rows typed into the template from row 2, as staff do in Excel."""
    book = load_workbook(template)
    sheet = book["Danh sách"]
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=value)
    book.save(path)


def test_a_spreadsheet_of_300_forms_with_two_mistakes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'paper.sqlite3'}")
    monkeypatch.delenv("CDHT_LANGUAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["import", "--template", "mau.xlsx"]) == 0
    assert "mau.xlsx" in capsys.readouterr().out
    guide = load_workbook(tmp_path / "mau.xlsx").worksheets[1]
    text = "\n".join(str(v) for row in guide.iter_rows(values_only=True) for v in row if v)
    assert "Nhóm 4: Học sinh, sinh viên, học viên" in text and "1. Hằng ngày" in text

    rows = forms()
    good_year, good_answer = rows[3][1], rows[7][8]
    rows[3][1] = 19500  # row 5 of the sheet: a year mistyped
    rows[7][8] = 7  # row 9: an option that does not exist
    write(tmp_path / "mau.xlsx", tmp_path / "xa.xlsx", rows)
    assert cli.main(["import", "xa.xlsx", "--scope", "Hoàn Kiếm"]) == 1
    err = capsys.readouterr().err
    assert "Không ghi gì: 2 dòng có lỗi" in err
    assert "Dòng 5, cột “Năm sinh”: “19500” không phải năm sinh" in err
    assert "Dòng 9, cột “1.3”: “7”: xin ghi số thứ tự của phương án được đánh dấu, từ 1 đến" in err
    assert cli.main(["digest", "--scope", "xa:70"]) == 0
    assert "Đã đăng ký: 0" in capsys.readouterr().out  # nothing was written

    rows[3][1], rows[7][8] = good_year, good_answer  # fixed from the report
    write(tmp_path / "mau.xlsx", tmp_path / "xa.xlsx", rows)
    assert cli.main(["import", "xa.xlsx", "--scope", "xa:70"]) == 0
    assert "đã thêm 300 người, cập nhật 0, giữ nguyên 0; 0 dòng có lỗi" in capsys.readouterr().out
    assert cli.main(["import", "xa.xlsx", "--scope", "70"]) == 0  # the same file again
    assert "đã thêm 0 người, cập nhật 0, giữ nguyên 300" in capsys.readouterr().out

    assert cli.main(["digest", "--scope", "xa:70"]) == 0
    digest = capsys.readouterr().out
    assert "Đã đăng ký: 300" in digest and "từ phiếu giấy do quản trị viên nhập: 300" in digest
    assert "Đã gửi tự đánh giá (2026): 240" in digest  # the forms with answers
    assert cli.main(["export", "--scope", "xa:70", "--out", "r.xlsx"]) == 0
    table = list(load_workbook(tmp_path / "r.xlsx").worksheets[0].iter_rows(values_only=True))
    assert table[2][-1] == "Nhập từ phiếu giấy" and table[-1][0] == "Tổng cộng"
    assert table[-1][4] == 300 and table[-1][-1] == 300

    # --partial writes the rows without mistakes and says which were refused.
    more = [["Bùi Văn Mới", 1970, "Nam", 1, "", "", *[1] * 10], ["X", 1970, "Nam", 1]]
    write(tmp_path / "mau.xlsx", tmp_path / "them.xlsx", more)
    assert cli.main(["import", "them.xlsx", "--scope", "xa:70", "--partial"]) == 1
    out = capsys.readouterr().out
    assert "đã thêm 1 người" in out and "1 dòng có lỗi, chưa ghi" in out
    assert "Dòng 3, cột “Họ và tên”" in out


def test_rows_are_read_forgivingly_and_checked_whole(core):
    head = ["họ và tên", "NĂM SINH", "Giới tính", "Nhóm", "Thôn, tổ dân phố", "Điện thoại"]
    head += [f"{i.code}" for i in core.criteria.indicators]
    rows = [
        head,
        ["Lò Thị Dung", 1955.0, "nu", "Nhóm 1", None, 912345678, *[2] * 10],  # Excel's numbers
        [None] * 16,  # an empty row is skipped
        ["Lò Thị Dung", 1955, "Nữ", 1, None, "0912345678", *[2] * 10],  # the same again
        ["Hà Văn Bảy", 1960, "Nam", 2, "Bản Mường", "", 1, 1, None, *[1] * 7],
        ["Hà Văn Tám", 1960, "Ông", 9, "", "12345", *[None] * 10],
    ]
    found, errors = read_forms(rows, core.criteria, 2026)
    [dung] = found
    assert dung.phone == "0912345678" and dung.gender == "female" and dung.group == "1"
    assert len(dung.answers) == 10 and dung.answers["1.1"] == 1
    t = core.langs["en"]
    said = [e.text(t) for e in errors]
    assert said[0].startswith("Row 4, column “Họ và tên”: the same person as row 2")
    assert "Row 5, column “1.3”: answer every indicator, or none" in said[1]
    assert any(
        s.startswith("Row 6, column “Giới tính”: “Ông”: write one of Nam, Nữ, Khác") for s in said
    )
    assert any("Row 6, column “Nhóm”" in s for s in said)
    assert any("Row 6, column “Điện thoại”" in s for s in said)
    with pytest.raises(Problem, match="lacks the columns “Họ và tên”"):
        read_forms([["Tên"]], core.criteria, 2026)
    with pytest.raises(Problem, match="no forms"):
        read_forms([head, [None] * 16], core.criteria, 2026)
    # A cell is text, not a formula; two namesakes of one age in two villages are two.
    found, errors = read_forms(
        [
            head,
            ['=HYPERLINK("http://x.example","Xem")', 1960, "Nữ", 1, "", "", *[None] * 10],
            ["Nguyễn Thị Lan", 1960, "Nữ", 1, "Thôn 5", "", *[None] * 10],
            ["Nguyễn Thị Lan", 1960, "Nữ", 1, "Thôn 6", "", *[None] * 10],
        ],
        core.criteria,
        2026,
    )
    assert [f.village for f in found] == ["Thôn 5", "Thôn 6"]
    assert [e.text(t)[:28] for e in errors] == ["Row 2, column “Họ và tên”: “"]


async def test_matching_on_both_databases(db, dispatcher, clock, core):
    area = Area(HA_NOI, HOAN_KIEM)
    # Someone who registered themselves in chat, and is also on a paper form.
    await register_async(DispatchChat(dispatcher, user="hoa"))
    header = ["Họ và tên", "Năm sinh", "Giới tính", "Nhóm", "Thôn, tổ dân phố", "Điện thoại"]
    header += [i.code for i in core.criteria.indicators]
    sheet = [
        header,
        ["nguyen thi hoa", 1984, "Nữ", 1, "", "", *[1] * 10],  # her, without accents
        ["Trần Văn Hai", 1950, "Nam", 1, "Thôn 1", "0987000111", *[2] * 10],
    ]
    forms, errors = read_forms(sheet, core.criteria, 2026)
    assert not errors

    def run(conn):
        return paper.import_forms(conn, forms, area, 2026, core.criteria, None, clock.now())

    first = await db.run(run)
    assert (first.added, first.updated, first.unchanged, first.own) == (1, 0, 0, 1)
    again = await db.run(run)
    assert (again.added, again.updated, again.unchanged, again.own) == (0, 0, 1, 1)
    # A corrected form updates the same person, answers and all, and the gender; in
    # another village it would be another person (namesakes of one age).
    sheet[2][7] = 1
    sheet[2][2] = "Khác"
    forms, _ = read_forms(sheet, core.criteria, 2026)
    clock.current += timedelta(hours=1)
    changed = await db.run(run)
    assert (changed.added, changed.updated) == (0, 1)

    def counts(conn):
        people = conn.execute(
            select(func.count()).select_from(Person).where(Person.entered_at.is_not(None))
        ).scalar_one()
        submitted = conn.execute(
            select(func.count()).select_from(Assessment).where(Assessment.status == "submitted")
        ).scalar_one()
        return people, submitted

    assert await db.run(counts) == (1, 1)
    # The admin sees them in the named list, marked.
    admin = await make_admin(db, dispatcher, clock, "ward", area)
    await admin.type("/export names")
    [named] = [r for r in admin.replies if r.kind == "file"]
    rows = list(load_workbook(io.BytesIO(named.file_data)).active.iter_rows(values_only=True))
    [hai] = [r for r in rows[3:] if r[1] == "Trần Văn Hai"]
    assert hai[-1] == "x" and hai[4] == "0987000111" and hai[3] == "Thôn 1"


async def test_the_person_of_a_paper_form_takes_it_over_in_chat(db, dispatcher, clock, core):
    header = ["Họ và tên", "Năm sinh", "Giới tính", "Nhóm", "Thôn, tổ dân phố", "Điện thoại"]
    header += [i.code for i in core.criteria.indicators]
    sheet = [header, ["Trần Văn Hai", 1950, "Nam", 1, "Thôn 1", "0987000111", *[1] * 10]]
    forms, _ = read_forms(sheet, core.criteria, 2026)
    area = Area(HA_NOI, HOAN_KIEM)
    await db.run(
        lambda conn: paper.import_forms(conn, forms, area, 2026, core.criteria, None, clock.now())
    )
    steps = ["/start", "Trần Văn Hai", "1950", "1", "1", "ha noi", "hoan kiem", "Thôn 1"]

    # Someone else giving the same number says no: a registration of their own.
    other = DispatchChat(dispatcher, user="other")
    for text in [*steps, "0987 000 111"]:
        await other.type(text)
    assert (
        "Phường Hoàn Kiếm đã nhập một phiếu giấy có số điện thoại này: Trần Văn Hai" in other.text
    )
    await other.tap("Không, đó là người khác")
    assert "Xin kiểm tra lại thông tin" in other.text

    hai = DispatchChat(dispatcher, user="hai")
    for text in [*steps, "0987000111"]:
        await hai.type(text)
    assert "Trần Văn Hai, sinh năm 1950. Đó có phải là bạn không?" in hai.text
    await hai.tap("Đúng, là tôi")
    assert "Cảm ơn bạn. Phiếu giấy của bạn nay đã ở đây" in hai.text
    await hai.type("/ketqua")
    assert "100" in hai.text  # the paper form's result is theirs now

    # A stranger typing that number with other details is shown nothing.
    stranger = DispatchChat(dispatcher, user="stranger")
    for text in ["/start", "Lê Văn Lạ", "1990", "1", "1", "ha noi", "hoan kiem", "", "0987000111"]:
        if text:
            await stranger.type(text)
        else:
            await stranger.tap("Bỏ qua")
    assert "Trần Văn Hai" not in stranger.text and "phiếu giấy" not in stranger.text

    # Taken: the next person with that number is not asked, nobody was added.
    third = DispatchChat(dispatcher, user="third")
    for text in [*steps, "0987000111"]:
        await third.type(text)
    assert "phiếu giấy" not in third.text

    def people(conn):
        return conn.execute(
            select(func.count()).select_from(Person).where(Person.phone == "0987000111")
        ).scalar_one()

    assert await db.run(people) == 1  # the other two have not confirmed yet
    # Taken over, the form is theirs: importing it again changes nothing of it.
    forms[0] = dataclasses.replace(forms[0], gender="other")
    again = await db.run(
        lambda conn: paper.import_forms(conn, forms, area, 2026, core.criteria, None, clock.now())
    )
    assert (again.added, again.updated, again.own) == (0, 0, 1)


async def test_a_commune_officer_enters_one_paper_form_in_chat(db, dispatcher, clock):
    ward = await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, HOAN_KIEM))
    await ward.type("/language vi")
    await ward.type("/nhaphoso")
    assert "Nhập phiếu giấy cho Phường Hoàn Kiếm" in ward.text
    assert "họ và tên của người khai" in ward.text
    await ward.type("Lò 7")  # not a name
    assert "Xin gõ họ và tên đầy đủ của người đó" in ward.text
    await ward.type("Lò Văn Pằn")
    await ward.type("năm 48")  # two digits: a year is asked with four
    assert "Xin gõ năm sinh gồm 4 chữ số" in ward.text
    await ward.type("1948")
    await ward.tap("Nam")
    await ward.tap("Nhóm 1")
    await ward.type("Bản Mường")
    await ward.tap("Bỏ qua")  # no phone
    assert "Câu 1/10" in ward.text and "Phiếu không có phần tự đánh giá" in ward.labels
    old = ward.question.prompt
    for _ in range(10):
        await ward.type("1")  # the first option of each question
    assert "Xin kiểm tra lại phiếu trước khi lưu" in ward.text
    assert "• Họ và tên: Lò Văn Pằn" in ward.text and "Tự đánh giá: 100/100 điểm." in ward.text
    await ward.send(Event("option", option="1", prompt=old))  # a stale button
    assert "Xin kiểm tra lại phiếu" in ward.text
    await ward.tap("Lưu phiếu")
    assert "Đã lưu phiếu của Lò Văn Pằn, sinh năm 1948" in ward.text and "/nhaphoso" in ward.text
    assert "Họ và tên của bạn" not in ward.text  # not pushed into registering themself
    await ward.type("Lò Văn Khác")  # the next villager's name, typed out of habit
    assert "Bạn là quản trị viên: gửi /quantri để xem các lệnh" in ward.text
    assert "Họ và tên của bạn" not in ward.text

    # Counted, marked as entered by this admin; the same form again updates nobody twice.
    def entered(conn):
        return conn.execute(
            select(Person.full_name, Person.entered_by, Assessment.total)
            .join(Assessment, Assessment.person_id == Person.id)
            .where(Person.entered_at.is_not(None))
        ).all()

    [(name, by, total)] = await db.run(entered)
    assert (name, total) == ("Lò Văn Pằn", 100) and by is not None
    await ward.type("/nhaphoso")
    for text in ("Lò Văn Pằn", "1948"):
        await ward.type(text)
    await ward.tap("Nam")
    await ward.tap("Nhóm 1")
    await ward.tap("Bỏ qua")
    await ward.tap("Bỏ qua")
    await ward.tap("Phiếu không có phần tự đánh giá")
    assert "Phiếu không có phần tự đánh giá: chỉ lưu thông tin đăng ký." in ward.text
    await ward.tap("Lưu phiếu")
    assert len(await db.run(entered)) == 1

    # Cancelled half-way: nothing saved; a province admin names the commune.
    await ward.type("/nhaphoso")
    await ward.type("Hà Thị Mới")
    await ward.type("huy")
    assert "Đã dừng: phiếu này chưa được lưu" in ward.text
    boss = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    await boss.type("/paperform")
    assert "write /paperform and its name" in boss.text
    await boss.type("/paperform xa:4")
    assert "A paper form for Phường Ba Đình" in boss.text
    citizen = DispatchChat(dispatcher, user="someone")
    await citizen.type("/nhaphoso")
    assert "Lệnh này dành cho quản trị viên" in citizen.text


async def test_reimporting_is_stable_with_namesakes_and_missing_phones(db, clock, core):
    """Issue 21 review: a person with and without a phone, namesakes in two villages:
    the same file imported again changes nobody, however often."""
    header = ["Họ và tên", "Năm sinh", "Giới tính", "Nhóm", "Thôn, tổ dân phố", "Điện thoại"]
    header += [i.code for i in core.criteria.indicators]
    sheet = [
        header,
        ["Võ Văn Số", 1950, "Nam", 1, "", "", *[1] * 10],
        ["Võ Văn Số", 1950, "Nam", 1, "", "0987000222", *[3] * 10],
        ["Nguyễn Thị Lan", 1960, "Nữ", 1, "Thôn 5", "", *[None] * 10],
        ["Nguyễn Thị Lan", 1960, "Nữ", 1, "Thôn 6", "", *[None] * 10],
    ]
    forms, errors = read_forms(sheet, core.criteria, 2026)
    assert not errors and len(forms) == 4
    area = Area(HA_NOI, HOAN_KIEM)

    def run(conn):
        return paper.import_forms(conn, forms, area, 2026, core.criteria, None, clock.now())

    assert (await db.run(run)).added == 4
    for _ in range(3):
        again = await db.run(run)
        assert (again.added, again.updated, again.unchanged) == (0, 0, 4)


async def test_a_form_for_someone_registered_in_chat_is_not_saved_over_them(db, dispatcher, clock):
    await register_async(DispatchChat(dispatcher, user="hoa"))  # Nguyễn Thị Hoa, 1984
    ward = await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, HOAN_KIEM))
    await ward.type("/language vi")
    await ward.type("/nhaphoso")
    for text in ("nguyen thi hoa", "1984"):
        await ward.type(text)
    await ward.tap("Nữ")
    await ward.tap("Nhóm 1")
    await ward.tap("Bỏ qua")
    await ward.tap("Bỏ qua")
    await ward.tap("Phiếu không có phần tự đánh giá")
    assert "đã tự đăng ký trên Telegram hoặc Zalo: giữ nguyên thông tin" in ward.text
    assert "Lưu phiếu" not in ward.labels
    await ward.tap("Hủy phiếu này")
    assert "Đã dừng" in ward.text

    def paper_people(conn):
        return conn.execute(
            select(func.count()).select_from(Person).where(Person.entered_at.is_not(None))
        ).scalar_one()

    assert await db.run(paper_people) == 0


def test_a_spreadsheet_that_unpacks_to_too_much_is_not_read():
    """A 100 KB file can hold a row of a million cells: refused before openpyxl reads."""
    import zipfile

    from bot import paper_files

    book = io.BytesIO()
    from openpyxl import Workbook

    made = Workbook()
    made.active.title = "Danh sách"
    made.save(book)
    source = zipfile.ZipFile(io.BytesIO(book.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                cells = '<c t="inlineStr"><is><t>x</t></is></c>' * 1_000_000
                data = data.replace(
                    b"</sheetData>", f'<row r="2">{cells}</row></sheetData>'.encode()
                )
            bomb.writestr(name, data)
    assert len(out.getvalue()) < 200_000
    assert paper_files.read_bytes(out.getvalue()) is None


async def test_family_members_sharing_a_phone_each_find_their_form(db, dispatcher, clock, core):
    header = ["Họ và tên", "Năm sinh", "Giới tính", "Nhóm", "Thôn, tổ dân phố", "Điện thoại"]
    header += [i.code for i in core.criteria.indicators]
    sheet = [
        header,
        ["Lò Thị Mai", 1952, "Nữ", 1, "Bản Mường", "0987000333", *[None] * 10],
        ["Lò Văn Pằn", 1948, "Nam", 1, "Bản Mường", "0987000333", *[None] * 10],
    ]
    forms, _ = read_forms(sheet, core.criteria, 2026)
    area = Area(HA_NOI, HOAN_KIEM)
    await db.run(
        lambda conn: paper.import_forms(conn, forms, area, 2026, core.criteria, None, clock.now())
    )
    pan = DispatchChat(dispatcher, user="pan")
    for text in ["/start", "Lò Văn Pằn", "1948", "1", "1", "ha noi", "hoan kiem", "Bản Mường"]:
        await pan.type(text)
    await pan.type("0987000333")
    assert "Lò Văn Pằn, sinh năm 1948. Đó có phải là bạn không?" in pan.text  # not Mai's
    await pan.tap("Đúng, là tôi")  # his now: a form for him changes nothing
    # Another Lò Văn Pằn of 1948, in another village with his own phone, is someone else:
    # staff can enter him in chat.
    ward = await make_admin(db, dispatcher, clock, "ward", area)
    await ward.type("/language vi")
    await ward.type("/nhaphoso")
    for text in ("Lò Văn Pằn", "1948"):
        await ward.type(text)
    await ward.tap("Nam")
    await ward.tap("Nhóm 1")
    await ward.type("Bản Khác")
    await ward.type("0912000444")
    await ward.tap("Phiếu không có phần tự đánh giá")
    assert "Lưu phiếu" in ward.labels
    await ward.tap("Nhập lại phiếu này từ đầu")
    for text in ("Lò Văn Pằn", "1948"):
        await ward.type(text)
    await ward.tap("Nam")
    await ward.tap("Nhóm 1")
    await ward.type("Bản Mường")  # his village, no phone: him
    await ward.tap("Bỏ qua")
    await ward.tap("Phiếu không có phần tự đánh giá")
    assert "Lưu phiếu" not in ward.labels and "đã tự đăng ký" in ward.text
