"""Deadlines: when their reminders are due (pure), whom they reach (audience by area and by
completion, focal points registered with a code, admins), each exactly once, through the
scheduler on SQLite and PostgreSQL with an injected clock; and the `cdht deadline` and
`cdht unit-code` commands on a fresh database."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot import cli
from bot.data import load_deadline_defaults as load_defaults
from bot.data import load_gazetteer
from flows.deadlines import (
    Deadline,
    DeadlineError,
    parse_due,
    parse_offsets,
    parse_time,
)
from flows.localtime import LOCAL_TZ
from flows.places import Area, AreaError
from flows.reminders import RESUME, STOP_REMINDERS
from storage import conversations, invites, recipients
from storage import deadlines as store
from tests.chat import DispatchChat, register_async, scheduler_beside
from tests.test_scheduler import Recorder

PLACES = load_gazetteer()
HOAN_KIEM, BA_DINH, HA_NOI, DA_NANG = 70, 4, 1, 48


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def yearly(day: int, month: int, **kw) -> Deadline:
    return Deadline(title={"vi": "Báo cáo", "en": "Report"}, day=day, month=month, year=None, **kw)


# --- when (pure) -------------------------------------------------------------------------


def test_offsets_7_3_1_and_on_the_day_at_eight():
    d = yearly(31, 10)
    assert d.reminder(vn(2026, 10, 24, 7, 59)) is None
    seen = [
        (r.days_before, r.due)
        for moment in (
            vn(2026, 10, 24, 8, 0),
            vn(2026, 10, 27, 23, 0),
            vn(2026, 10, 28, 8, 0),
            vn(2026, 10, 30, 8, 0),
            vn(2026, 10, 31, 8, 0),
            vn(2026, 10, 31, 23, 59),
        )
        if (r := d.reminder(moment))
    ]
    due = date(2026, 10, 31)
    assert seen == [(7, due), (7, due), (3, due), (1, due), (0, due), (0, due)]
    custom = yearly(31, 10, offsets=(14, 0), at=time(9, 30))
    assert custom.reminder(vn(2026, 10, 17, 9, 29)) is None
    assert custom.reminder(vn(2026, 10, 17, 9, 30)).days_before == 14


def test_a_yearly_deadline_rolls_over_to_next_year():
    d = yearly(31, 10)
    assert d.next_due(date(2026, 11, 1)) == date(2027, 10, 31)
    assert d.reminder(vn(2026, 11, 1, 0, 0)) is None  # the day after: nothing until next year
    assert d.reminder(vn(2027, 10, 23, 12, 0)) is None
    r = d.reminder(vn(2027, 10, 24, 8, 0))
    assert (r.due, r.days_before) == (date(2027, 10, 31), 7)
    # January deadlines seen in December point at next year's January.
    assert yearly(20, 1).reminder(vn(2026, 1, 13, 9, 0)).due == date(2026, 1, 20)
    assert yearly(15, 1).next_due(date(2026, 12, 31)) == date(2027, 1, 15)


def test_a_one_off_deadline_ends_after_its_day():
    d = Deadline(title={"vi": "Nộp hồ sơ"}, day=25, month=12, year=2026)
    assert d.reminder(vn(2026, 12, 25, 20, 0)).days_before == 0
    assert d.reminder(vn(2026, 12, 26, 8, 0)) is None
    assert d.next_due(date(2027, 1, 1)) is None


def test_29_february_falls_on_28_in_other_years():
    d = yearly(29, 2)
    assert d.next_due(date(2027, 1, 1)) == date(2027, 2, 28)
    assert d.next_due(date(2028, 1, 1)) == date(2028, 2, 29)


def test_the_shipped_defaults_carry_the_dates_of_the_letters():
    found = {(d.day, d.month, d.audience, d.area.text()) for d in load_defaults(PLACES)}
    assert found == {
        (30, 11, "focal_points", "all"),  # units → commune (Bắc Sơn)
        (5, 12, "admins", "all"),  # commune → province (Bắc Sơn)
        (15, 12, "admins", "all"),  # province → national (CV 6782)
        (15, 1, "focal_points", "all"),  # learning-unit dossiers (TT 24/2023)
        (20, 1, "admins", "province:12"),  # Lai Châu's own date
        (28, 2, "focal_points", "province:12"),  # Mường Tè's, now in Lai Châu
    }
    assert all(d.offsets == (7, 3, 1, 0) and d.at == time(8, 0) for d in load_defaults(PLACES))
    # No deadline for every citizen, none naming districts or their offices.
    assert not any(d.audience == "citizens" for d in load_defaults(PLACES))
    titles = " ".join(t for d in load_defaults(PLACES) for t in d.title.values())
    assert "huyện" not in titles and "Phòng GDĐT" not in titles


def test_an_existing_database_loses_the_old_defaults_with_a_note(tmp_path, monkeypatch, caplog):
    """A database made by an earlier version has the 31/10 deadline for every citizen and
    the district-level ones: at start they are cancelled, each with a line in the log,
    and the new defaults are added."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = tmp_path / "old.yaml"
    old.write_text(
        "deadlines:\n"
        "  - {key: self-scoring, title: Hạn tự đánh giá, due: 31/10, audience: citizens}\n"
        "  - {key: movement-report-province, title: Báo cáo gửi tỉnh, due: 05/12, "
        "audience: admins}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDHT_DEADLINES", str(old))
    assert cli.main(["deadline", "list"]) == 0
    monkeypatch.delenv("CDHT_DEADLINES")
    with caplog.at_level("WARNING"):
        assert cli.main(["deadline", "list"]) == 0
    notes = [r.getMessage() for r in caplog.records if "no longer fits" in r.getMessage()]
    assert len(notes) == 2 and "'self-scoring' (31/10, citizens)" in notes[0]
    assert "one-off 2024 district report" in notes[0]
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert cli.main(["deadline", "list"]) == 0
    assert not [r for r in caplog.records if "no longer fits" in r.getMessage()]  # once


