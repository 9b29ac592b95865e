"""Admins (issue 6): scoped roles and invites, the digest against hand-counted data, the
daily digest once per day with catch-up, the chart, the exports, and recognising titles,
through the real dispatcher, scheduler and database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from bot import cli, reports
from bot.clock import FixedClock
from bot.data import load_gazetteer
from bot.dispatcher import Dispatcher
from bot.scheduler import Scheduler
from flows.admin.targets import parse_target
from flows.digest import Counts, digest_text
from flows.localtime import LOCAL_TZ, local_day
from flows.model import Event, Recognise, SetTarget
from flows.places import Area, parse_area
from storage import admin as store
from storage import deadlines as deadline_store
from storage import invites
from storage.db import Database
from storage.models import Assessment, Person
from tests.chat import DispatchChat, register_async, scheduler_beside
from tests.test_scheduler import Recorder

PLACES = load_gazetteer()
HA_NOI, HOAN_KIEM, BA_DINH, DA_NANG = 1, 70, 4, 48
DN_COMMUNE = PLACES.communes_of(DA_NANG)[0].code
PNG = b"\x89PNG\r\n\x1a\n"


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ).astimezone(UTC)


# (commune, province, group, registered (Vietnam time), 2026 status, reached, recognised)
PEOPLE = [
    (HOAN_KIEM, HA_NOI, "1", vn(2026, 11, 1), "submitted", True, True),
    (HOAN_KIEM, HA_NOI, "1", vn(2026, 11, 22, 10), "submitted", True, False),
    (HOAN_KIEM, HA_NOI, "3", vn(2026, 11, 22, 23, 30), "submitted", False, False),
    (HOAN_KIEM, HA_NOI, "2", vn(2026, 11, 10), "in_progress", None, False),
    (HOAN_KIEM, HA_NOI, "1", vn(2026, 11, 23, 8), None, None, False),  # today: not new
    (BA_DINH, HA_NOI, "1", vn(2026, 11, 21, 23, 59), "submitted", True, False),
    (BA_DINH, HA_NOI, "4", vn(2026, 11, 22, 0, 0), None, None, False),  # yesterday 00:00
    (DN_COMMUNE, DA_NANG, "3", vn(2026, 10, 1), "submitted", True, True),
    (DN_COMMUNE, DA_NANG, "1", vn(2025, 5, 1), "last_year", True, False),
]


async def seed(db) -> None:
    """The people above, written straight into the tables (their chats do not matter)."""

    def write(conn) -> None:
        for n, (commune, province, group, at, status, reached, recognised) in enumerate(PEOPLE):
            person_id = conn.execute(
                insert(Person)
                .values(
                    full_name=f"Người {n}",
                    birth_year=1980,
                    gender="female",
                    group_code=group,
                    province_code=province,
                    commune_code=commune,
                    village=None,
                    language="vi",
                    registered_at=at,
                    updated_at=at,
                )
                .returning(Person.id)
            ).scalar_one()
            if status is None:
                continue
            conn.execute(
                insert(Assessment).values(
                    person_id=person_id,
                    campaign_year=2025 if status == "last_year" else 2026,
                    criteria="cdht-2023",
                    group_code=group,
                    status="submitted" if status == "last_year" else status,
                    started_at=at,
                    submitted_at=at if status != "in_progress" else None,
                    total=90 if reached else 60,
                    title_reached=reached,
                    recognised_at=at if recognised else None,
                )
            )

    await db.run(write)


async def make_admin(db, dispatcher, clock, user: str, scope: Area) -> DispatchChat:
    code = f"ADM{len(user)}{user.upper()}"[:16].replace("_", "")
    expires = clock.now() + timedelta(hours=72)
    await db.run(lambda conn: invites.new_invite(conn, code, "admin", scope, clock.now(), expires))
    chat = DispatchChat(dispatcher, user=user)
    await chat.type("/language en")
    await chat.type(f"/admin {code}")
    assert "You are now an admin for" in chat.text, chat.text
    return chat


# --- the numbers -----------------------------------------------------------------------


async def test_digest_numbers_match_a_hand_count(db, core, clock):
    await seed(db)
    await db.run(
        lambda conn: store.set_target(
            conn, Area(HA_NOI, HOAN_KIEM), {"adults": 10, "officials": 2}, clock.now()
        )
    )
    day = local_day(clock.now())

    async def digest(area):
        return await db.read(lambda conn: reports.load_digest(conn, area, 2026, day))

    national = await digest(Area())
    assert national.total() == Counts(
        registered=9, new=3, in_progress=1, submitted=5, reached=4, recognised=2
    )
    assert national.total().pass_rate == 0.8
    ha_noi = await digest(Area(HA_NOI))
    assert ha_noi.total() == Counts(7, 3, 1, 4, 3, 1)
    groups = ha_noi.by_group()
    assert groups["1"] == Counts(4, 1, 0, 3, 3, 1)
    assert groups["3"] == Counts(1, 1, 0, 1, 0, 0)
    assert groups["4"] == Counts(1, 1, 0, 0, 0, 0)
    top, bottom = ha_noi.ranking()
    assert [c for c, _ in top] == [HOAN_KIEM, BA_DINH] and bottom == []
    adults, officials = ha_noi.target_progress()
    assert (adults.population, adults.target, adults.reached, adults.recognised) == (10, 4, 2, 1)
    assert (officials.population, officials.target, officials.reached) == (2, 1, 0)
    hoan_kiem = await digest(Area(HA_NOI, HOAN_KIEM))
    assert hoan_kiem.total() == Counts(5, 2, 1, 3, 2, 1)

    text = digest_text(ha_noi, core.places, core.criteria, core.langs["en"])
    assert "Learning Citizens, 23/11/2026 — Thành phố Hà Nội" in text
    assert "Registered: 7 (3 new yesterday)" in text
    assert "Self-scoring in progress: 1" in text
    assert "Submitted (2026): 4 (57.1% of those registered)" in text
    assert "Title reached by self-score: 3 (pass rate 75%)" in text
    assert "Title recognised by the commune: 1" in text
    assert "Group 1: Farmers, residents of communes and wards: 4 / 3 / 3 / 1" in text
    assert "1. Phường Hoàn Kiếm: 60% (3/5 submitted)" in text
    assert "Adults: 2 by self-score (20%), 1 recognised, of 10; target 4" in text
    vi = digest_text(national, core.places, core.criteria, core.langs["vi"])
    assert "Tỷ lệ đạt 80%" in vi or "80%" in vi


async def test_a_submission_stays_in_the_group_it_was_answered_under(db, core, clock):
    """The person of group 3 who submitted changes their registration to group 1: the
    digest and the commune sheet still count the submission under group 3, as the sheet of
    points per indicator does (the day they registered is counted under their group now)."""
    await seed(db)
    await db.run(
        lambda conn: conn.execute(
            update(Person).where(Person.full_name == "Người 2").values(group_code="1")
        )
    )
    day = local_day(clock.now())
    hoan_kiem = await db.read(
        lambda conn: reports.load_digest(conn, Area(HA_NOI, HOAN_KIEM), 2026, day)
    )
    groups = hoan_kiem.by_group()
    assert groups["3"] == Counts(1, 0, 0, 1, 0, 0)
    assert groups["1"] == Counts(3, 2, 0, 2, 2, 1)


def _drawn(fig) -> dict:
    """What a chart shows, read from matplotlib's objects (not its pixels)."""
    ax = fig.axes[0]
    legend = fig.legends[0] if fig.legends else None
    return {
        "ticks": [t.get_text() for t in ax.get_xticklabels()],
        "title": ax.get_title(),
        "xlabel": ax.get_xlabel(),
        "bars": [t.get_text() for t in ax.texts],
        "labels": [t.get_text() for t in ax.get_yticklabels()],
        "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
    }


