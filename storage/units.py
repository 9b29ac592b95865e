"""Learning units (Đơn vị học tập): a unit per area and name, its focal points, and its
self-assessment of each year, which all its focal points share.

A focal point registers with a code of a commune or province and names the unit; the unit
row is found (or made) from the area and the name with accents, case and spacing aside, so
a second focal point who types "truong thcs kim lien" joins "Trường THCS Kim Liên". Each
answer keeps which focal point gave it. Plain functions of a Connection, run in a
transaction by storage.db.Database.run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from flows.admin.units import unit_decision_reply
from flows.digest import UnitTally
from flows.model import FOCAL_POINT, Reply, UnitAnswerView, UnitRow, UnitView, World
from flows.places import Area
from flows.scoring import ScoreResult, reached
from flows.text import fold
from flows.unit_assessment import unit_criteria
from storage import outbox
from storage.db import dialect_insert, in_area
from storage.models import ChannelAccount, Recipient, Unit, UnitAnswer, UnitAssessment
from storage.outbox import Claimed


def name_key(name: str) -> str:
    """A unit's name as compared: folded, one space between words."""
    return " ".join(fold(name).split())[:120]


def area_key(area: Area) -> str:
    return f"{area.province or 0}:{area.commune or 0}"


def _focal(conn: Connection, account_id: int) -> Any:
    return conn.execute(
        select(
            Recipient.id,
            Recipient.province_code,
            Recipient.commune_code,
            Recipient.unit_name,
            Recipient.unit_id,
            Recipient.person_name,
        ).where(Recipient.account_id == account_id, Recipient.role == FOCAL_POINT)
    ).first()


def link_unit(conn: Connection, account_id: int, now: datetime) -> int | None:
    """The unit of a focal point, found or made from their area and unit name, and
    recorded on their row; None if the account is not a focal point."""
    row = _focal(conn, account_id)
    if row is None or not row.unit_name:
        return None
    area = Area(row.province_code, row.commune_code)
    key = {"area_key": area_key(area), "name_key": name_key(row.unit_name)}
    stmt = dialect_insert(conn)(Unit).values(
        province_code=area.province,
        commune_code=area.commune,
        name=row.unit_name,
        created_at=now,
        **key,
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["area_key", "name_key"]))
    unit_id: int = conn.execute(
        select(Unit.id).where(Unit.area_key == key["area_key"], Unit.name_key == key["name_key"])
    ).scalar_one()
    if row.unit_id != unit_id:
        conn.execute(update(Recipient).where(Recipient.id == row.id).values(unit_id=unit_id))
    return unit_id


def _unit_id(conn: Connection, account_id: int, now: datetime) -> int:
    unit_id = link_unit(conn, account_id, now)
    if unit_id is None:
        raise LookupError("not the focal point of a unit")
    return unit_id


def set_name(conn: Connection, account_id: int, name: str) -> None:
    conn.execute(
        update(Recipient)
        .where(Recipient.account_id == account_id, Recipient.role == FOCAL_POINT)
        .values(person_name=name)
    )


def unit_view(conn: Connection, account_id: int, year: int) -> UnitView | None:
    """A focal point's unit and its self-assessment of `year`, with who gave each answer
    (read in the step's transaction: a second focal point's answers are current)."""
    row = _focal(conn, account_id)
    if row is None or not row.unit_name:
        return None
    area = Area(row.province_code, row.commune_code)
    unit_id = row.unit_id
    if unit_id is None:  # registered before units had rows: made at the first answer
        unit_id = conn.execute(
            select(Unit.id).where(
                Unit.area_key == area_key(area), Unit.name_key == name_key(row.unit_name)
            )
        ).scalar_one_or_none()
    name = row.unit_name
    if unit_id is not None:
        name = conn.execute(select(Unit.name).where(Unit.id == unit_id)).scalar_one()
    a = None
    if unit_id is not None:
        # Locked for the step: a colleague's answer or submission waits for this step
        # to commit, so a submission scores the answers it read (PostgreSQL; SQLite
        # runs one writing transaction at a time anyway).
        a = conn.execute(
            select(UnitAssessment)
            .where(UnitAssessment.unit_id == unit_id, UnitAssessment.year == year)
            .with_for_update()
        ).first()
    base = UnitView(name, area, year, unit_criteria(area), me=row.person_name)
    if a is None:
        return base
    answers = {
        r.indicator: UnitAnswerView(r.option_index, r.answered_name, r.answered_by == account_id)
        for r in conn.execute(
            select(
                UnitAnswer.indicator,
                UnitAnswer.option_index,
                UnitAnswer.answered_name,
                UnitAnswer.answered_by,
            ).where(UnitAnswer.assessment_id == a.id)
        )
    }
    return UnitView(
        name,
        area,
        year,
        a.criteria,
        me=row.person_name,
        status=a.status,
        answers=answers,
        submitted_at=a.submitted_at,
        submitted_by=a.submitted_by,
        recognised_at=a.recognised_at,
        returned_at=a.returned_at,
        return_reason=a.return_reason,
    )