def test_deadlines_written_wrongly_say_what_to_write(tmp_path):
    with pytest.raises(DeadlineError, match="day/month"):
        parse_due("October 31")
    assert parse_due("31/10") == (31, 10, None) and parse_due("5.12.2026") == (5, 12, 2026)
    with pytest.raises(DeadlineError, match="not a date"):
        yearly(31, 2)
    with pytest.raises(DeadlineError, match="audience"):
        yearly(1, 1, audience="everyone")
    with pytest.raises(DeadlineError, match="whole days"):
        parse_offsets("7,three")
    with pytest.raises(DeadlineError, match="hours:minutes"):
        parse_time("25:00")
    with pytest.raises(AreaError, match="no commune"):
        Area.parse("commune:999999", PLACES)
    assert Area.parse("commune:70", PLACES) == Area(HA_NOI, HOAN_KIEM)
    bad = tmp_path / "d.yaml"
    bad.write_text("deadlines:\n  - key: a\n    title: x\n    due: 32/13\n", encoding="utf-8")
    with pytest.raises(DeadlineError, match="deadline 1"):
        load_defaults(PLACES, bad)


# --- whom, and once (scheduler and database) -----------------------------------------------


async def add(db, clock, deadline: Deadline) -> Deadline:
    new_id = await db.run(lambda conn: store.add(conn, deadline, clock.now()))
    return Deadline(**{**deadline.__dict__, "id": new_id})


async def citizen(dispatcher, user, commune="hoan kiem", province="ha noi", submit=False):
    chat = await register_async(DispatchChat(dispatcher, user=user), commune, province)
    if submit:
        await chat.tap("Bắt đầu")
        for _ in range(10):
            await chat.type("2")
        await chat.tap("Gửi kết quả")
    return chat


def due_in_7_days(clock, **kw) -> Deadline:
    """Due a week after the test clock (23/11/2026 10:00 in Vietnam): its first reminder
    (7 days before, at 08:00) is current."""
    due = (clock.now().astimezone(LOCAL_TZ) + timedelta(days=7)).date()
    return Deadline(
        title={"vi": "Hạn tự đánh giá", "en": "Self-scoring deadline"},
        day=due.day,
        month=due.month,
        year=None,
        **kw,
    )