def test_the_chart_shows_whole_numbers_values_targets_and_who_to_chase(core):
    from flows.digest import Digest, Line, Target

    lines = (
        Line(HA_NOI, HOAN_KIEM, "1", Counts(3, 1, 1, 2, 1, 0)),
        Line(HA_NOI, HOAN_KIEM, "3", Counts(1, 0, 0, 1, 1, 1)),
        Line(HA_NOI, BA_DINH, "1", Counts(1, 1, 0, 0, 0, 0)),
    )
    day, vi = datetime(2026, 11, 23).date(), core.langs["vi"]
    province = Digest(Area(HA_NOI), day, 2026, lines, (Target(HOAN_KIEM, adults=20),))
    drawn = _drawn(reports.chart_figure(province, core, vi))
    # Small counts: whole numbers once each, not "0 0 1 1 2 2".
    assert drawn["ticks"][:5] == ["0", "1", "2", "3", "4"]
    assert len(drawn["ticks"]) == len(set(drawn["ticks"]))
    assert drawn["xlabel"] == "Số người"
    assert drawn["legend"] == ["Chỉ tiêu", "Đã đăng ký", "Đã gửi", "Đạt danh hiệu", "Đã công nhận"]
    # The commune with the least progress comes first; those with nobody are counted.
    assert drawn["labels"] == ["Phường Ba Đình", "Phường Hoàn Kiếm"]
    every = len(PLACES.communes_of(HA_NOI))
    assert f"{every - 2} trong {every} xã, phường chưa có ai đăng ký." in drawn["title"]
    assert sorted(b for b in drawn["bars"] if b) == ["1", "1", "2", "3", "4"]  # values
    # A big number in Vietnamese format.
    big = Digest(Area(HA_NOI), day, 2026, (Line(HA_NOI, HOAN_KIEM, "1", Counts(12500)),))
    assert "12.500" in _drawn(reports.chart_figure(big, core, vi))["bars"]

    empty = _drawn(reports.chart_figure(Digest(Area(HA_NOI), day, 2026, ()), core, vi))
    assert empty["ticks"] == [] and "Chưa có ai đăng ký." in empty["bars"]
    assert f"{every} trong {every} xã, phường chưa có ai đăng ký." in empty["title"]


