"""The counters behind the admins' numbers (storage.tallies) against a full recount from
the facts, after every batch of thousands of random changes, on SQLite and PostgreSQL; and
the digest read from them saying what the facts say."""

from __future__ import annotations

import asyncio
import os
import random
import sys
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from bot import reports
from flows.localtime import local_day, local_midnight
from flows.places import Area
from storage import admin, families, tallies
from storage.db import Database, in_area
from storage.models import (
    Assessment,
    Family,
    FamilyAssessment,
    FamilyMember,
    Person,
    TallyPeople,
)
from tests.conftest import NOW

COMMUNES = [(1, 4), (1, 7), (1, 70), (8, 1003), (8, 1010)]  # (province, commune)
GROUPS = ["1", "2", "3", "4"]
YEARS = [2025, 2026]
BATCHES = 8
CHANGES = 400  # per batch


class Changes:
    """Random changes of every kind that moves a count, as the bot's code makes them."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.made: dict[str, int] = {}
        self.codes = 0

    def _one(self, conn: Connection, table: Any) -> Any:
        """A random existing row's id (None if none)."""
        column = table.person_id if table is FamilyMember else table.id
        count = conn.execute(select(func.count()).select_from(table)).scalar_one()
        if not count:
            return None
        return conn.execute(
            select(column).order_by(column).offset(self.rnd.randrange(count)).limit(1)
        ).scalar_one()

    def register(self, conn: Connection) -> None:
        province, commune = self.rnd.choice(COMMUNES)
        at = NOW - timedelta(hours=self.rnd.randrange(24 * 10))
        conn.execute(
            insert(Person).values(
                full_name="Người Thử",
                birth_year=self.rnd.randrange(1950, 2012),
                gender="female",
                group_code=self.rnd.choice(GROUPS),
                province_code=province,
                commune_code=commune,
                registered_at=at,
                updated_at=at,
                entered_at=at if self.rnd.random() < 0.15 else None,
            )
        )

    def start(self, conn: Connection) -> None:
        person = self._one(conn, Person)
        year = self.rnd.choice(YEARS)
        if (
            person is None
            or conn.execute(
                select(Assessment.id).where(
                    Assessment.person_id == person, Assessment.campaign_year == year
                )
            ).first()
        ):
            return
        group = conn.execute(select(Person.group_code).where(Person.id == person)).scalar_one()
        if self.rnd.random() < 0.2:
            group = self.rnd.choice(GROUPS)  # answered under another group
        conn.execute(
            insert(Assessment).values(
                person_id=person,
                campaign_year=year,
                criteria="cdht-2023",
                group_code=group,
                status="in_progress",
                started_at=NOW,
            )
        )

    def submit(self, conn: Connection) -> None:
        a = self._one(conn, Assessment)
        if a is not None:
            reached = self.rnd.random() < 0.6
            conn.execute(
                update(Assessment)
                .where(Assessment.id == a, Assessment.status == "in_progress")
                .values(status="submitted", submitted_at=NOW, total=80, title_reached=reached)
            )

    def _decision(self, conn: Connection) -> tuple[int, int, int] | None:
        a = self._one(conn, Assessment)
        if a is None:
            return None
        commune, year = conn.execute(
            select(Person.commune_code, Assessment.campaign_year)
            .join(Person, Person.id == Assessment.person_id)
            .where(Assessment.id == a)
        ).one()
        return a, commune, year

    def recognise(self, conn: Connection) -> None:
        if (found := self._decision(conn)) is not None:
            a, commune, year = found
            admin.recognise(conn, commune, year, 1, NOW, assessment_id=a)

    def give_back(self, conn: Connection) -> None:
        if (found := self._decision(conn)) is not None:
            a, commune, year = found
            admin.return_assessment(conn, commune, year, a, "thiếu minh chứng", NOW)

    def change_group(self, conn: Connection) -> None:
        if (person := self._one(conn, Person)) is not None:
            group = self.rnd.choice(GROUPS)
            conn.execute(update(Person).where(Person.id == person).values(group_code=group))

    def move(self, conn: Connection) -> None:
        if (person := self._one(conn, Person)) is not None:
            province, commune = self.rnd.choice(COMMUNES)
            conn.execute(
                update(Person)
                .where(Person.id == person)
                .values(province_code=province, commune_code=commune)
            )
            families.move_with_head(conn, person, province, commune)

    def paper(self, conn: Connection) -> None:
        if (person := self._one(conn, Person)) is not None:
            on = self.rnd.random() < 0.5
            conn.execute(
                update(Person).where(Person.id == person).values(entered_at=NOW if on else None)
            )

    def delete(self, conn: Connection) -> None:
        if (person := self._one(conn, Person)) is not None:
            conn.execute(delete(Person).where(Person.id == person))

    def family(self, conn: Connection) -> None:
        person = self._one(conn, Person)
        if (
            person is None
            or conn.execute(
                select(FamilyMember.person_id).where(FamilyMember.person_id == person)
            ).first()
        ):
            return
        self.codes += 1
        families.set_family(conn, person, self.rnd.randrange(1, 6), f"T{self.codes:07d}", NOW)

    def join(self, conn: Connection) -> None:
        person, family = self._one(conn, Person), self._one(conn, Family)
        if person is None or family is None:
            return
        if conn.execute(
            select(FamilyMember.person_id).where(FamilyMember.person_id == person)
        ).first():
            return
        families.join(conn, person, family, NOW)

    def leave(self, conn: Connection) -> None:
        if (member := self._one(conn, FamilyMember)) is not None:
            families.leave(conn, member, NOW)

    def adult(self, conn: Connection) -> None:
        if (member := self._one(conn, FamilyMember)) is not None:
            conn.execute(
                update(FamilyMember)
                .where(FamilyMember.person_id == member)
                .values(adult=self.rnd.random() < 0.7)
            )

    def family_assessment(self, conn: Connection) -> None:
        family = self._one(conn, Family)
        if family is None:
            return
        year = self.rnd.choice(YEARS)
        existing = conn.execute(
            select(FamilyAssessment.id).where(
                FamilyAssessment.family_id == family, FamilyAssessment.year == year
            )
        ).scalar_one_or_none()
        if existing is None:
            conn.execute(
                insert(FamilyAssessment).values(
                    family_id=family,
                    year=year,
                    criteria="gdht-2016",
                    status="in_progress",
                    answers={},
                    started_at=NOW,
                )
            )
        else:
            conn.execute(
                update(FamilyAssessment)
                .where(FamilyAssessment.id == existing)
                .values(status="submitted", reached=self.rnd.random() < 0.5, submitted_at=NOW)
            )

    def apply(self, conn: Connection, n: int) -> None:
        kinds = [
            (self.register, 8),
            (self.start, 6),
            (self.submit, 5),
            (self.recognise, 3),
            (self.give_back, 2),
            (self.change_group, 2),
            (self.move, 2),
            (self.paper, 1),
            (self.delete, 2),
            (self.family, 2),
            (self.join, 3),
            (self.leave, 1),
            (self.adult, 1),
            (self.family_assessment, 2),
        ]
        for _ in range(n):
            change = self.rnd.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
            change(conn)
            self.made[change.__name__] = self.made.get(change.__name__, 0) + 1


