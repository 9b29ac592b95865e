"""Learning families (Gia đình học tập): the household head's family, its members and its
self-assessment of each campaign year; counts for the digest and rows for the export.

A person belongs to one family at most (its head included). Members are people, not chat
accounts: a citizen on two channels is one member. Everything goes with the people
(ON DELETE CASCADE): /delete by the head ends the family, by a member their membership.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from flows.criteria import FAMILY_SET
from flows.digest import FamilyLine, FamilyTally
from flows.family import ADULT_AGE, MAX_MEMBERS
from flows.model import FamilyFound, FamilyMember, FamilyView
from flows.places import Area
from flows.scoring import ScoreResult
from storage import tallies
from storage.db import dialect_insert
from storage.models import Assessment, ChannelAccount, Family, FamilyAssessment, Person
from storage.models import FamilyMember as Member
from storage.scores import result_json


def _standing(a: Any) -> str | None:
    """Where a member's Learning Citizen self-assessment stands (see FamilyMember)."""
    if a.status is None:
        return None
    if a.recognised_at is not None:
        return "recognised"
    if a.status == "submitted":
        return "reached" if a.title_reached else "submitted"
    return "in_progress"


def _titled() -> Any:
    """The condition on Assessment for a member who holds or reached the title."""
    return or_(
        Assessment.recognised_at.is_not(None),
        and_(Assessment.status == "submitted", Assessment.title_reached.is_(True)),
    )


def family_view(conn: Connection, account_id: int, year: int) -> FamilyView | None:
    """The family of the person of a chat account, its members and its self-assessment
    of `year`."""
    person_id = conn.execute(
        select(ChannelAccount.person_id).where(ChannelAccount.id == account_id)
    ).scalar()
    if person_id is None:
        return None
    family = conn.execute(
        select(Family)
        .join(Member, Member.family_id == Family.id)
        .where(Member.person_id == person_id)
    ).first()
    if family is None:
        return None
    rows = conn.execute(
        select(
            Person.id,
            Person.full_name,
            Member.adult,
            Assessment.status,
            Assessment.title_reached,
            Assessment.recognised_at,
        )
        .select_from(Member)
        .join(Person, Person.id == Member.person_id)
        .outerjoin(
            Assessment,
            and_(Assessment.person_id == Person.id, Assessment.campaign_year == year),
        )
        .where(Member.family_id == family.id)
        .order_by(Member.joined_at, Person.id)
    ).all()
    members = tuple(
        FamilyMember(
            r.full_name,
            r.id == family.head_id,
            r.id == person_id,
            _standing(r),
            r.id,
            r.adult,
        )
        for r in rows
    )
    members = tuple(sorted(members, key=lambda m: not m.head))  # the head first
    area = Area(family.province_code, family.commune_code)
    a = conn.execute(
        select(FamilyAssessment).where(
            FamilyAssessment.family_id == family.id, FamilyAssessment.year == year
        )
    ).first()
    if a is None:
        return FamilyView(family.id, family.code, area, family.adults, members, year, FAMILY_SET)
    return FamilyView(
        family.id,
        family.code,
        area,
        family.adults,
        members,
        year,
        a.criteria,
        status=a.status,
        answers={str(k): int(v) for k, v in (a.answers or {}).items()},
        submitted_at=a.submitted_at,
        total=a.total,
        reached=a.reached,
        titled_then=a.titled,
    )


def find(conn: Connection, code: str) -> FamilyFound | None:
    """The family a code names, with its head's name and how many joined it."""
    row = conn.execute(
        select(Family.id, Family.province_code, Family.commune_code, Person.full_name)
        .join(Person, Person.id == Family.head_id)
        .where(Family.code == code)
    ).first()
    if row is None:
        return None
    count = conn.execute(
        select(func.count()).select_from(Member).where(Member.family_id == row.id)
    ).scalar_one()
    return FamilyFound(row.id, row.full_name, Area(row.province_code, row.commune_code), count)


def set_family(conn: Connection, person_id: int, adults: int, code: str, now: datetime) -> None:
    """The head's family: made (in the head's commune, the head its first member) or its
    number of adults changed. Someone who belonged to another family leaves it."""
    existing = conn.execute(select(Family.id).where(Family.head_id == person_id)).first()
    if existing is not None:
        conn.execute(update(Family).where(Family.id == existing.id).values(adults=adults))
        return
    place = conn.execute(
        select(Person.province_code, Person.commune_code).where(Person.id == person_id)
    ).one()
    family_id = conn.execute(
        insert(Family)
        .values(
            head_id=person_id,
            province_code=place.province_code,
            commune_code=place.commune_code,
            code=code,
            adults=adults,
            created_at=now,
        )
        .returning(Family.id)
    ).scalar_one()
    _leave_membership(conn, person_id, now)
    conn.execute(insert(Member).values(person_id=person_id, family_id=family_id, joined_at=now))
    _recount(conn, family_id, now)


def join(conn: Connection, person_id: int, family_id: int, now: datetime) -> bool:
    """`person_id` joins the family, leaving the one they were in; a head whose family
    nobody else joined ends it. False when it cannot be: the family is gone or full, or
    they head a family others joined (the flow says so before; this is the race)."""
    exists = conn.execute(select(Family.id).where(Family.id == family_id).with_for_update()).first()
    heads = conn.execute(select(Family.id).where(Family.head_id == person_id)).scalar()
    if exists is None or heads == family_id:
        return False
    if heads is not None:
        others = conn.execute(
            select(func.count())
            .select_from(Member)
            .where(Member.family_id == heads, Member.person_id != person_id)
        ).scalar_one()
        if others:
            return False
        conn.execute(delete(Family).where(Family.id == heads))
    count = conn.execute(
        select(func.count()).select_from(Member).where(Member.family_id == family_id)
    ).scalar_one()
    if count >= MAX_MEMBERS:
        return False
    _leave_membership(conn, person_id, now)
    conn.execute(insert(Member).values(person_id=person_id, family_id=family_id, joined_at=now))
    _recount(conn, family_id, now)
    return True