def test_the_chart_is_a_png_for_each_kind_of_scope(core):
    from flows.digest import Digest, Line

    lines = (Line(HA_NOI, HOAN_KIEM, "1", Counts(10, 1, 2, 5, 4, 1)),)
    for area in (Area(), Area(HA_NOI), Area(HA_NOI, HOAN_KIEM)):
        digest = Digest(area, datetime(2026, 11, 23).date(), 2026, lines)
        png = reports.chart_png(digest, core, core.langs["vi"])
        assert png.startswith(PNG) and len(png) > 2000
    empty = Digest(Area(), datetime(2026, 11, 23).date(), 2026, ())
    assert reports.chart_png(empty, core, core.langs["en"]).startswith(PNG)


# --- roles, invites, scope -------------------------------------------------------------


async def test_an_invite_works_once_and_expires(db, dispatcher, clock):
    admin = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    await admin.type("/admin")
    assert "You are an admin for Thành phố Hà Nội" in admin.text
    # The code was single use.
    other = DispatchChat(dispatcher, user="other")
    await other.type("/language en")
    await other.type("/admin ADM4BOSS")
    # Used, unknown, expired: the same answer (issue 19), so trying tells nothing.
    same = "is not valid, was already used or has expired"
    assert same in other.text
    await other.type("/admin NOSUCHCODE")
    assert same in other.text
    # An admin invites under their own scope; the code expires after 72 hours.
    await admin.type("/invite xa:70")
    assert "A code for a new admin for Phường Hoàn Kiếm, Thành phố Hà Nội" in admin.text
    code = admin.text.split("/admin ")[-1].split()[0]
    later = Dispatcher(db, dispatcher.core, FixedClock(clock.now() + timedelta(hours=73)))
    late = DispatchChat(later, user="late")
    await late.type("/language en")
    await late.type(f"/admin {code}")
    assert same in late.text
    commune_admin = DispatchChat(dispatcher, user="ward")
    await commune_admin.type("/language en")
    await commune_admin.type(f"/admin {code.lower()}")
    assert "You are now an admin for Phường Hoàn Kiếm" in commune_admin.text
    await admin.type("/admins")
    assert "#1" in admin.text and "(you)" in admin.text and "#2" in admin.text
    # The commune admin cannot see or remove the province admin; the province admin can
    # remove the commune admin, not themselves.
    await commune_admin.type("/revoke 1")
    assert "There is no admin #1 in your area" in commune_admin.text
    await admin.type("/revoke 1")
    assert "You cannot remove yourself" in admin.text
    await admin.type("/revoke 2")
    assert "Admin #2 is no longer an admin" in admin.text
    await commune_admin.type("/stats")
    assert "This command is for admins" in commune_admin.text


@pytest.mark.parametrize(
    "command",
    ["/admin", "/stats", "/export", "/invite", "/admins", "/revoke 1", "/recognise", "/target 5"],
)
async def test_every_admin_command_refuses_non_admins(db, dispatcher, command):
    chat = DispatchChat(dispatcher, user="citizen")
    await chat.type("/language en")
    await chat.type(command)
    assert "This command is for admins of the campaign" in chat.text
    assert not any(r.kind == "file" for r in chat.replies)


@pytest.mark.parametrize(
    "command",
    [
        "/stats tinh:48",
        "/stats xa:4",
        "/export xa:4",
        "/export all csv",
        "/invite tinh:1",
        "/recognise xa:4",
        "/target xa:4 100 10",
    ],
)
async def test_every_admin_command_refuses_out_of_scope(db, dispatcher, clock, command):
    await seed(db)
    chat = await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, HOAN_KIEM))
    await chat.type(command)
    assert "That is outside your scope: you are an admin for Phường Hoàn Kiếm" in chat.text
    assert not any(r.kind == "file" for r in chat.replies)


async def test_storage_checks_the_scope_again(db, dispatcher, clock):
    await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, HOAN_KIEM))
    account = await db.run(
        lambda conn: store.admin_by_external(conn, "test", "ward")
    )  # the admin's own row
    assert account is not None

    def sneaky(effect):
        def write(conn):
            account_id = conn.execute(
                select(store.Recipient.account_id).where(store.Recipient.id == account.id)
            ).scalar_one()
            store.apply(conn, account_id, effect, clock.now())

        return write

    with pytest.raises(store.AdminRefused):
        await db.run(sneaky(SetTarget(Area(HA_NOI, BA_DINH), {"adults": 5})))
    with pytest.raises(store.AdminRefused):
        await db.run(sneaky(Recognise(DN_COMMUNE, 2026)))


async def test_unknown_places_and_bad_targets_say_what_to_write(db, dispatcher, clock):
    chat = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    await chat.type("/stats xa:999999")
    assert "I don't know that place" in chat.text
    await chat.type("/target lots")
    assert "Write: /target xa:CODE ADULTS OFFICIALS" in chat.text
    await chat.type("/target 100")
    assert "Name the commune" in chat.text
    await chat.type("/target xa:70 2.000 150 45%")
    assert "Saved for Phường Hoàn Kiếm, Thành phố Hà Nội: 2,000 adults, 150 officials" in chat.text
    assert "target for adults 45%" in chat.text
    targets = await db.run(lambda conn: store.targets(conn, Area(HA_NOI)))
    assert [(t.commune, t.adults, t.officials, t.adults_pct) for t in targets] == [
        (HOAN_KIEM, 2000, 150, 45)
    ]


