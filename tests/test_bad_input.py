"""Bad text (issue 19): invisible and control characters, digits that are not ASCII, codes
too long to be numbers. Each gets a clear answer, never the generic apology, and nothing
of it reaches the database or the log."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from flows.model import Event
from flows.text import clean, number, tidy
from storage.db import describe
from tests.chat import TO_COMMUNE, DispatchChat, FlowChat


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Nguyễn\x00 An", "Nguyễn An"),
        ("Trần\u200b\u200c\u200d\ufeff Bình", "Trần Bình"),  # zero-width and the BOM
        ("Lê \u202eyôH\u202c Văn", "Lê yôH Văn"),  # a bidi override would flip the name
        ("Phạm\u2066 Văn\u2069 Cường\x07\x1b", "Phạm Văn Cường"),
        ("Nguye\u0302\u0303n", "Nguyễn"),  # decomposed accents become one character (NFC)
    ],
)
def test_invisible_and_control_characters_are_taken_out(typed, kept):
    assert tidy(typed) == kept
    assert Event.from_text(typed).text == clean(typed)


def test_digits_are_read_as_they_look_and_never_crash():
    assert number("¹⁹⁸⁴", 4) == 1984
    assert number("１９８４", 4) == 1984
    assert number("1" * 5000, 6) is None  # int() refuses over 4,300 digits
    assert number("12a", 4) is None


def test_a_superscript_year_and_a_huge_deep_link_get_clear_answers(world):
    chat = FlowChat(world)
    chat.type_all("/start", "Trần An")
    chat.type("¹⁹⁸⁴")
    assert "Giới tính" in chat.text
    chat = FlowChat(world)
    chat.type("/start c" + "7" * 5000)  # not a commune code: registration starts as usual
    assert "Họ và tên" in chat.text
    chat.type_all(*TO_COMMUNE[1:])
    chat.type("²")  # a superscript two: the second option, or the question again
    assert "Xin lỗi" not in chat.text


def test_a_number_typed_for_an_option_is_read_forgivingly(world):
    chat = FlowChat(world)
    chat.type_all("/start", "Trần An", "2000")
    chat.type("２")  # fullwidth 2: "Nữ"
    assert chat.state["draft"]["gender"] == "female"


async def test_typed_text_with_nul_is_saved_clean_on_both_databases(dispatcher):
    chat = DispatchChat(dispatcher)
    await chat.type("/start")
    await chat.type("Đỗ\x00 Thị\u200b Lan")
    assert "Bạn sinh năm nào?" in chat.text
    await chat.type("/ketqua")
    assert "Xin lỗi" not in chat.text


async def test_database_errors_are_logged_without_the_values(db):
    """A driver quotes the value it refused; the log line must not."""
    quoting = {  # a statement each database refuses, quoting what it was given
        "postgresql": "SELECT CAST('Nguyễn Thị Hoa 0912345678' AS integer)",
        "sqlite": "SELECT [Nguyễn Thị Hoa 0912345678] FROM people",
    }[db.dialect]

    def fail(conn):
        conn.execute(text(quoting))

    with pytest.raises(Exception) as raised:
        await db.run(fail)
    assert "0912345678" in str(raised.value)  # the driver's own message has it
    line = describe(raised.value)
    assert "Nguyễn" not in line and "0912345678" not in line
    assert line.startswith(("DataError", "OperationalError")), line
    assert "tests/test_bad_input.py" in line  # where it happened