def start(
    conn: Connection, account_id: int, year: int, now: datetime, criteria: str | None = None
) -> int:
    """The unit's assessment of `year`, begun now unless a focal point began it (with
    `criteria`, else the set of the unit's level)."""
    unit_id = _unit_id(conn, account_id, now)
    if criteria is None:
        focal = _focal(conn, account_id)
        criteria = unit_criteria(Area(focal.province_code, focal.commune_code))
    stmt = dialect_insert(conn)(UnitAssessment).values(
        unit_id=unit_id, year=year, criteria=criteria, status="in_progress", started_at=now
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["unit_id", "year"]))
    found: int = conn.execute(
        select(UnitAssessment.id).where(
            UnitAssessment.unit_id == unit_id, UnitAssessment.year == year
        )
    ).scalar_one()
    return found


def save_answer(
    conn: Connection,
    account_id: int,
    year: int,
    indicator: str,
    option: int,
    points: int,
    now: datetime,
) -> None:
    """One answer, by this focal point; not once the assessment is submitted (another
    focal point may have submitted it meanwhile)."""
    assessment = start(conn, account_id, year, now)
    status = conn.execute(
        select(UnitAssessment.status).where(UnitAssessment.id == assessment)
    ).scalar_one()
    if status != "in_progress":
        return
    focal = _focal(conn, account_id)
    values = {
        "option_index": option,
        "points": points,
        "answered_at": now,
        "answered_by": account_id,
        "answered_name": focal.person_name if focal is not None else None,
    }
    stmt = dialect_insert(conn)(UnitAnswer).values(
        assessment_id=assessment, indicator=indicator, **values
    )
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["assessment_id", "indicator"], set_=values)
    )


def submit(
    conn: Connection, account_id: int, year: int, result: ScoreResult, now: datetime
) -> None:
    unit_id = _unit_id(conn, account_id, now)
    focal = _focal(conn, account_id)
    conn.execute(
        update(UnitAssessment)
        .where(
            UnitAssessment.unit_id == unit_id,
            UnitAssessment.year == year,
            UnitAssessment.status == "in_progress",
        )
        .values(
            status="submitted",
            submitted_at=now,
            submitted_by=focal.person_name if focal is not None else None,
            total=result.total,
            reached=reached(result),
            band=result.band.code if result.band else None,
            result={"indicators": {s.code: s.points for s in result.indicators}},
            returned_at=None,
            return_reason=None,
            decision_pending=None,  # a return not told yet is overtaken by this
        )
    )


def forget(conn: Connection, accounts: list[int]) -> None:
    """/delete: the name a focal point gave goes from the answers they gave and from the
    self-assessment they submitted (the unit's answers and points stay: they are the
    unit's)."""
    focal = conn.execute(
        select(Recipient.unit_id, Recipient.person_name).where(
            Recipient.account_id.in_(accounts),
            Recipient.role == FOCAL_POINT,
            Recipient.person_name.is_not(None),
        )
    ).all()
    conn.execute(
        update(UnitAnswer)
        .where(UnitAnswer.answered_by.in_(accounts))
        .values(answered_name=None, answered_by=None)  # (SQLite reuses an account's id)
    )
    for unit_id, name in focal:
        conn.execute(
            update(UnitAssessment)
            .where(UnitAssessment.unit_id == unit_id, UnitAssessment.submitted_by == name)
            .values(submitted_by=None)
        )


# --- admins ----------------------------------------------------------------------------


def units_in(conn: Connection, area: Area, year: int) -> list[UnitRow]:
    """Every unit of `area` (a province's own units and those of its communes) with a
    focal point or a submitted self-assessment of `year` (a unit whose focal points all
    left half-way is not counted), and where that stands, by area and name."""
    answered = (
        select(UnitAnswer.assessment_id, func.count().label("n"))
        .group_by(UnitAnswer.assessment_id)
        .subquery()
    )
    a = UnitAssessment
    rows = conn.execute(
        select(
            Unit.id,
            Unit.name,
            Unit.province_code,
            Unit.commune_code,
            a.id.label("assessment_id"),
            a.criteria,
            a.status,
            a.total,
            a.band,
            a.reached,
            a.result,
            a.submitted_at,
            a.submitted_by,
            a.recognised_at,
            a.returned_at,
            a.return_reason,
            answered.c.n,
        )
        .outerjoin(a, and_(a.unit_id == Unit.id, a.year == year))
        .outerjoin(answered, answered.c.assessment_id == a.id)
        .where(
            *in_area(area, Unit.province_code, Unit.commune_code),
            or_(Unit.id.in_(_with_focal_point()), a.status == "submitted"),
        )
        .order_by(Unit.province_code, Unit.commune_code, Unit.name_key)
    ).all()
    out = []
    for r in rows:
        unit_area = Area(r.province_code, r.commune_code)
        out.append(
            UnitRow(
                unit_id=r.id,
                name=r.name,
                area=unit_area,
                criteria=r.criteria or unit_criteria(unit_area),
                assessment_id=r.assessment_id,
                status=r.status,
                answered=int(r.n or 0),
                total=r.total,
                band=r.band,
                reached=r.reached,
                points={
                    str(k): int(v) for k, v in ((r.result or {}).get("indicators") or {}).items()
                },
                submitted_at=r.submitted_at,
                submitted_by=r.submitted_by,
                recognised_at=r.recognised_at,
                returned_at=r.returned_at,
                return_reason=r.return_reason,
            )
        )
    return out