async def test_counters_equal_a_full_recount_after_every_batch(db):
    changes = Changes(seed=17)
    for batch in range(BATCHES):
        await db.run(lambda conn: changes.apply(conn, CHANGES))
        counted, recounted = await db.run(
            lambda conn: (tallies.counters(conn), tallies.recount(conn))
        )
        for table in tallies.TABLES:
            wrong = sorted(counted[table] - recounted[table])[:5]
            missed = sorted(recounted[table] - counted[table])[:5]
            assert not wrong and not missed, f"batch {batch}, {table}: {wrong} for {missed}"
    assert all(n > 50 for n in changes.made.values()), changes.made
    people = await db.run(
        lambda conn: conn.execute(select(func.count()).select_from(Person)).scalar_one()
    )
    assert people > 300


async def test_rebuild_counts_again_what_the_triggers_missed(db):
    changes = Changes(seed=3)
    await db.run(lambda conn: changes.apply(conn, 300))
    before = await db.run(tallies.counters)
    await db.run(lambda conn: conn.execute(delete(TallyPeople)))  # a counter lost
    assert (await db.run(tallies.counters))["tally_people"] == set()
    await db.run(tallies.rebuild)
    assert await db.run(tallies.counters) == before


async def test_the_digest_from_the_counters_says_what_the_facts_say(db):
    """The numbers a commune, a province and the whole country get: counted one by one
    from the people and their self-assessments here, against the digest."""
    changes = Changes(seed=5)
    await db.run(lambda conn: changes.apply(conn, 1500))
    day = local_day(NOW)
    for area in (Area(), Area(1), Area(8, 1010)):
        digest = await db.read(lambda conn, a=area: reports.load_digest(conn, a, 2026, day))
        since, until = digest.period
        facts = await db.run(lambda conn, a=area, s=since, u=until: _facts(conn, a, s, u))
        assert digest.total().as_tuple() == facts


