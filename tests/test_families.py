"""Learning families (issue 20): a household head registers the family in chat and gets a
code, members join with it, the head self-assesses the family, and the indicator on the
adults' Learning Citizen titles follows the members' results; admins see families in the
digest and the export. Through the real dispatcher and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from bot import reports
from bot.data import load_criteria
from flows.criteria import FAMILY_SET, CriteriaError, parse_criteria
from flows.digest import digest_text
from flows.localtime import local_day
from flows.places import Area
from flows.scoring import counted_choice, score
from storage import families as family_store
from tests.chat import DispatchChat
from tests.test_admin import make_admin

HA_NOI, HOAN_KIEM = 1, 70
GDHT = load_criteria(FAMILY_SET)
ADULTS = GDHT.group("family").question("2.1")


# --- the criteria ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("titled", "adults", "points"),
    [
        (0, 0, 0),
        (0, 3, 0),
        (1, 3, 0),  # 33%: under QĐ 677's 40% for 2025
        (2, 5, 5),  # 40%: the 2025 target, the least that passes
        (1, 2, 5),
        (3, 5, 10),  # 60%: the 2030 target
        (2, 3, 10),
        (4, 4, 10),
    ],
)
def test_the_adults_indicator_is_counted_from_the_members(titled, adults, points):
    assert ADULTS.counted == "cdht_adults"
    assert ADULTS.options[counted_choice(ADULTS, titled, adults)].points == points


@pytest.mark.parametrize(
    ("choices", "total", "title"),
    [
        ({}, 100, True),
        ({"2.1": 1}, 95, True),  # 40–60% of adults: 5 points, still the title
        ({"2.1": 2}, 90, False),  # under 40%: below the minimum of 5
        ({"1.1": 3, "1.2": 3, "1.3": 3}, 100, True),  # no children: full points
        ({"2.2": 1, "2.3": 1, "3.1": 1, "3.2": 1}, 80, True),  # 80: the threshold
        ({"2.2": 1, "2.3": 1, "3.1": 1, "3.2": 1, "4.1": 1}, 75, False),
    ],
)
def test_the_family_title_rule(choices, total, title):
    answers = {i.code: choices.get(i.code, 0) for i in GDHT.indicators}
    result = score(GDHT, "family", answers)
    assert (result.total, result.title) == (total, title)


def test_the_family_criteria_say_what_is_inferred():
    assert {"decision", "wording", "counted", "replace"} <= set(GDHT.provenance)
    assert "448/QĐ-KHVN" in GDHT.provenance["decision"]
    assert "inferred" in GDHT.provenance["wording"]
    assert [c.max_points for c in GDHT.competencies] == [30, 30, 20, 20]


SMALL_COUNTED = """
id: small
languages: [vi]
name: {vi: Nhỏ}
provenance: {decision: x, wording: x, replace: x}
max_total: 10
thresholds: {title: {total: 5, min_indicator: 0}}
competencies:
  - code: "1"
    name: {vi: Một}
    max: 10
    indicators:
      - {code: "1.1", max: 10, name: {vi: Một một}}
groups:
  - code: g
    name: {vi: Nhóm}
    questions:
      "1.1":
        counted: COUNTED
        text: {vi: Câu}
        hint: {vi: Gợi ý}
        suggestion: {vi: Đề nghị}
        options:
          - {points: 10, share: FIRST, text: {vi: Nhiều}}
          - {points: 5, share: 40, text: {vi: Vừa}}
          - {points: 0, share: LAST, text: {vi: Ít}}