async def test_an_admin_is_shown_their_commands_and_not_pushed_into_registering(
    db, dispatcher, clock
):
    chat = await make_admin(db, dispatcher, clock, "chief", Area(HA_NOI))
    await chat.type("/help")
    assert "/admin — your commands as an admin of the campaign" in chat.text
    assert "What is your full name?" not in chat.text
    await chat.type("/nonsense")
    assert chat.text == "I don't know the command “/nonsense”. Send /help to see what I can do."
    await chat.type("/start")  # registering as a citizen too is one command away
    assert "What is your full name?" in chat.text
    await chat.type("/help")  # now begun: the help, then the registration question again
    assert "/admin — your commands" in chat.text and "What is your full name?" in chat.text
    citizen = DispatchChat(dispatcher, user="citizen")
    await citizen.type("/language en")
    await citizen.type("/help")
    assert "/admin —" not in citizen.text  # not shown to everyone


# --- on demand -------------------------------------------------------------------------


async def test_stats_and_exports_in_chat_match_the_digest(db, dispatcher, clock):
    await seed(db)
    chat = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    await chat.type("/stats")
    assert "Registered: 7 (3 new yesterday)" in chat.text
    [chart] = [r for r in chat.replies if r.kind == "file"]
    assert chart.file_name == "cdht-province-1-2026-11-23.png"
    assert chart.file_data.startswith(PNG)
    await chat.type("/stats xa:4")
    assert "Phường Ba Đình" in chat.text and "Registered: 2 (1 new yesterday)" in chat.text

    await chat.type("/target xa:70 10 2")  # adults and officials of Hoàn Kiếm
    await chat.type("/export")
    [xlsx] = [r for r in chat.replies if r.kind == "file"]
    assert xlsx.file_name.endswith(".xlsx")
    book = load_workbook(io.BytesIO(xlsx.file_data), read_only=True)
    rows = list(book["By commune"].iter_rows(values_only=True))
    assert rows[0][0] == "Learning Citizens 2026 — Thành phố Hà Nội — as of 23/11/2026"
    header = rows[2]
    assert header[:5] == ("Province", "Commune", "Commune code", "Group", "Registered")
    assert header[9:] == (
        "Submission rate (%)", "Pass rate (%)", "Adults (population)", "Target (title holders)",
        "Entered from paper forms",
    )  # fmt: skip
    groups = [r for r in rows[3:] if r[3] and r[3].startswith("Group")]
    assert len(groups) == 5  # (Hoàn Kiếm: groups 1, 2, 3), (Ba Đình: 1, 4)
    assert sum(r[4] for r in groups) == 7
    # Every commune of the province is there, those to chase included, with a subtotal.
    subtotals = {r[1]: r for r in rows[3:] if r[3] in ("Subtotal", "Nobody registered yet")}
    assert len(subtotals) == len(PLACES.communes_of(HA_NOI))
    hoan_kiem = subtotals["Phường Hoàn Kiếm"]
    assert hoan_kiem[4:13] == (5, 1, 3, 2, 1, 60.0, 66.7, 10, 4)  # population and target
    assert subtotals["Phường Cửa Nam"][3:5] == ("Nobody registered yet", 0)
    total = next(r for r in rows if r and r[0] == "Total")
    assert total[4:11] == (7, 1, 4, 3, 1, 57.1, 75.0)  # the digest's numbers
    indicators = list(book["Indicators"].iter_rows(values_only=True))
    assert indicators[2] == ("Group", "Indicator", "Name", "Answers", "Average points")
    book.close()

    await chat.type("/export csv")
    [csv_file] = [r for r in chat.replies if r.kind == "file"]
    assert csv_file.file_data.startswith("\ufeff".encode())  # UTF-8 with a BOM
    # For Excel with Vietnamese regional settings: ";" between fields, "," in decimals.
    table = list(csv.reader(io.StringIO(csv_file.file_data.decode("utf-8-sig")), delimiter=";"))
    assert table[0][0].startswith("Learning Citizens 2026 — Thành phố Hà Nội")
    assert table[-1][0] == "Total" and table[-1][4:11] == ["7", "1", "4", "3", "1", "57,1", "75,0"]


async def test_indicator_averages_in_the_export(db, dispatcher, clock, core):
    chat = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    for user in ("a", "b"):
        await _citizen_who_submits(dispatcher, user)
    await chat.type("/export")
    [xlsx] = [r for r in chat.replies if r.kind == "file"]
    book = load_workbook(io.BytesIO(xlsx.file_data), read_only=True)
    rows = list(book["Indicators"].iter_rows(values_only=True))[3:]
    assert len(rows) == 10  # one group, ten indicators
    assert all(r[3] == 2 and r[4] == 10 for r in rows), rows
    book.close()