async def test_citizens_in_the_area_who_have_not_submitted(db, dispatcher, clock):
    await citizen(dispatcher, "hk-open")
    await citizen(dispatcher, "hk-done", submit=True)
    await citizen(dispatcher, "bd-open", commune="ba dinh")
    await citizen(dispatcher, "dn-open", commune="hai chau", province="da nang")
    half = DispatchChat(dispatcher, user="half")
    await half.type("/start")  # registration not finished: not in any area yet
    for area, expected in (
        (Area(HA_NOI, HOAN_KIEM), {"hk-open"}),
        (Area(HA_NOI), {"hk-open", "bd-open"}),
        (Area(), {"hk-open", "bd-open", "dn-open"}),
    ):
        await add(db, clock, due_in_7_days(clock, area=area))
        channel = Recorder()
        await scheduler_beside(dispatcher, {"test": channel}).tick()
        assert {user for user, _ in channel.pushed} == expected, area
    (_, delivery), *_ = channel.pushed
    reply = delivery.replies[0]
    assert "Nhắc hạn: Hạn tự đánh giá" in reply.text and "30/11/2026" in reply.text
    assert "còn 7 ngày" in reply.text and "năm 2026" in reply.text
    assert [o.id for o in reply.options] == [RESUME, STOP_REMINDERS]


async def test_each_reminder_once_then_the_next_offset(db, dispatcher, clock):
    await citizen(dispatcher, "a")
    await add(db, clock, due_in_7_days(clock))
    channel = Recorder()
    scheduler = scheduler_beside(dispatcher, {"test": channel})
    assert await scheduler.tick() == 1
    clock.current += timedelta(hours=5)
    assert await scheduler.tick() == 0  # the 7-day reminder was sent
    clock.current += timedelta(days=4) - timedelta(hours=7)  # 3 days before, 08:00
    assert await scheduler.tick() == 1
    assert "còn 3 ngày" in channel.pushed[-1][1].replies[0].text
    clock.current += timedelta(days=3)  # on the day, 08:00
    assert await scheduler.tick() == 1
    assert "hôm nay" in channel.pushed[-1][1].replies[0].text
    clock.current += timedelta(days=1)
    assert await scheduler.tick() == 0  # passed; next year's comes next year


async def test_finishing_ends_the_deadline_reminders(db, dispatcher, clock):
    chat = await citizen(dispatcher, "a")
    await add(db, clock, due_in_7_days(clock))
    scheduler = scheduler_beside(dispatcher, {"test": Recorder()})
    assert await scheduler.tick() == 1
    await chat.tap("Bắt đầu")
    for _ in range(10):
        await chat.type("2")
    await chat.tap("Gửi kết quả")
    clock.current += timedelta(days=4) - timedelta(hours=2)  # the 3-day reminder
    assert await scheduler.tick() == 0


async def test_a_late_registrant_gets_the_current_reminder(db, dispatcher, clock):
    await citizen(dispatcher, "early")
    await add(db, clock, due_in_7_days(clock))
    channel = Recorder()
    scheduler = scheduler_beside(dispatcher, {"test": channel})
    assert await scheduler.tick() == 1
    await citizen(dispatcher, "late")
    assert await scheduler.tick() == 1
    assert [user for user, _ in channel.pushed] == ["early", "late"]


async def test_opted_out_unreachable_and_quiet_hours(db, dispatcher, clock):
    no = await citizen(dispatcher, "no")
    await no.type("/nhacnho tat")
    await citizen(dispatcher, "blocked")
    await dispatcher.mark_unreachable("test", "blocked")
    await citizen(dispatcher, "yes")
    start = clock.now()
    clock.current = start.replace(hour=15)  # 22:00 in Vietnam
    await add(db, clock, due_in_7_days(clock))
    channel = Recorder()
    scheduler = scheduler_beside(dispatcher, {"test": channel})
    assert await scheduler.tick() == 0  # held overnight
    clock.current = start.replace(hour=0) + timedelta(days=1)  # 07:00 the next day
    assert await scheduler.tick() == 1
    assert [user for user, _ in channel.pushed] == ["yes"]
    await no.type("/nhacnho bat")
    clock.current += timedelta(days=3, hours=1)  # back on: the next reminder reaches them
    assert await scheduler.tick() == 2
    assert {user for user, _ in channel.pushed[1:]} == {"yes", "no"}