"""


@pytest.mark.parametrize(
    ("counted", "first", "last", "problem"),
    [
        ("cdht_adults", 60, 0, None),
        ("votes", 60, 0, "the bot cannot count 'votes'"),
        ("cdht_adults", 30, 0, "must go down"),
        ("cdht_adults", 60, 10, "share: 0"),
    ],
)
def test_a_counted_question_is_checked_when_loaded(counted, first, last, problem):
    text = (
        SMALL_COUNTED.replace("COUNTED", counted)
        .replace("FIRST", str(first))
        .replace("LAST", str(last))
    )
    if problem is None:
        assert parse_criteria(text, "small.yaml").groups[0].questions[0].counted == counted
        return
    with pytest.raises(CriteriaError) as caught:
        parse_criteria(text, "small.yaml")
    assert problem in str(caught.value) and "line" in str(caught.value)


# --- in chat -----------------------------------------------------------------------------


async def citizen(
    dispatcher, user: str, name: str, commune: str = "hoan kiem", born: str = "1984"
) -> DispatchChat:
    chat = DispatchChat(dispatcher, user=user)
    for text in ("/start", name, born, "2", "1", "ha noi", commune, "Tổ 5", "Bỏ qua", "1"):
        await chat.type(text)
    assert "Bạn muốn làm gì tiếp?" in chat.text, chat.text
    return chat


async def reach_the_title(chat: DispatchChat) -> None:
    """Self-score with the best answers and submit: the title is reached by self-score."""
    await chat.tap("Bắt đầu tự đánh giá")
    for _ in range(10):
        await chat.type("1")
    await chat.tap("Gửi kết quả")
    assert "100/100 điểm" in chat.text


async def register_family(head: DispatchChat, adults: str = "3") -> str:
    await head.tap("Gia đình học tập")
    assert "chủ hộ đăng ký gia đình" in head.text
    await head.tap("Đăng ký gia đình")
    assert "bao nhiêu người lớn" in head.text
    await head.tap(adults)
    found = re.search(r"Mã gia đình là (\S+)\.", head.text)
    assert found, head.text
    return found.group(1)


async def test_a_household_registers_two_members_join_and_the_result_follows_their_titles(
    db, dispatcher, clock
):
    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    code = await register_family(an)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert f"/giadinh {code}" in an.text

    binh = await citizen(dispatcher, "binh", "Trần Thị Bình")
    await reach_the_title(binh)
    await binh.type(f"/giadinh {code.lower().replace('-', ' ')}")  # typed loosely
    assert "Tham gia gia đình Nguyễn Văn An (đăng ký xây dựng Gia đình học tập)?" in binh.text
    await binh.tap("Tham gia")
    assert "Xong. Bạn đã tham gia gia đình Nguyễn Văn An" in binh.text

    chi = await citizen(dispatcher, "chi", "Nguyễn Văn Chí")
    await chi.type(f"/giadinh {code}")
    await chi.tap("Tham gia")

    await an.type("/giadinh")
    menu = an.text
    assert "Gia đình Nguyễn Văn An — đăng ký xây dựng Gia đình học tập (Phường Hoàn Kiếm" in menu
    assert "Đã tham gia: 3 người (trong nhà có 3 người lớn)." in menu
    assert "• Nguyễn Văn An (chủ hộ) — bạn: chưa tự đánh giá" in menu
    assert "• Trần Thị Bình: ✅ tự đánh giá đạt điều kiện danh hiệu" in menu
    assert "• Nguyễn Văn Chí: chưa tự đánh giá" in menu
    await an.tap("Tự đánh giá gia đình")
    assert "Có 9 câu hỏi về gia đình bạn trong năm 2026" in an.text
    assert "Câu 1/9" in an.text and "💡" in an.text
    await an.type("4")  # no school-age children at home: full points
    await an.tap("Quay lại")
    assert "✓ Nhà không có cháu trong tuổi đi học" in an.labels
    for _ in range(9):
        await an.type("1")
    review = an.text
    assert "2.1 Người lớn đạt Công dân học tập: 0/10 — 1/3 người lớn đạt danh hiệu" in review
    assert "Tổng: 90/100 điểm" in review and "gia đình chưa đạt tiêu chí Gia đình học tập" in review
    await an.tap("Gửi kết quả")
    assert "Đã lưu bản tự đánh giá của gia đình" in an.text
    assert "Kết quả tự đánh giá của gia đình năm 2026: 90/100 điểm." in an.text
    assert "Chỉ số 2.1 Người lớn đạt Công dân học tập được 0 điểm" in an.text

    # The head reaches the title too: 2 of 3 adults, and the result can follow.
    await an.tap("Đóng")
    await reach_the_title(an)
    await an.type("/giadinh")
    assert "Cập nhật kết quả (danh hiệu của thành viên)" in an.labels
    await an.tap("Cập nhật kết quả")
    assert "Đã cập nhật kết quả của gia đình" in an.text
    assert "100/100 điểm" in an.text
    assert "✅ Theo bản tự đánh giá, gia đình đạt tiêu chí Gia đình học tập." in an.text
    assert "Cập nhật kết quả (danh hiệu của thành viên)" not in an.labels

    # A member sees the family and its result, and may leave it.
    await chi.type("/giadinh")
    assert "• Nguyễn Văn Chí — bạn: chưa tự đánh giá" in chi.text
    assert "Tự đánh giá gia đình" not in chi.labels and "Thôi tham gia" in chi.labels
    await chi.tap("Xem kết quả")
    assert "100/100 điểm" in chi.text
    await chi.tap("Thôi tham gia")
    await chi.tap("Đồng ý thôi tham gia")
    assert "Bạn đã thôi tham gia gia đình Nguyễn Văn An." in chi.text

    area = Area(HA_NOI, HOAN_KIEM)
    tally = await db.read(lambda conn: family_store.tally(conn, area, 2026))
    assert [(line.registered, line.submitted, line.reached) for line in tally.lines] == [(1, 1, 1)]
    assert (tally.total("adults"), tally.total("titled")) == (3, 2)


async def test_wrong_codes_and_people_who_cannot_join(db, dispatcher, clock):
    stranger = DispatchChat(dispatcher, user="stranger")
    await stranger.type("/giadinh ABCD-EFGH")
    assert "Xin đăng ký trước (các câu hỏi dưới đây)" in stranger.text
    assert "Họ và tên của bạn là gì?" in stranger.text

    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    code = await register_family(an, adults="2")
    binh = await citizen(dispatcher, "binh", "Trần Thị Bình")
    await binh.type("/giadinh ZZZZ-ZZZZ")
    assert "Không tìm thấy gia đình có mã “ZZZZ-ZZZZ”" in binh.text
    assert "Bạn muốn làm gì tiếp?" in binh.text  # and where they were, again
    await binh.tap("Gia đình học tập")
    await binh.type("xin chao")
    assert "Mã gia đình gồm 8 chữ và số" in binh.text
    await binh.type(code)  # typed on the family's screen: the same as /giadinh CODE
    await binh.tap("Không tham gia")
    assert "Đã hủy: bạn chưa tham gia gia đình." in binh.text
    for _ in range(4):  # five wrong codes in the hour: no code is looked at any more
        await binh.type("/giadinh QQQQ-QQQQ")
    await binh.type(f"/giadinh {code}")
    assert "Tham gia" not in binh.labels

    # The head of a family others joined cannot join another one without ending theirs.
    chi = await citizen(dispatcher, "chi", "Nguyễn Văn Chí")
    await chi.type(f"/giadinh {code}")
    await chi.tap("Tham gia")
    dung = await citizen(dispatcher, "dung", "Lê Văn Dũng")
    other = await register_family(dung)
    await an.type(f"/giadinh {other}")
    assert "Bạn là chủ hộ của một gia đình đã có người tham gia" in an.text
    await an.type(f"/giadinh {code}")
    assert "Đây là mã của gia đình bạn" in an.text
    await chi.type(f"/giadinh {code}")
    assert "Bạn đã là thành viên của gia đình này." in chi.text

    # "Tham gia" tapped after the family ended: not joined, and told so.
    eve = await citizen(dispatcher, "eve", "Lê Thị Én")
    await eve.type(f"/giadinh {other}")
    assert "Tham gia" in eve.labels
    await dung.type("/giadinh")
    await dung.tap("Hủy đăng ký")
    await dung.tap("Đồng ý hủy đăng ký")
    assert "Gia đình bạn đã hủy đăng ký Gia đình học tập." in dung.text
    await eve.tap("Tham gia")
    assert "Mã này không còn dùng được (gia đình đã hủy đăng ký hoặc đổi mã)" in eve.text
    await eve.type("/giadinh")
    assert "Đăng ký gia đình (tôi là chủ hộ)" in eve.labels


async def test_adults_typed_and_changed(db, dispatcher, clock):
    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    await an.tap("Gia đình học tập")
    await an.tap("Đăng ký gia đình")
    await an.type("bốn mươi")
    assert "Xin gõ một số từ 1 đến 30" in an.text
    await an.type("8")
    assert "Mã gia đình là" in an.text
    await an.type("/giadinh")
    assert "trong nhà có 8 người lớn" in an.text
    await an.tap("Sửa số người lớn")
    await an.tap("2")
    assert "Đã lưu: trong nhà có 2 người lớn." in an.text
    assert "trong nhà có 2 người lớn" in an.text


async def test_delete_by_the_head_ends_the_family_by_a_member_only_their_membership(
    db, dispatcher, clock
):
    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    code = await register_family(an)
    binh = await citizen(dispatcher, "binh", "Trần Thị Bình")
    await binh.type(f"/giadinh {code}")
    await binh.tap("Tham gia")
    chi = await citizen(dispatcher, "chi", "Nguyễn Văn Chí")
    await chi.type(f"/giadinh {code}")
    await chi.tap("Tham gia")

    await chi.type("/xoa")
    await chi.tap("Xóa")
    await an.type("/giadinh")
    assert "Đã tham gia: 2 người" in an.text and "Chí" not in an.text

    await an.type("/xoa")
    await an.tap("Xóa")
    await binh.type("/giadinh")
    assert "Đăng ký gia đình (tôi là chủ hộ)" in binh.labels  # in no family any more
    area = Area(HA_NOI, HOAN_KIEM)
    tally = await db.read(lambda conn: family_store.tally(conn, area, 2026))
    assert tally.lines == ()


async def test_admins_see_families_in_the_digest_and_the_export(db, dispatcher, clock, core):
    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    code = await register_family(an, adults="2")
    binh = await citizen(dispatcher, "binh", "Trần Thị Bình")
    await reach_the_title(binh)
    await binh.type(f"/giadinh {code}")
    await binh.tap("Tham gia")
    await reach_the_title(an)
    await an.type("/giadinh")
    await an.tap("Tự đánh giá gia đình")
    for _ in range(9):
        await an.type("1")
    await an.tap("Gửi kết quả")
    assert "✅ Theo bản tự đánh giá, gia đình đạt tiêu chí" in an.text
    await citizen(dispatcher, "chi", "Nguyễn Văn Chí")  # registered, in no family

    admin = await make_admin(db, dispatcher, clock, "officer", Area(HA_NOI, HOAN_KIEM))
    await admin.type("/language vi")
    await admin.type("/chitieu hộ 1.200")
    assert "1.200 hộ" in admin.text
    day = local_day(clock.now())
    area = Area(HA_NOI)
    digest = await db.read(lambda conn: reports.load_digest(conn, area, 2026, day))
    text = digest_text(digest, core.places, core.criteria, core.langs["vi"])
    assert (
        "Gia đình học tập (năm 2026): 1 gia đình đăng ký, 0 đang tự đánh giá, 1 đã tự đánh "
        "giá, trong đó 1 tự đánh giá đạt tiêu chí." in text
    )
    assert "được công nhận): 2/2 (100%); chỉ tiêu 40%" in text
    assert "• Gia đình tự đánh giá đạt tiêu chí: 1/1.200 hộ (0,1%); chỉ tiêu 70% = 840 hộ" in text

    blob = reports.export_xlsx(digest, [], core, core.langs["vi"])
    sheet = load_workbook(io.BytesIO(blob))["Gia đình học tập"]
    rows = [r for r in sheet.values]
    assert rows[0][0] == "Gia đình học tập năm 2026 — Thành phố Hà Nội"
    assert rows[2][:4] == ("STT", "Xã, phường", "Đã đăng ký", "Đang tự đánh giá")
    assert rows[3] == (1, "Phường Hoàn Kiếm", 1, 0, 1, 1, 2, 2, 1200, 840)
    assert rows[4][1:] == ("Tổng cộng", 1, 0, 1, 1, 2, 2, 1200, 840)

    # The commune's own digest in chat says the same.
    await admin.type("/thongke")
    assert "Gia đình học tập (năm 2026): 1 gia đình đăng ký" in admin.text


async def test_the_result_follows_the_adults_and_a_lone_head_may_join_another_family(
    db, dispatcher, clock
):
    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    await reach_the_title(an)
    await an.tap("Gia đình học tập")
    await an.tap("Đăng ký gia đình")
    await an.type("7")  # 7 adults, not the 7th button ("Quay lại")
    code = re.search(r"Mã gia đình là (\S+)\.", an.text).group(1)
    await an.type("/giadinh")
    assert "trong nhà có 7 người lớn" in an.text
    await an.tap("Sửa số người lớn")
    await an.type("2.5")
    assert "Xin gõ một số từ 1 đến 30" in an.text
    await an.type("2 người")
    await an.tap("Tự đánh giá gia đình")
    for _ in range(9):
        await an.type("1")
    assert "Sau khi gửi, bạn không sửa được câu trả lời nữa" in an.text
    await an.tap("Gửi kết quả")  # 1 of 2 adults: 5 points, 95
    assert "95/100 điểm, tự đánh giá đạt tiêu chí." in an.text

    # More adults at home than said: the result would change, and the head can update it.
    await an.tap("Sửa số người lớn")
    await an.tap("4")
    assert "tính lại, gia đình được 90 điểm" in an.text
    await an.tap("Xem kết quả")  # what was submitted, until it is updated
    assert "95/100 điểm." in an.text
    await an.tap("Cập nhật kết quả")
    assert "90/100 điểm, chưa đạt tiêu chí." in an.text

    # Someone who registered a family nobody joined may join another: theirs ends.
    binh = await citizen(dispatcher, "binh", "Trần Thị Bình")
    await register_family(binh)
    await binh.type(f"/giadinh {code}")
    assert "Đăng ký Gia đình học tập của gia đình bạn sẽ bị hủy." in binh.text
    await binh.tap("Tham gia")
    await binh.type("/giadinh")
    assert "Gia đình Nguyễn Văn An —" in binh.text and "• Trần Thị Bình — bạn" in binh.text

    # The digest's adults are the head's number, or the members if more joined.
    await an.tap("Sửa số người lớn")
    await an.tap("1")
    area = Area(HA_NOI, HOAN_KIEM)
    tally = await db.read(lambda conn: family_store.tally(conn, area, 2026))
    assert (tally.registered, tally.total("adults"), tally.total("titled")) == (1, 2, 1)


@pytest.mark.parametrize(
    ("args", "changes"),
    [
        ("hộ 1200", {"households": 1200}),
        ("ho 1.200", {"households": 1200}),
        ("số hộ 1,200", {"households": 1200}),
        ("households 1200", {"households": 1200}),
        ("hộ 0", {"households": 0}),  # clears them
        ("2000 hộ 1200 150", {"adults": 2000, "officials": 150, "households": 1200}),
        ("hộ", None),
        ("hộ abc", None),
        ("hộ 12,5", None),
        ("hộ -5", None),
        ("hộ 1200 hộ 5", None),
        ("2,5", None),
    ],
)
def test_households_are_read_for_the_families_target(args, changes, core):
    from flows.admin.targets import parse_target

    parsed = parse_target(args, core.places)
    assert (parsed[1] if parsed else None) == changes


async def test_the_head_takes_a_member_off_and_changes_the_code(db, dispatcher, clock):
    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    code = await register_family(an)
    binh = await citizen(dispatcher, "binh", "Trần Thị Bình")
    await binh.type(f"/giadinh {code}")
    await binh.tap("Tham gia")

    await an.type("/giadinh")
    await an.tap("Bỏ bớt thành viên")
    assert an.labels == ["Trần Thị Bình", "⬅ Quay lại"]
    await an.tap("Trần Thị Bình")
    assert an.labels[0] == "Không, giữ nguyên"  # the safe answer first
    await an.tap("Đồng ý bỏ")
    assert "Trần Thị Bình không còn là thành viên của gia đình bạn." in an.text
    assert "Đã tham gia: 1 người" in an.text and "Bỏ bớt thành viên" not in an.labels

    await an.tap("Đổi mã")
    new = re.search(r"Mã mới của gia đình là (\S+)\.", an.text).group(1)
    assert new != code and f"gửi /giadinh {new}" in an.text
    await binh.type(f"/giadinh {code}")
    assert "Không tìm thấy gia đình" in binh.text  # the old code joins no one
    await binh.type(f"/giadinh {new}")
    assert "Tham gia" in binh.labels


async def test_the_family_moves_with_its_head(db, dispatcher, clock):
    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    await register_family(an)
    await an.type("/start")
    await an.tap("Sửa thông tin đăng ký")
    await an.tap("Sửa xã, phường")
    await an.type("ha noi")
    await an.type("ba dinh")
    await an.tap("Đúng rồi")
    tally = await db.read(lambda conn: family_store.tally(conn, Area(HA_NOI), 2026))
    assert [line.commune for line in tally.lines] == [4]  # Phường Ba Đình now


async def test_only_adults_count_and_the_adults_said_stay_as_said(db, dispatcher, clock):
    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    await reach_the_title(an)
    code = await register_family(an, adults="2")
    binh = await citizen(dispatcher, "binh", "Trần Thị Bình")
    await reach_the_title(binh)
    await binh.type(f"/giadinh {code}")
    await binh.tap("Tham gia")
    # A pupil (12 this year) reaches the title too: not one of the adults.
    cuc = await citizen(dispatcher, "cuc", "Nguyễn Thị Cúc", born="2014")
    await reach_the_title(cuc)
    await cuc.type(f"/giadinh {code}")
    await cuc.tap("Tham gia")
    dung = await citizen(dispatcher, "dung", "Nguyễn Văn Dũng")  # a third adult
    await dung.type(f"/giadinh {code}")
    await dung.tap("Tham gia")
    area = Area(HA_NOI, HOAN_KIEM)
    tally = await db.read(lambda conn: family_store.tally(conn, area, 2026))
    # 3 adult members joined though the head said 2: the share is of 3; Cúc is not counted.
    assert (tally.total("adults"), tally.total("titled")) == (3, 2)
    await an.type("/giadinh")
    assert "trong nhà có 2 người lớn" in an.text  # as the head said it
    await an.tap("Tự đánh giá gia đình")
    for _ in range(9):
        await an.type("1")
    assert "10/10 — 2/3 người lớn đạt danh hiệu" in an.text

    # Dũng is taken off: the share is of the 2 adults said again, not stuck at 3.
    await an.tap("Để sau")
    await an.tap("Bỏ bớt thành viên")
    await an.tap("Nguyễn Văn Dũng")
    await an.tap("Đồng ý bỏ")
    tally = await db.read(lambda conn: family_store.tally(conn, area, 2026))
    assert (tally.total("adults"), tally.total("titled")) == (2, 2)
    await binh.type("/xoa")
    await binh.tap("Xóa")
    tally = await db.read(lambda conn: family_store.tally(conn, area, 2026))
    assert (tally.total("adults"), tally.total("titled")) == (2, 1)


async def test_a_join_that_can_no_longer_be_made_is_not_reported_done(db, dispatcher, clock):
    an = await citizen(dispatcher, "an", "Nguyễn Văn An")
    code = await register_family(an)
    dung = await citizen(dispatcher, "dung", "Lê Văn Dũng")
    other = await register_family(dung)
    await an.type(f"/giadinh {other}")  # alone in his family: he may join Dũng's
    assert "Đăng ký Gia đình học tập của gia đình bạn sẽ bị hủy." in an.text
    binh = await citizen(dispatcher, "binh", "Trần Thị Bình")  # meanwhile his wife joins
    await binh.type(f"/giadinh {code}")
    await binh.tap("Tham gia")
    await an.tap("Tham gia")
    assert "Vừa có người tham gia gia đình của bạn: bạn chưa tham gia gia đình kia." in an.text
    await an.type("/giadinh")
    assert "Gia đình Nguyễn Văn An —" in an.text and "Trần Thị Bình" in an.text
