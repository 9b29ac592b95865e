"""Learning units (issue 20): a unit's focal points self-assess it in chat, from the
deadline reminder's button, share one self-assessment a year and see who answered what;
the result gives the grade band or the targets met and a summary sheet; the admins of the
unit's area see units in the digest, /units and the export, and recognise or return them.
Through the real dispatcher, scheduler and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from bot import reports
from bot.data import load_criteria
from flows.criteria import UNIT_SETS
from flows.digest import digest_text
from flows.localtime import LOCAL_TZ, local_day
from flows.model import Event
from flows.places import Area
from flows.reminders import UNIT_ASSESS
from flows.scoring import reached, score
from flows.unit_assessment import unit_criteria, unit_year
from storage import invites
from storage import units as unit_store
from tests.chat import DispatchChat, scheduler_beside
from tests.test_admin import make_admin
from tests.test_deadlines import add, due_in_7_days
from tests.test_scheduler import Recorder

HA_NOI, HOAN_KIEM, BA_DINH = 1, 70, 4
TT22, TT24 = load_criteria(UNIT_SETS["province"]), load_criteria(UNIT_SETS["commune"])


# --- the criteria and the year ---------------------------------------------------------


@pytest.mark.parametrize(
    ("choices", "total", "band"),
    [
        ({}, 100, "tot"),  # every first option: full points
        ({"3.3": 2}, 95, "tot"),
        ({"3.1": 1, "3.3": 2}, 90, "tot"),
        ({"3.1": 2, "3.3": 2}, 85, "tot"),  # 85: still Tốt
        ({"3.1": 2, "3.3": 2, "1.1": 3}, 75, "kha"),
        ({"3.1": 3, "3.3": 2, "1.1": 3, "1.2": 2}, 65, "trung_binh"),
        ({"3.1": 4, "3.3": 2, "1.1": 3, "1.2": 3}, 50, "trung_binh"),  # 50: Trung bình
        ({"3.1": 4, "3.3": 2, "1.1": 3, "1.2": 3, "2.2": 2}, 45, "khong_dat"),
    ],
)
def test_tt22_grade_bands(choices, total, band):
    answers = {i.code: choices.get(i.code, 0) for i in TT22.indicators}
    result = score(TT22, "unit", answers)
    assert (result.total, result.band.code) == (total, band)
    assert reached(result) is (band != "khong_dat")


def test_tt24_needs_every_target_met():
    met = {i.code: 0 for i in TT24.indicators}
    assert reached(score(TT24, "unit", met)) and score(TT24, "unit", met).band is None
    partly = {**met, "3.1": 1}  # fewer than 90% of members hold the title
    result = score(TT24, "unit", partly)
    assert not reached(result)
    assert [r.indicator for r in result.reasons if r.kind == "indicator_below"] == ["3.1"]


def test_both_unit_sets_say_where_their_wording_comes_from():
    for criteria in (TT22, TT24):
        assert {"decision", "wording", "scope", "replace"} <= set(criteria.provenance)
    assert "not found" in TT24.provenance["wording"]  # what is inferred says so


def test_the_year_a_unit_assesses():
    def at(*args):
        return datetime(*args, tzinfo=LOCAL_TZ).astimezone(UTC)

    assert unit_year(at(2027, 2, 27, 9)) == 2026  # the 28/02 dossier is of the year before
    assert unit_year(at(2027, 3, 31, 23)) == 2026
    assert unit_year(at(2027, 4, 1, 0)) == 2027
    assert unit_year(at(2026, 12, 31, 23)) == 2026
    assert unit_criteria(Area(HA_NOI)) == "dvht-tt22-2020"
    assert unit_criteria(Area(HA_NOI, HOAN_KIEM)) == "dvht-tt24-2023"


# --- focal points ----------------------------------------------------------------------


async def unit_code(db, clock, code: str, area: Area) -> None:
    now = clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, code, "focal_point", area, now, now + timedelta(days=30)
        )
    )


async def focal_point(dispatcher, user: str, code: str, unit: str) -> DispatchChat:
    chat = DispatchChat(dispatcher, user=user)
    await chat.type(f"/donvi {code}")
    await chat.type(unit)
    assert "Đã xong" in chat.text and "/donvi" in chat.text, chat.text
    return chat


async def test_two_focal_points_share_one_self_assessment_and_see_who_answered(
    db, dispatcher, clock
):
    await unit_code(db, clock, "UNITHK01", Area(HA_NOI, HOAN_KIEM))
    hoa = await focal_point(dispatcher, "hoa", "UNITHK01", "Trường THCS Kim Liên")
    await hoa.type("/donvi")
    assert "Đơn vị của bạn: “Trường THCS Kim Liên” (Phường Hoàn Kiếm" in hoa.text
    assert "Thông tư 24/2023" in hoa.text and "chưa bắt đầu" in hoa.text
    await hoa.tap("Bắt đầu tự đánh giá đơn vị")
    assert "Họ và tên của bạn" in hoa.text
    await hoa.type("12345")
    assert "chỉ gồm chữ" in hoa.text or "Xin gõ" in hoa.text  # asked again, not taken
    await hoa.type("Nguyễn Thị Hoa")
    assert "Có 9 câu hỏi" in hoa.text and "Câu 1/9" in hoa.text
    assert "💡 Minh chứng" in hoa.text  # the evidence each answer needs
    for _ in range(4):
        await hoa.tap("Đạt")
    assert "Câu 5/9" in hoa.text
    await hoa.type("/donvi")  # stops: a colleague goes on
    await hoa.tap("Đóng")

    # A second focal point types the unit's name without accents: the same unit.
    nam = await focal_point(dispatcher, "nam", "unithk01", "truong thcs  KIM LIEN")
    await nam.type("/donvi")
    assert "“Trường THCS Kim Liên”" in nam.text and "đã trả lời 4/9 câu" in nam.text
    await nam.tap("Làm tiếp (đã trả lời 4/9)")
    await nam.type("Trần Văn Nam")
    assert "Câu 5/9" in nam.text  # where the unit stopped
    await nam.tap("Quay lại")
    assert "Câu 4/9" in nam.text and "Câu trả lời của Nguyễn Thị Hoa: “Đạt”" in nam.text
    await nam.tap("Đạt")
    await nam.tap("Đạt một phần")  # 2.2: partly
    for _ in range(3):
        await nam.tap("Đạt")
    assert "Câu 9/9" in nam.text
    await nam.tap("Đạt")
    review = nam.text
    assert "Xin xem lại các câu trả lời của đơn vị" in review
    assert "1.1 Kế hoạch học tập thường xuyên của đơn vị: 10/10 — Đạt (Nguyễn Thị Hoa)" in review
    assert "2.2 Hoàn thành bồi dưỡng bắt buộc: 5/10 — Đạt một phần (bạn)" in review
    assert "Tổng: 85/90 điểm" in review and "2.2" in review.split("Chưa đạt hết")[1]

    # Hoa looks in meanwhile: the unit's progress, answered by both.
    await hoa.type("/donvi")
    assert "đã trả lời 9/9 câu" in hoa.text

    await nam.tap("Gửi kết quả")
    assert "Bản tự đánh giá của đơn vị đã được gửi" in nam.text
    assert "Kết quả tự đánh giá năm 2026 của “Trường THCS Kim Liên”: 85/90 điểm" in nam.text
    assert "Trần Văn Nam đã gửi lúc" in nam.text
    await nam.tap("Tải bảng tổng hợp")
    [sheet] = [r for r in nam.replies if r.kind == "file"]
    assert sheet.file_name == "dvht-70-truong-thcs-kim-lien-2026.xlsx"
    rows = [r for r in load_workbook(io.BytesIO(sheet.file_data)).active.values]
    assert rows[1][0] == "Đơn vị: Trường THCS Kim Liên"
    assert ("1.1", "Kế hoạch học tập thường xuyên của đơn vị", 10, 10, "Đạt") == rows[8][:5]
    assert rows[8][5] == "Nguyễn Thị Hoa"
    assert (None, "Tổng cộng", 90, 85) == rows[19][:4]
    assert rows[21][0] == "Kết quả: Chưa đạt hết các chỉ tiêu."

    # Hoa's stale question button after the submission: the menu says where it stands.
    await hoa.send(hoa.option_event("Đóng"))
    await hoa.type("/donvi")
    assert "Trần Văn Nam đã gửi lúc" in hoa.text and "Xem kết quả" in hoa.labels


async def test_a_province_unit_gets_the_tt22_grade(db, dispatcher, clock):
    await unit_code(db, clock, "UNITHN01", Area(HA_NOI))
    chat = await focal_point(dispatcher, "so", "UNITHN01", "Sở Tư pháp")
    await chat.type("/donvi")
    assert "Thông tư 22/2020" in chat.text
    await chat.tap("Bắt đầu")
    await chat.type("Lê Văn Sở")
    assert "Câu 1/10" in chat.text
    for _ in range(10):
        await chat.type("1")
    await chat.tap("Gửi kết quả")
    assert "100/100 điểm" in chat.text and "✅ Xếp loại: Tốt" in chat.text


async def test_the_deadline_reminder_leads_to_the_units_self_assessment(db, dispatcher, clock):
    await unit_code(db, clock, "UNITHK02", Area(HA_NOI, HOAN_KIEM))
    chat = await focal_point(dispatcher, "fp", "UNITHK02", "Trường Tiểu học Tràng An")
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI), audience="focal_points"))
    channel = Recorder()
    assert await scheduler_beside(dispatcher, {"test": channel}).tick() == 1
    [(_, delivery)] = channel.pushed
    [reminder] = delivery.replies
    assert [o.label for o in reminder.options] == ["Tự đánh giá đơn vị", "Không nhắc nữa"]
    chat.replies = delivery.replies
    await chat.tap("Tự đánh giá đơn vị")
    assert "Đơn vị của bạn: “Trường Tiểu học Tràng An”" in chat.text
    await chat.tap("Bắt đầu")
    assert "Họ và tên" in chat.text


async def test_someone_who_is_not_a_focal_point_is_told_how_to_become_one(dispatcher):
    chat = DispatchChat(dispatcher, user="nobody")
    await chat.type("/donvi")
    assert "Gửi /donvi kèm mã" in chat.text
    await chat.send(Event("option", option=UNIT_ASSESS, prompt=0))  # an old reminder's button
    assert "Bạn chưa đăng ký làm đầu mối của đơn vị nào" in chat.text


# --- admins ----------------------------------------------------------------------------


async def submitted_unit(dispatcher, db, clock, user, code, name, answer="1") -> DispatchChat:
    chat = await focal_point(dispatcher, user, code, name)
    await chat.type("/donvi")
    await chat.tap("Bắt đầu")
    await chat.type(f"Người {user.capitalize()}")
    while "Câu " in chat.text and "Gửi kết quả" not in chat.labels:
        await chat.type(answer)
    await chat.tap("Gửi kết quả")
    return chat


async def test_admins_see_units_and_recognise_or_return_them(db, dispatcher, clock, core):
    await unit_code(db, clock, "UNITHK03", Area(HA_NOI, HOAN_KIEM))
    await unit_code(db, clock, "UNITBD03", Area(HA_NOI, BA_DINH))
    kl = await submitted_unit(dispatcher, db, clock, "kl", "UNITHK03", "Trường THCS Kim Liên")
    ta = await submitted_unit(dispatcher, db, clock, "ta", "UNITHK03", "Trường TH Tràng An", "2")
    await focal_point(dispatcher, "bd", "UNITBD03", "UBND phường Ba Đình")

    other = await make_admin(db, dispatcher, clock, "admin_bd", Area(HA_NOI, BA_DINH))
    await other.type("/units")
    assert "Learning units of Phường Ba Đình" in other.text and "1 units" in other.text
    assert "Kim Liên" not in other.text  # another commune's units are not shown

    admin = await make_admin(db, dispatcher, clock, "admin_hk", Area(HA_NOI, HOAN_KIEM))
    await admin.type("/units")
    assert "2 learning units of your area submitted" in admin.text
    await admin.tap("Trường THCS Kim Liên")
    assert "Total: 90/90 points — every target met" in admin.text
    assert "Người Kl" in admin.text  # who submitted
    await admin.tap("Recognise")
    assert "“Trường THCS Kim Liên” is recognised" in admin.text
    await admin.tap("Trường TH Tràng An")
    await admin.tap("Return with a reason")
    await admin.type("Xin bổ sung kế hoạch năm")
    assert "is returned" in admin.text and "No other unit is waiting" in admin.text

    channel = Recorder()
    await scheduler_beside(dispatcher, {"test": channel}).tick()
    told = {user: delivery.replies[0] for user, delivery in channel.pushed}
    assert (
        "Phường Hoàn Kiếm, Thành phố Hà Nội đã công nhận “Trường THCS Kim Liên” là Đơn vị học "
        "tập năm 2026" in told["kl"].text
    )
    assert "Xin bổ sung kế hoạch năm" in told["ta"].text
    assert [o.label for o in told["ta"].options] == ["Sửa và gửi lại"]

    # The returned unit changes an answer and submits again.
    ta.replies = (told["ta"],)
    await ta.tap("Sửa và gửi lại")
    assert "Đã được trả lại" in ta.text and "Xin bổ sung kế hoạch năm" in ta.text
    await ta.tap("Làm tiếp")
    assert "Xin xem lại" in ta.text  # every answer kept
    await ta.tap("Sửa một câu trả lời")
    await ta.tap("1.1")
    await ta.tap("Đạt")
    await ta.tap("Gửi kết quả")
    assert "Bản tự đánh giá của đơn vị đã được gửi" in ta.text
    await kl.type("/donvi")
    assert "🎉 Đã được công nhận là Đơn vị học tập" in kl.text

    # The digest and the export of the commune count and list its units.
    day = local_day(clock.now())
    digest = await db.read(
        lambda conn: reports.load_digest(conn, Area(HA_NOI, HOAN_KIEM), 2026, day)
    )
    t = core.langs["vi"]
    text = digest_text(digest, core.places, core.criteria, t)
    assert (
        "Đơn vị học tập (năm 2026): 2 đơn vị đăng ký, 0 đang tự đánh giá, 2 đã gửi, "
        "1 đạt theo tự đánh giá, 1 đã được công nhận." in text
    )
    rows = await db.read(lambda conn: unit_store.units_in(conn, Area(HA_NOI, HOAN_KIEM), 2026))
    blob = reports.export_xlsx(digest, [], core, t, rows)
    sheet = load_workbook(io.BytesIO(blob))["Đơn vị học tập"]
    values = list(sheet.values)
    assert values[3][1:3] == ("Trường TH Tràng An", "Phường Hoàn Kiếm, Thành phố Hà Nội")
    assert values[4][1] == "Trường THCS Kim Liên" and values[4][4] == 90
    assert values[4][6].startswith("Đã công nhận ngày")


async def test_a_focal_points_name_goes_with_their_data(db, dispatcher, clock):
    await unit_code(db, clock, "UNITHK04", Area(HA_NOI, HOAN_KIEM))
    chat = await submitted_unit(dispatcher, db, clock, "del", "UNITHK04", "Trường Mầm non Hoa Sen")
    await chat.type("/xoa")
    await chat.tap("Xóa")
    rows = await db.read(lambda conn: unit_store.units_in(conn, Area(HA_NOI, HOAN_KIEM), 2026))
    [unit] = rows
    assert unit.status == "submitted" and unit.total == 90  # the unit's, kept
    assert unit.submitted_by is None  # the person's name, gone


async def test_an_admin_hands_out_a_code_for_units_in_chat(db, dispatcher, clock):
    admin = await make_admin(db, dispatcher, clock, "admin_codes", Area(HA_NOI))
    await admin.type("/invite unit")
    assert "Any number of units can use it" in admin.text
    assert "learning units in Thành phố Hà Nội" in admin.text
    await admin.type("/invite unit hoan kiem")
    assert "learning units in Phường Hoàn Kiếm" in admin.text
    code = admin.text.split("Each focal point sends: /unit ")[1].split()[0]
    chat = await focal_point(dispatcher, "fp_code", code, "Trường THCS Ngô Sĩ Liên")
    assert "(Phường Hoàn Kiếm, Thành phố Hà Nội)" in chat.text
    await admin.type("/invite unit da nang")  # outside the scope: refused, no code
    assert "Any number" not in admin.text


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_focal_points_registered_before_units_get_their_unit(kind, tmp_path, request):
    """Migration 0011 makes the units of focal points who registered before it, one per
    area and folded name, so they are counted from the start."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from storage.db import MIGRATIONS_DIR

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url").replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url)
    with engine.begin() as conn:
        if kind == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        command.upgrade(config, "0010")
        conn.execute(
            text(
                "INSERT INTO channel_accounts (id, channel, external_id, created_at, unreachable)"
                " VALUES (1, 't', 'a', :now, false), (2, 't', 'b', :now, false)"
            ),
            {"now": datetime(2026, 11, 1, tzinfo=UTC)},
        )
        conn.execute(
            text(
                "INSERT INTO recipients (account_id, role, province_code, commune_code,"
                " unit_name, language, created_at, monthly, follows_inside) VALUES"
                " (1, 'focal_point', 1, 70, 'Trường THCS Kim Liên', 'vi', :now, false, false),"
                " (2, 'focal_point', 1, 70, 'truong thcs kim lien', 'vi', :now, false, false)"
            ),
            {"now": datetime(2026, 11, 1, tzinfo=UTC)},
        )
        command.upgrade(config, "head")
        units = conn.execute(text("SELECT id, name, area_key FROM units")).all()
        linked = conn.execute(text("SELECT DISTINCT unit_id FROM recipients")).scalars().all()
        assert [(u.name, u.area_key) for u in units] == [("Trường THCS Kim Liên", "1:70")]
        assert linked == [units[0].id]
        if kind == "postgresql":  # leave the shared test database as the other tests want it
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