async def test_two_schedulers_at_once_send_each_reminder_once(db, dispatcher, clock):
    for n in range(6):
        await citizen(dispatcher, f"c{n}")
    await add(db, clock, due_in_7_days(clock))
    a, b = Recorder(), Recorder()
    one, two = scheduler_beside(dispatcher, {"test": a}), scheduler_beside(dispatcher, {"test": b})
    one.BATCH = two.BATCH = 2
    for _ in range(4):
        await asyncio.gather(one.tick(), two.tick())
    users = [user for user, _ in a.pushed + b.pushed]
    assert sorted(users) == [f"c{n}" for n in range(6)]


async def test_a_crash_between_claim_and_send_leaves_it_in_the_outbox(db, dispatcher, clock):
    await citizen(dispatcher, "a")
    await add(db, clock, due_in_7_days(clock))
    assert await scheduler_beside(dispatcher, {"test": Recorder()}).tick() == 1  # then "crash"
    pending = await dispatcher.unsent("test")
    assert [user for user, d in pending if "Nhắc hạn" in d.replies[0].text] == ["a"]
    assert await scheduler_beside(dispatcher, {"test": Recorder()}).tick() == 0  # never twice


async def test_a_focal_point_registers_with_a_code_and_gets_unit_reminders(db, dispatcher, clock):
    now = clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, "K7QXM2PA", "focal_point", Area(HA_NOI, HOAN_KIEM), now, now + timedelta(days=30)
        )
    )
    unit = DispatchChat(dispatcher, user="fp")
    await unit.type("/donvi k7qx-m2pa")
    assert "đầu mối của một đơn vị ở Phường Hoàn Kiếm, Thành phố Hà Nội" in unit.text
    await unit.type("x")
    assert "tên đơn vị" in unit.text  # asked again
    await unit.type("Trường THCS Ngô Sĩ Liên")
    assert "Đã xong" in unit.text and "Trường THCS Ngô Sĩ Liên" in unit.text
    assert unit.labels == ["Tự đánh giá đơn vị"]  # not pushed into registering as a citizen
    await unit.type("/donvi")  # the unit's menu: its self-assessment
    assert "Đơn vị của bạn: “Trường THCS Ngô Sĩ Liên”" in unit.text

    await citizen(dispatcher, "citizen")
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI), audience="focal_points"))
    await add(db, clock, due_in_7_days(clock, area=Area(DA_NANG), audience="focal_points"))
    channel = Recorder()
    assert await scheduler_beside(dispatcher, {"test": channel}).tick() == 1
    [(user, delivery)] = channel.pushed
    assert user == "fp"
    assert "Đơn vị “Trường THCS Ngô Sĩ Liên”" in delivery.replies[0].text

    await unit.type("/donvi tat")
    assert "không còn là đầu mối" in unit.text
    clock.current += timedelta(days=4)
    assert await scheduler_beside(dispatcher, {"test": channel}).tick() == 0


async def test_a_focal_point_with_reminders_off_is_not_promised_any(db, dispatcher, clock):
    now = clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, "K7QXM2PB", "focal_point", Area(HA_NOI, HOAN_KIEM), now, now + timedelta(days=30)
        )
    )
    unit = DispatchChat(dispatcher, user="fp-off")
    await unit.type("/nhacnho tat")
    await unit.type("/donvi k7qx-m2pb")
    await unit.type("Trường THCS Ngô Sĩ Liên")
    assert "Đã xong" in unit.text and "/nhacnho bat" in unit.text
    assert "bạn sẽ được nhắc hạn" not in unit.text
    await unit.type("/donvi")
    assert "Nhắc nhở đang tắt" in unit.text
    await unit.type("/xoa")
    assert "Bạn cũng là đầu mối của “Trường THCS Ngô Sĩ Liên”" in unit.text


async def test_unit_codes_that_do_not_work_say_why(db, dispatcher, clock):
    now = clock.now()
    area = Area(HA_NOI)
    await db.run(lambda conn: invites.new_invite(conn, "OLDCODE2", "focal_point", area, now, now))
    await db.run(
        lambda conn: invites.new_invite(
            conn, "GONECODE", "focal_point", area, now, now + timedelta(days=1)
        )
    )
    await db.run(lambda conn: invites.revoke_invite(conn, "GONECODE", now))
    chat = await register_async(DispatchChat(dispatcher, user="c"))
    await chat.type("/donvi NOPE1234")
    assert "không đúng" in chat.text
    assert chat.question.options  # and the current screen again: never a dead end
    await chat.type("/donvi OLDCODE2")
    assert "không còn dùng được" in chat.text
    await chat.type("/start dv-GONECODE")
    assert "không còn dùng được" in chat.text