def _facts(conn: Connection, area: Area, since: Any, until: Any) -> tuple[int, ...]:
    """The digest's totals counted one person at a time."""
    start, end = local_midnight(since), local_midnight(until)
    totals = [0] * 7
    rows = conn.execute(
        select(
            Person.registered_at,
            Person.entered_at,
            Assessment.status,
            Assessment.title_reached,
            Assessment.recognised_at,
        )
        .outerjoin(
            Assessment,
            (Assessment.person_id == Person.id) & (Assessment.campaign_year == 2026),
        )
        .where(*in_area(area, Person.province_code, Person.commune_code))
    ).all()
    for registered, entered, status, reached, recognised in rows:
        submitted = status == "submitted"
        flags = (
            True,
            start <= registered < end,
            status == "in_progress",
            submitted,
            submitted and bool(reached),
            submitted and recognised is not None,
            entered is not None,
        )
        totals = [t + int(f) for t, f in zip(totals, flags, strict=True)]
    return tuple(totals)


async def test_cdht_stats_rebuild_counts_again_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'cdht.sqlite3'}"
    db = Database(url)
    try:
        await db.migrate()
        await db.run(lambda conn: Changes(seed=9).apply(conn, 200))
        before = await db.run(tallies.counters)
        await db.run(lambda conn: conn.execute(delete(TallyPeople)))
    finally:
        await db.dispose()
    env = {**os.environ, "DATABASE_URL": url, "CDHT_LANGUAGE": "vi"}
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "stats",
        "rebuild",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(command.communicate(), 120)
    assert command.returncode == 0, err.decode()
    assert out.decode().startswith("Đã đếm lại các bộ đếm từ dữ liệu gốc:")
    db = Database(url)
    try:
        assert await db.run(tallies.counters) == before
    finally:
        await db.dispose()


async def test_the_digest_summed_by_the_database_is_the_digest_summed_from_its_lines(db):
    """The morning digest and /thongke read sums (per commune, per group); the exports
    read the lines per commune and group: both say the same, people answering under
    another group than their own included."""
    changes = Changes(seed=11)
    await db.run(lambda conn: changes.apply(conn, 1500))
    target = {"adults": 40, "officials": 12}
    for place in (Area(*pc) for pc in COMMUNES[1:]):
        await db.run(lambda conn, a=place: admin.set_target(conn, a, target, NOW))
    day = local_day(NOW)
    for area in (Area(), Area(1), Area(8, 1010), Area(8, 99)):
        both = [
            await db.read(
                lambda conn, a=area, full=full: reports.load_digest(conn, a, 2026, day, lines=full)
            )
            for full in (True, False)
        ]
        lines, summed = both
        assert summed.lines == ()
        for view in ("total", "by_group", "by_commune", "by_province", "ranking"):
            assert getattr(summed, view)() == getattr(lines, view)(), (area, view)
        assert summed.target_progress() == lines.target_progress()
        assert summed._sums[3] == lines._sums[3]  # the officials of each commune


async def test_counters_stay_right_when_changes_run_side_by_side(db):
    """On PostgreSQL transactions run at once: a person moving while their self-assessment
    is recognised, a member joining a family while it moves. The triggers lock what they
    read by, so the counters still equal the recount (a transaction the database aborts
    as a deadlock changes nothing, like any other that fails)."""
    if not db.url.startswith("postgresql"):
        return  # SQLite writes one transaction at a time: the test above covers it
    await db.run(lambda conn: Changes(seed=1).apply(conn, 600))
    workers = [Changes(seed=100 + n) for n in range(6)]

    async def work(changes: Changes) -> int:
        failed = 0
        for _ in range(25):
            try:
                await db.run(lambda conn, c=changes: c.apply(conn, 8))
            except Exception:  # a deadlock or a unique code taken by another: rolled back
                failed += 1
        return failed

    failures = await asyncio.gather(*(work(c) for c in workers))
    assert sum(failures) < 6 * 25 // 2
    counted, recounted = await db.run(lambda conn: (tallies.counters(conn), tallies.recount(conn)))
    for table in tallies.TABLES:
        wrong = sorted(counted[table] - recounted[table])[:5]
        missed = sorted(recounted[table] - counted[table])[:5]
        assert not wrong and not missed, f"{table}: {wrong} for {missed}"