def _recount(conn: Connection, family_id: int, now: datetime) -> None:
    """Mark a family's members who are adults this year, and count them, after any change
    of its members: the digest reads the count from the family's row and the titled from
    the marks, never the people table."""
    born = select(Person.birth_year).where(Person.id == Member.person_id).scalar_subquery()
    conn.execute(
        update(Member)
        .where(Member.family_id == family_id)
        .values(adult=born <= now.year - ADULT_AGE)
    )
    adults = (
        select(func.count())
        .select_from(Member)
        .where(Member.family_id == family_id, Member.adult.is_(True))
        .scalar_subquery()
    )
    conn.execute(update(Family).where(Family.id == family_id).values(adult_members=adults))


def _leave_membership(conn: Connection, person_id: int, now: datetime) -> None:
    """Take a person off the family they are a member of (its count follows)."""
    family_id = conn.execute(
        delete(Member).where(Member.person_id == person_id).returning(Member.family_id)
    ).scalar()
    if family_id is not None:
        _recount(conn, family_id, now)


def remove_member(conn: Connection, head_id: int, member_id: int, now: datetime) -> None:
    """The head takes a member off their family (never themself)."""
    family_id = conn.execute(select(Family.id).where(Family.head_id == head_id)).scalar()
    if family_id is None or member_id == head_id:
        return
    conn.execute(delete(Member).where(Member.family_id == family_id, Member.person_id == member_id))
    _recount(conn, family_id, now)


def new_code(conn: Connection, head_id: int, code: str) -> None:
    """The head's family gets a new code; the old one joins no one any more."""
    conn.execute(update(Family).where(Family.head_id == head_id).values(code=code))


def move_with_head(conn: Connection, head_id: int, province: int, commune: int) -> None:
    """The head moved (changed their commune): the family is counted where they live."""
    conn.execute(
        update(Family)
        .where(Family.head_id == head_id)
        .values(province_code=province, commune_code=commune)
    )


def leave(conn: Connection, person_id: int, now: datetime) -> None:
    """A member leaves; the head leaving ends the family (its members and its
    self-assessments go with it). Also before a person is deleted (/delete): the family's
    count of adult members must not keep them."""
    conn.execute(delete(Family).where(Family.head_id == person_id))
    _leave_membership(conn, person_id, now)


def _assessment_of(conn: Connection, person_id: int, year: int) -> Any:
    """The head's family's assessment of `year`, locked for the step."""
    return conn.execute(
        select(FamilyAssessment.id, FamilyAssessment.status, FamilyAssessment.answers)
        .join(Family, Family.id == FamilyAssessment.family_id)
        .where(Family.head_id == person_id, FamilyAssessment.year == year)
        .with_for_update()
    ).first()


def save_answer(
    conn: Connection,
    person_id: int,
    year: int,
    criteria: str,
    indicator: str,
    option: int,
    now: datetime,
) -> None:
    """The head's answer to one question of the family's self-assessment of `year` (begun
    by the first answer). A submitted one is not changed."""
    family_id = conn.execute(select(Family.id).where(Family.head_id == person_id)).scalar()
    if family_id is None:
        return
    # Begun by the first answer; a second account of the head answering at the same
    # moment finds the row made instead of failing on the unique (family, year).
    conn.execute(
        dialect_insert(conn)(FamilyAssessment)
        .values(
            family_id=family_id,
            year=year,
            criteria=criteria,
            status="in_progress",
            answers={},
            started_at=now,
        )
        .on_conflict_do_nothing(index_elements=["family_id", "year"])
    )
    a = _assessment_of(conn, person_id, year)
    if a is not None and a.status == "in_progress":
        answers: Mapping[str, int] = a.answers or {}
        conn.execute(
            update(FamilyAssessment)
            .where(FamilyAssessment.id == a.id)
            .values(answers={**answers, indicator: option})
        )


def submit(
    conn: Connection,
    person_id: int,
    year: int,
    result: ScoreResult,
    answers: Mapping[str, int],
    titled: int,
    now: datetime,
) -> None:
    """The family's self-assessment of `year`, scored: submitted, or its result brought
    up to date with the members' results (`answers` with the counted indicators as
    scored: what "see the result" shows later)."""
    a = _assessment_of(conn, person_id, year)
    if a is None:
        return
    conn.execute(
        update(FamilyAssessment)
        .where(FamilyAssessment.id == a.id)
        .values(
            status="submitted",
            answers=dict(answers),
            submitted_at=now,
            total=result.total,
            reached=result.title,
            titled=titled,
            result=result_json(result),
        )
    )


def tally(conn: Connection, area: Area, year: int) -> FamilyTally:
    """The families of `area`, commune by commune, and their self-assessments of `year`;
    the adults in them and the adult members who hold or reached the title. Read from the
    counters (storage.tallies); measured in bench/admin.py."""
    return FamilyTally(year, tuple(map(FamilyLine._make, tallies.families(conn, area, year))))