async def test_a_deep_link_with_a_code_then_cancel_goes_back(db, dispatcher, clock):
    now = clock.now()
    await db.run(
        lambda conn: invites.new_invite(
            conn, "DEEPLNK2", "focal_point", Area(), now, now + timedelta(days=1)
        )
    )
    chat = DispatchChat(dispatcher, user="d")
    await chat.type("/start")
    await chat.type("Lê Văn Tám")  # half-way through registering as a citizen
    await chat.type("/start dv-DEEPLNK2")
    assert "Tên đơn vị" in chat.text
    await chat.tap("Hủy")
    assert "Đã hủy" in chat.text and "sinh năm nào" in chat.text  # back where they were


async def test_admins_of_the_area_get_admin_deadlines(db, dispatcher, clock):
    chat = DispatchChat(dispatcher, user="admin")
    await chat.type("/start")
    loaded = await db.run(
        lambda conn: conversations.load_conversation(conn, "test", "admin", 2026, clock.now())
    )
    await db.run(
        lambda conn: recipients.save_recipient(
            conn, loaded.account_id, "admin", Area(HA_NOI, HOAN_KIEM), None, "en", None, clock.now()
        )
    )
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI), audience="admins"))
    await add(db, clock, due_in_7_days(clock, area=Area(DA_NANG), audience="admins"))
    channel = Recorder()
    # The daily digest (tests/test_admin.py) comes later in the day here.
    assert await scheduler_beside(dispatcher, {"test": channel}, digest_at=time(23, 0)).tick() == 1
    [(_, delivery)] = channel.pushed
    assert (
        delivery.replies[0].text
        == "For Thành phố Hà Nội:\nReminder: Self-scoring deadline, due in 7 days (30/11/2026)."
    )


async def test_a_national_admin_follows_the_provinces_deadlines_if_they_choose(
    db, dispatcher, clock
):
    from tests.test_admin import make_admin

    national = await make_admin(db, dispatcher, clock, "national", Area())
    ward = await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, HOAN_KIEM))
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI), audience="admins"))
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI, HOAN_KIEM), audience="admins"))
    await national.type("/deadlines")
    assert "Of those set inside your area you are not reminded" in national.text
    await ward.type("/deadlines follow on")  # nothing is set inside a commune
    assert "there is nothing to follow" in ward.text
    await national.type("/deadlines follow maybe")
    assert "Write /deadlines follow on or /deadlines follow off." in national.text

    async def reminded() -> dict[str, int]:
        channel = Recorder()
        await scheduler_beside(dispatcher, {"test": channel}, digest_at=time(23, 0)).tick()
        found: dict[str, int] = {}
        for user, _ in channel.pushed:
            found[user] = found.get(user, 0) + 1
        return found

    assert await reminded() == {"ward": 2}  # the national admin chose nothing yet
    await national.type("/hanbaocao theo dõi bật")
    assert "also be reminded of the deadlines for admins set inside your area" in national.text
    await national.type("/deadlines")
    assert "You are also reminded of the deadlines for admins set inside" in national.text
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI), audience="admins"))
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI, HOAN_KIEM), audience="admins"))
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI), audience="citizens"))
    assert await reminded() == {"ward": 2, "national": 2}  # admins' ones only
    # Each says which area it is for: the national admin gets many that look alike.
    channel = Recorder()
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI, HOAN_KIEM), audience="admins"))
    await scheduler_beside(dispatcher, {"test": channel}, digest_at=time(23, 0)).tick()
    told = {user: d.replies[0].text for user, d in channel.pushed}
    assert told["national"].startswith("For Phường Hoàn Kiếm, Thành phố Hà Nội:\nReminder:")
    await national.type("/deadlines follow off")
    assert "no more reminders of the deadlines set inside your area" in national.text
    await add(db, clock, due_in_7_days(clock, area=Area(HA_NOI), audience="admins"))
    assert await reminded() == {"ward": 1}


# --- the CLI -------------------------------------------------------------------------------