def test_the_cli_invites_prints_the_digest_and_exports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("CDHT_LANGUAGE", "en")  # the operator's language
    monkeypatch.chdir(tmp_path)
    assert cli.main(["admin", "invite", "--scope", "province:42"]) == 0
    out = capsys.readouterr().out
    assert "single use" in out and "/admin " in out
    assert cli.main(["admin", "invite", "--scope", "province:999"]) == 2
    assert cli.main(["digest", "--scope", "province:1", "--chart", "c.png", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Learning Citizens" in out and "Registered: 0" in out
    assert "set them with cdht target --commune CODE" in out  # the CLI's own command
    assert (tmp_path / "c.png").read_bytes().startswith(PNG)
    assert cli.main(["export", "--scope", "all", "--out", "r.xlsx"]) == 0
    load_workbook(tmp_path / "r.xlsx", read_only=True).close()
    assert cli.main(["export", "--scope", "all", "--out", "r.pdf"]) == 2
    assert cli.main(["target", "--commune", "70", "--adults", "1000"]) == 0
    assert cli.main(["admin", "list"]) == 0
    assert "No admins yet" in capsys.readouterr().out
    # Places by name, old or new, as in the chat.
    assert cli.main(["digest", "--scope", "thach dai", "--lang", "en"]) == 0
    assert "Phường Hà Huy Tập" in capsys.readouterr().out
    assert cli.main(["export", "--scope", "Hà Tĩnh", "--out", "h.csv"]) == 0
    assert "Report for Hà Tĩnh" in capsys.readouterr().out
    assert cli.main(["export", "--scope", "xa:70", "--year", "2025", "--out", "y.xlsx"]) == 0
    title = next(load_workbook(tmp_path / "y.xlsx", read_only=True).active.iter_rows())[0]
    assert "2025" in str(title.value)
    assert cli.main(["digest", "--scope", "all", "--year", "2019"]) == 2
    assert "the campaign years are 2022 to" in capsys.readouterr().err
    assert cli.main(["digest", "--scope", "an binh"]) == 2
    assert "can mean 17 places, among them" in capsys.readouterr().err
    assert cli.main(["digest", "--scope", "hoan ki"]) == 2  # no guessing from a start
    assert "Names that begin like it" in capsys.readouterr().err
    assert cli.main(["digest", "--scope", "khong co noi nay"]) == 2
    assert "no place called “khong co noi nay”" in capsys.readouterr().err


# --- the daily digest ------------------------------------------------------------------


async def test_the_daily_digest_once_a_day_with_catch_up(db, dispatcher, clock):
    await seed(db)
    await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    channel = Recorder()

    def at(moment: datetime) -> Scheduler:
        clocked = Dispatcher(db, dispatcher.core, FixedClock(moment))
        return scheduler_beside(clocked, {"test": channel})

    assert await at(vn(2026, 11, 23, 6, 59)).tick() == 0  # before 07:00
    # The bot was down at 07:00: at 10:00 it catches up.
    assert await at(vn(2026, 11, 23, 10)).tick() == 1
    [(external_id, delivery)] = channel.pushed
    assert external_id == "boss"
    text, chart = delivery.replies
    assert "Learning Citizens, 23/11/2026 — Thành phố Hà Nội" in text.text
    assert "Registered: 7 (3 new yesterday)" in text.text
    assert chart.kind == "file" and chart.file_data.startswith(PNG)
    # Again the same day, after a restart or from a second process: nothing.
    assert await at(vn(2026, 11, 23, 10, 5)).tick() == 0
    assert await at(vn(2026, 11, 23, 18)).tick() == 0
    # The next morning, at 07:00.
    assert await at(vn(2026, 11, 24, 7)).tick() == 1
    assert "24/11/2026" in channel.pushed[-1][1].replies[0].text


async def test_on_new_years_day_the_digest_gives_the_year_just_ended(db, dispatcher, clock):
    await seed(db)
    await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    following = dataclasses.replace(dispatcher.core, campaign_year=0)  # no year set
    channel = Recorder()

    async def digest_at(moment: datetime) -> str:
        scheduler = scheduler_beside(
            Dispatcher(db, following, FixedClock(moment)), {"test": channel}
        )
        assert await scheduler.tick() == 1
        return channel.pushed[-1][1].replies[0].text

    text = await digest_at(vn(2027, 1, 1, 7))
    assert "Submitted (2026): 4" in text  # the final numbers of 2026
    assert "Submitted (2027): 0" in await digest_at(vn(2027, 1, 2, 7))


async def test_three_processes_send_the_digest_once(db, dispatcher, clock):
    """Three schedulers at once, each on its own engine as three processes would be."""
    await make_admin(db, dispatcher, clock, "boss", Area())
    engines = [db, Database(db.url), Database(db.url)]
    recorders = [Recorder() for _ in engines]
    try:
        await asyncio.gather(
            *(
                scheduler_beside(Dispatcher(e, dispatcher.core, clock), {"test": r}).tick()
                for e, r in zip(engines, recorders, strict=True)
            )
        )
    finally:
        for e in engines[1:]:
            await e.dispose()
    assert sum(len(r.pushed) for r in recorders) == 1


async def test_the_monthly_summary_on_the_first(db, dispatcher, clock):
    await seed(db)
    chat = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    await chat.type("/admin monthly on")
    assert "summary of the month" in chat.text
    channel = Recorder()
    first_of_december = Dispatcher(db, dispatcher.core, FixedClock(vn(2026, 12, 1, 7, 30)))
    assert await scheduler_beside(first_of_december, {"test": channel}).tick() == 1
    replies = channel.pushed[0][1].replies
    assert len(replies) == 4  # the day's digest and chart, the month's and its chart
    assert "Learning Citizens, month 11/2026" in replies[2].text
    assert "Registered: 7 (7 new in the month)" in replies[2].text


# --- recognition -----------------------------------------------------------------------


async def _citizen_who_submits(dispatcher, user: str) -> DispatchChat:
    chat = await register_async(DispatchChat(dispatcher, user=user))
    await chat.tap("Bắt đầu")
    for _ in range(10):
        await chat.type("1")
    await chat.tap("Gửi kết quả")
    return chat


async def test_recognise_one_return_one_and_the_citizens_are_told(db, dispatcher, clock):
    hoa = await _citizen_who_submits(dispatcher, "hoa")
    lan = await _citizen_who_submits(dispatcher, "lan")
    await _citizen_who_submits(dispatcher, "mai")
    admin = await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, HOAN_KIEM))
    channel = Recorder()
    scheduler = scheduler_beside(dispatcher, {"test": channel})
    await scheduler.tick()  # the admin's digest
    channel.pushed.clear()

    await admin.type("/recognise")
    assert "3 people in Phường Hoàn Kiếm reach the title" in admin.text
    assert admin.labels[-2:] == ["Recognise all 3", "Done"]
    await admin.tap("Nguyễn Thị Hoa")  # the first
    assert "Recognise the title, or return" in admin.text
    # The facts to decide on, in the chat: birth year, points per indicator.
    assert "born 1984" in admin.text and "Points per indicator:" in admin.text
    assert "• 1.1 Reading and keeping informed: 10/10" in admin.text
    await admin.tap("Recognise")
    assert "Recognised: Nguyễn Thị Hoa" in admin.text
    assert "2 people in Phường Hoàn Kiếm" in admin.text  # the list again, without her
    old_prompt = admin.question.prompt
    await admin.tap("Nguyễn Thị Hoa")  # the next one (all have the same name here)
    await admin.tap("Return with a reason")
    await admin.type("ok")  # too short
    assert "write the reason in a few words" in admin.text
    await admin.type("Thiếu minh chứng cho chỉ số 2.1")
    assert "Returned to Nguyễn Thị Hoa" in admin.text
    assert "1 people in Phường Hoàn Kiếm" in admin.text
    # A stale button from an earlier list does nothing harmful.
    await admin.send(Event("option", option="all", prompt=old_prompt))
    assert "earlier question" in admin.text

    assert await scheduler.tick() == 2  # both citizens told
    told = {ext: d.replies[0] for ext, d in channel.pushed}
    assert "công nhận" in told["hoa"].text.lower() or "Công dân học tập" in told["hoa"].text
    assert "Thiếu minh chứng cho chỉ số 2.1" in told["lan"].text
    assert await scheduler.tick() == 0  # once

    # Each sees where their self-assessment stands when they ask.
    await hoa.type("/ketqua")
    assert "Ngày 23/11/2026, xã, phường đã công nhận bạn đạt danh hiệu" in hoa.text
    await lan.type("/ketqua")
    assert "Ngày 23/11/2026, xã, phường đã trả lại bản tự đánh giá của bạn" in lan.text
    assert "“Thiếu minh chứng cho chỉ số 2.1”" in lan.text

    # The returned citizen continues at the review and submits again.
    await lan.send(Event("option", option=told["lan"].options[0].id))
    assert "10/10" in lan.labels[0]  # the menu: continue the self-scoring
    await lan.tap(lan.labels[0])
    assert any("Gửi kết quả" in label for label in lan.labels), lan.text
    await lan.tap("Gửi kết quả")
    assert "Đang chờ xã, phường xét" in lan.text and "trả lại" not in lan.text

    # Recognise all the rest after the confirmation.
    await admin.type("/recognise")
    assert "2 people" in admin.text
    await admin.tap("Recognise all")
    assert "Recognise the title of all 2 people" in admin.text
    await admin.tap("Yes, recognise all")
    assert "Recognised: 2 people in Phường Hoàn Kiếm" in admin.text
    await admin.type("/recognise")
    assert "No one in Phường Hoàn Kiếm is waiting for recognition" in admin.text
    assert await scheduler.tick() == 2
    day = local_day(clock.now())
    digest = await db.read(lambda conn: reports.load_digest(conn, Area(HA_NOI), 2026, day))
    assert digest.total().recognised == 3
    _ = hoa