def tally(conn: Connection, area: Area, year: int) -> UnitTally:
    """How many units of `area` have a focal point, and where their self-assessments of
    `year` stand (units are few: counted from their rows)."""
    a = UnitAssessment
    row = conn.execute(
        select(
            func.count(Unit.id).label("registered"),
            func.count(a.id).filter(a.status == "in_progress").label("in_progress"),
            func.count(a.id).filter(a.status == "submitted").label("submitted"),
            func.count(a.id).filter(a.status == "submitted", a.reached.is_(True)).label("reached"),
            func.count(a.id).filter(a.recognised_at.is_not(None)).label("recognised"),
        )
        .select_from(Unit)
        .outerjoin(a, and_(a.unit_id == Unit.id, a.year == year))
        .where(
            *in_area(area, Unit.province_code, Unit.commune_code),
            or_(Unit.id.in_(_with_focal_point()), a.status == "submitted"),
        )
    ).one()
    return UnitTally(
        year, row.registered, row.in_progress, row.submitted, row.reached, row.recognised
    )


def _with_focal_point() -> Any:
    return select(Recipient.unit_id).where(
        Recipient.role == FOCAL_POINT, Recipient.unit_id.is_not(None)
    )


class UnitRefused(Exception):
    """A decision on a unit outside the admin's scope."""


def decide(
    conn: Connection,
    assessment_id: int,
    submitted_at: datetime | None,
    scope: Area,
    by: int,
    now: datetime,
    reason: str | None = None,
) -> bool:
    """Recognise a unit's self-assessment as submitted at `submitted_at` (the version the
    admin saw) with reason None, or return it with a reason (in progress again, answers
    kept); its focal points are told. False, with nothing changed, if it is no longer
    that version waiting for a decision (another admin decided, or it was returned and
    submitted anew meanwhile)."""
    row = conn.execute(
        select(Unit.province_code, Unit.commune_code, UnitAssessment.status)
        .join(Unit, Unit.id == UnitAssessment.unit_id)
        .where(
            UnitAssessment.id == assessment_id,
            UnitAssessment.recognised_at.is_(None),
            UnitAssessment.submitted_at == submitted_at,
        )
        .with_for_update(of=UnitAssessment)
    ).first()
    if row is None or row.status != "submitted":
        return False
    if not scope.contains(Area(row.province_code, row.commune_code)):
        raise UnitRefused("outside the admin's scope")
    if reason is None:
        values: dict[str, Any] = {"recognised_at": now, "recognised_by": by}
    else:
        values = {
            "status": "in_progress",
            "submitted_at": None,
            "total": None,
            "reached": None,
            "band": None,
            "result": None,
            "submitted_by": None,
            "returned_at": now,
            "return_reason": reason,
        }
    conn.execute(
        update(UnitAssessment)
        .where(UnitAssessment.id == assessment_id)
        .values(decision_pending=True, **values)
    )
    return True


def claim_decisions(
    conn: Connection, now: datetime, limit: int, world: World
) -> tuple[list[tuple[str, Claimed]], int]:
    """Put the next `limit` decisions on units not told yet in the outbox, for every
    reachable focal point of the unit, and mark them told: each once."""
    a = UnitAssessment
    pending = (
        select(a.id).where(a.decision_pending.is_not(None)).order_by(a.id).limit(limit)
    ).scalar_subquery()
    rows = conn.execute(
        select(
            a.id,
            a.year,
            a.recognised_at,
            a.returned_at,
            a.return_reason,
            Unit.name,
            Unit.province_code,
            Unit.commune_code,
            Recipient.language,
            ChannelAccount.id.label("account_id"),
            ChannelAccount.external_id,
            ChannelAccount.channel,
            ChannelAccount.unreachable,
        )
        .join(Unit, Unit.id == a.unit_id)
        .outerjoin(Recipient, and_(Recipient.unit_id == Unit.id, Recipient.role == FOCAL_POINT))
        .outerjoin(ChannelAccount, ChannelAccount.id == Recipient.account_id)
        .where(a.id.in_(pending))
        .order_by(a.id)
    ).all()
    if not rows:
        return [], 0

    def reply_of(row: Any, recognised: bool, at: datetime) -> Reply:
        t = world.langs.get(row.language) or world.langs[world.default_lang]
        by = Area(row.province_code, row.commune_code).name(world.places, t)
        return unit_decision_reply(row.name, row.year, recognised, at, row.return_reason, t, by)

    claimed = outbox.record_decisions(conn, now, rows, reply_of, "unit-decision")
    told = sorted({row.id for row in rows})
    conn.execute(update(a).where(a.id.in_(told)).values(decision_pending=None))
    return claimed, len(told)