def test_a_new_install_lists_the_defaults_and_admins_add_and_cancel(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    monkeypatch.setenv("CDHT_LANGUAGE", "en")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["deadline", "list"]) == 0
    listed = capsys.readouterr().out
    for due in ("30/11", "05/12", "15/12", "20/01", "28/02", "15/01"):
        assert due in listed
    assert "31/10" not in listed
    assert "focal points of units" in listed and "focal_points" not in listed  # in words
    assert "Commune's yearly report on the learning movement, to the province" in listed
    assert cli.main(
        [
            "deadline", "add", "--title", "Báo cáo tháng", "--due", "25/12/2026",
            "--area", "commune:70", "--audience", "admins", "--offsets", "3,0",
        ]
    ) == 0  # fmt: skip
    added = capsys.readouterr().out
    assert "Deadline 7 added: 25/12/2026" in added and "Phường Hoàn Kiếm" in added
    assert cli.main(["deadline", "cancel", "7"]) == 0
    assert cli.main(["deadline", "cancel", "7"]) == 1
    assert cli.main(["deadline", "add", "--title", "x", "--due", "31/02"]) == 2
    assert "not a date" in capsys.readouterr().err
    assert cli.main(["deadline", "add", "--title", "Cũ", "--due", "01/01/2020"]) == 2
    assert "01/01/2020 has passed" in capsys.readouterr().err
    assert "Báo cáo tháng" not in (cli.main(["deadline", "list"]), capsys.readouterr().out)[1]
    assert cli.main(["unit-code", "new", "--area", "province:48"]) == 0
    made = capsys.readouterr().out
    assert "Thành phố Đà Nẵng" in made and "/donvi " in made and "?start=dv-" in made
    code = made.split("/donvi ")[1].split()[0]
    hint = f"{code[:2]}…"  # codes are kept as hashes: listed by a hint
    assert cli.main(["unit-code", "list"]) == 0 and hint in capsys.readouterr().out
    assert cli.main(["unit-code", "cancel", code.lower()]) == 0
    assert f"Code {code} cancelled" in capsys.readouterr().out
    assert cli.main(["unit-code", "list"]) == 0 and hint not in capsys.readouterr().out


def test_the_command_line_speaks_the_operators_language(tmp_path, monkeypatch, capsys):
    """Vietnamese unless CDHT_LANGUAGE says otherwise: results, errors and help."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'vi.sqlite3'}")
    monkeypatch.delenv("CDHT_LANGUAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["deadline", "list"]) == 0
    listed = capsys.readouterr().out
    assert "hằng năm" in listed and "đầu mối" in listed and "nhắc trước" in listed
    assert "Báo cáo kết quả phong trào học tập năm của xã, phường gửi tỉnh" in listed
    assert "every year" not in listed and "focal_points" not in listed
    assert cli.main(["deadline", "add", "--title", "Cũ", "--due", "01/01/2020"]) == 2
    assert "Lỗi: ngày 01/01/2020 đã qua" in capsys.readouterr().err
    assert cli.main(["digest", "--scope", "khong co noi nay"]) == 2
    assert "không có nơi nào tên “khong co noi nay”" in capsys.readouterr().err
    assert cli.main(["export", "--scope", "xa:70", "--out", "r.pdf"]) == 2
    assert "tên tệp phải có đuôi .xlsx hoặc .csv" in capsys.readouterr().err
    assert cli.main(["digest", "--scope", "xa:70"]) == 0
    assert "Đã đăng ký: 0" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["deadline", "add", "--help"])
    assert "ngày/tháng (hằng năm) hoặc ngày/tháng/năm (một lần)" in capsys.readouterr().out
    monkeypatch.setenv("CDHT_LANGUAGE", "en")
    assert cli.main(["deadline", "list"]) == 0
    assert "every year" in capsys.readouterr().out


def test_defaults_file_can_be_replaced(tmp_path, monkeypatch, capsys):
    own = Path(tmp_path / "mine.yaml")
    own.write_text(
        "deadlines:\n  - key: monthly\n    title: Báo cáo tháng Hà Tĩnh\n    due: 25/12\n"
        "    area: province:42\n    audience: admins\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'own.sqlite3'}")
    monkeypatch.setenv("CDHT_DEADLINES", str(own))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["deadline", "list"]) == 0
    out = capsys.readouterr().out
    assert "Báo cáo tháng Hà Tĩnh" in out and "31/10" not in out
    assert cli.main(["deadline", "list"]) == 0  # loading again adds nothing
    assert capsys.readouterr().out == out