async def test_a_province_admin_names_the_commune_to_recognise(db, dispatcher, clock):
    admin = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    await admin.type("/recognise")
    assert "commune by commune" in admin.text
    await admin.type("/recognise xa:70")
    assert "No one in Phường Hoàn Kiếm is waiting" in admin.text


async def test_admin_commands_take_a_commune_by_its_name_old_or_new(db, dispatcher, clock):
    await seed(db)
    chat = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    await chat.type("/thongke Phường Ba Đình")
    assert "Phường Ba Đình" in chat.text and "Registered: 2 (1 new yesterday)" in chat.text
    await chat.type("/stats ba dinh")  # also Quận Ba Đình (cũ): today's name comes first
    assert "Registered: 2 (1 new yesterday)" in chat.text
    await chat.type("/stats phuc xa")  # Phường Phúc Xá (cũ): now in Phường Hồng Hà
    assert "Phường Hồng Hà" in chat.text and "Registered: 0" in chat.text
    await chat.type("/export csv hoan kiem")
    [csv_file] = [r for r in chat.replies if r.kind == "file"]
    assert csv_file.file_name == "cdht-commune-70-2026-11-23.csv"
    await chat.type("/congnhan hoan kiem")
    assert "Phường Hoàn Kiếm" in chat.text
    # What it does not understand gets a clear message, never the whole province's figures.
    await chat.type("/stats khong co noi nay")
    assert "I know no commune, ward or province called “khong co noi nay”" in chat.text
    assert "Registered: 7" not in chat.text
    await chat.type("/stats thanh")  # many places
    assert "Several places in your area match “thanh”" in chat.text and "xa:" in chat.text
    await chat.type("/stats hai chau")  # Đà Nẵng: outside the scope
    assert "outside your scope" in chat.text


async def test_the_named_list_for_the_communes_decision(db, dispatcher, clock, core):
    await _citizen_who_submits(dispatcher, "hoa")
    await _citizen_who_submits(dispatcher, "lan")
    ward = await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, HOAN_KIEM))
    await ward.type("/recognise")
    await ward.tap("Nguyễn Thị Hoa")
    await ward.tap("Recognise")
    await ward.type("/export names")
    assert "named list of Phường Hoàn Kiếm, Thành phố Hà Nội for 2026" in ward.text
    assert "do not pass it on" in ward.text
    [named] = [r for r in ward.replies if r.kind == "file"]
    assert named.personal and named.file_name == "cdht-danh-sach-xa-70-2026-2026-11-23.xlsx"
    book = load_workbook(io.BytesIO(named.file_data), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows[0][0].startswith(
        "Named list for the Learning Citizen title 2026 — Phường Hoàn Kiếm"
    )
    head = rows[2]
    assert head[:6] == ("No.", "Full name", "Birth year", "Village", "Phone", "Group")
    assert head[6] == "1.1 Reading and keeping informed" and head[-4:] == (
        "Total points",
        "Result",
        "Status",
        "From a paper form",
    )
    people = rows[3:]
    assert len(people) == 2
    sheet = load_workbook(io.BytesIO(named.file_data)).active
    assert sheet.freeze_panes == "C4" and sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows == "$3:$3"  # the header on every printed page
    for n, row in enumerate(people, 1):
        assert row[:4] == (n, "Nguyễn Thị Hoa", 1984, "Tổ 5")
        assert row[6:16] == (10,) * 10 and row[16:18] == (100, "Reached")
    assert sorted(r[18] for r in people) == ["Recognised on 23/11/2026", "Waiting for recognition"]

    # A province admin names the commune; the list is one commune at a time; Vietnamese.
    boss = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    await boss.type("/export names")
    assert "one commune or ward at a time" in boss.text
    assert not [r for r in boss.replies if r.kind == "file"]
    await boss.type("/language vi")
    await boss.type("/baocao danh sách hoan kiem")
    [named] = [r for r in boss.replies if r.kind == "file"]
    book = load_workbook(io.BytesIO(named.file_data), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows[2][:3] == ("STT", "Họ và tên", "Năm sinh") and len(rows) == 5
    # Outside one's scope: nobody's names.
    await ward.type("/export names xa:4")
    assert "outside your scope" in ward.text
    assert not [r for r in ward.replies if r.kind == "file"]


def test_the_cli_writes_the_named_list(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("CDHT_LANGUAGE", "en")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["export", "--names", "--scope", "hoan kiem", "--out", "n.xlsx"]) == 0
    assert "(0 people)" in capsys.readouterr().out
    load_workbook(tmp_path / "n.xlsx", read_only=True).close()
    assert cli.main(["export", "--names", "--scope", "ha noi", "--out", "n.xlsx"]) == 2
    assert "give one commune" in capsys.readouterr().err


async def test_in_january_last_years_submissions_are_recognised_and_reported(db, dispatcher):
    """On 10 January 2027, /congnhan 2026 lists December's submissions; /baocao 2026 and
    /thongke 2026 give 2026's numbers; a year to come is refused with an example."""
    await seed(db)  # submissions of 2026 in Hoàn Kiếm (one recognised already)
    from bot.config import Settings
    from bot.core import load_core

    january = FixedClock(vn(2027, 1, 10, 9))
    later = Dispatcher(db, load_core(Settings(campaign_year=None)), january)  # year: 2027
    admin = await make_admin(db, later, january, "ward", Area(HA_NOI, HOAN_KIEM))
    await admin.type("/recognise")
    assert "No one in Phường Hoàn Kiếm is waiting" in admin.text  # 2027: nobody yet
    await admin.type("/congnhan 2026")
    assert "1 people in Phường Hoàn Kiếm reach the title by their self-assessment of 2026" in (
        admin.text
    )
    await admin.tap("Người 1")
    await admin.tap("Recognise")
    assert "Recognised: Người 1" in admin.text
    await admin.type("/stats 2026")
    assert "Submitted (2026): 3" in admin.text
    await admin.type("/baocao 2026")
    [xlsx] = [r for r in admin.replies if r.kind == "file"]
    book = load_workbook(io.BytesIO(xlsx.file_data), read_only=True)
    assert next(book["By commune"].iter_rows(values_only=True))[0].startswith(
        "Learning Citizens 2026 — Phường Hoàn Kiếm"
    )
    await admin.type("/stats 2030")
    assert "There are no self-assessments for 2030: the years are 2022 to 2027" in admin.text
    await admin.type("/baocao 2026 csv")  # last year's, made this year: the name says so
    [csv_file] = [r for r in admin.replies if r.kind == "file"]
    assert csv_file.file_name == "cdht-commune-70-2026-as-of-2027-01-10.csv"
    await admin.type("/congnhan 70 2026")  # a bare number is a code, not a year
    assert "Phường Hoàn Kiếm" in admin.text and "(2026)" in admin.text
    await admin.type("/congnhan 2021")
    assert "There are no self-assessments for 2021" in admin.text


async def test_delete_says_that_the_admin_role_ends_too(db, dispatcher, clock):
    chat = await make_admin(db, dispatcher, clock, "boss", Area(HA_NOI))
    await chat.type("/delete")
    assert "You are also an admin for Thành phố Hà Nội: that role ends too." in chat.text
    await chat.tap("Yes, delete everything")
    await chat.type("/stats")
    assert "Lệnh này dành cho quản trị viên" in chat.text  # language reset with the data


async def test_an_admin_lists_adds_and_cancels_deadlines_in_chat(db, dispatcher, clock):
    from flows.deadlines import Deadline

    national = Deadline(
        title={"vi": "Báo cáo toàn quốc"}, day=15, month=12, year=None, audience="admins"
    )
    await db.run(lambda conn: deadline_store.add(conn, national, clock.now()))
    chat = await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, HOAN_KIEM))
    await chat.type("/deadlines")
    assert "Deadlines for Phường Hoàn Kiếm, Thành phố Hà Nội:" in chat.text
    assert "None yet." in chat.text and "Set above your area" in chat.text
    assert "15/12 (every year) · admins · the whole deployment · Báo cáo toàn quốc" in chat.text
    await chat.type("/deadlines add 01/11/2026 citizens Hạn tự đánh giá")  # before 23/11/2026
    assert "01/11/2026 has passed: please choose a date from today on." in chat.text
    await chat.type("/deadlines add 31/02 admins Báo cáo")
    assert "I could not read that date" in chat.text
    await chat.type("/hanbaocao them 30/12/2026 nguoidan Hạn tự đánh giá của phường")
    assert "Added: 30/12/2026 · citizens who have not submitted · Phường Hoàn Kiếm" in chat.text
    await chat.type("/deadlines")
    mine = next(line for line in chat.text.splitlines() if "Hạn tự đánh giá của phường" in line)
    number = mine.split()[0].lstrip("#")
    await chat.type(f"/deadlines cancel {number}")
    assert "Cancelled: no more reminders of “Hạn tự đánh giá của phường”." in chat.text
    await chat.type("/deadlines")
    assert "Hạn tự đánh giá của phường" not in chat.text
    national_id = (await db.run(deadline_store.active))[0].id
    await chat.type(f"/deadlines cancel {national_id}")
    assert "was set above your area: you cannot cancel it" in chat.text
    assert len(await db.run(deadline_store.active)) == 1


def test_scope_words_are_read_forgivingly():
    assert parse_area("Tinh:1", PLACES) == Area(HA_NOI)
    assert parse_area("xa:70", PLACES) == Area(HA_NOI, HOAN_KIEM)
    assert parse_area("commune:70", PLACES) == Area(HA_NOI, HOAN_KIEM)
    assert parse_area("all", PLACES) == Area()
    assert parse_area("xa:999999", PLACES) is None
    assert parse_target("xa:70 2.000 150 40% 60%", PLACES) == (
        Area(HA_NOI, HOAN_KIEM),
        {"adults": 2000, "officials": 150, "adults_pct": 40, "officials_pct": 60},
    )
    assert parse_target("150%", PLACES) is None
